/**
 * SentencePiece session as llama.cpp's `llm_tokenizer_spm_session`: split one escaped fragment into
 * UTF-8 characters, then greedily merge the adjacent pair whose concatenation is the vocab token with
 * the highest score (ties: leftmost), until no pair is a token; leftover symbols that are not tokens
 * become <0xXX> byte tokens. This is SentencePiece *BPE* encoding (Gemma's scores are negative merge
 * ranks), not a Viterbi/unigram search. ref: llama.cpp src/llama-vocab.cpp llm_tokenizer_spm_session;
 * docs/tokenizers/spm.md. SpmTokenizer adds llama_vocab::impl::tokenize's SPM case around it.
 *
 * Deliberate differences, none observable:
 * - No `rev_merge` map. resegment() only consults it for a symbol whose text is not a token, but every
 *   key it holds is a token text (a bigram is recorded only when its concatenation is a token), so that
 *   lookup can never succeed and the byte fallback is always what runs.
 * - Bigrams longer than the longest token are not looked up (they cannot be tokens).
 * - Queue entries equal in both score and left index may pop in either order, here as in
 *   std::priority_queue; at most one of them is live (it must match the left symbol's current
 *   neighbour and size), the others are skipped as stale, so the order cannot matter.
 * - Symbols, the heap and its entries live in reused typed arrays; no per-symbol objects.
 * - The fragment is escaped into a reused byte buffer, and byte ranges are looked up in a hash table
 *   over the token bytes (TokenIndex, token-index.ts) instead of Map<string, id>: no substring is
 *   allocated per bigram. It holds the same texts as Vocabulary.tokenToId, so it answers identically;
 *   the merge loop is several times faster this way.
 * Complexity is O(n log n) in the fragment's byte length: at most n - 1 merges, each pushing <= 2 bigrams.
 */
import { UTF8_LEN } from "./unicode.js";
import type { Fragment } from "./partition.js";
import { TokenIndex } from "./token-index.js";
import { LlamaTokenizer } from "./tokenizer.js";
import type { Vocabulary } from "./vocab.js";

const indexes = new WeakMap<Vocabulary, TokenIndex>();

/** Tokens with "▁" after their first byte: their bytes back to back, and the offsets of those "▁"s. */
interface InteriorSpaceTokens {
  bytes: Uint8Array;
  starts: Int32Array;
  offsets: number[][];
}
const interiors = new WeakMap<Vocabulary, InteriorSpaceTokens | undefined>();
const ESCAPED_SPACE = "\u00e2\u0096\u0081";

/** The tokens that can span a word start; undefined (no word splitting) if there are more than 64. */
function interiorSpaceTokens(vocab: Vocabulary): InteriorSpaceTokens | undefined {
  const found: [string, number[]][] = [];
  for (const t of vocab.tokenBytes) {
    const offsets: number[] = [];
    for (let k = t.indexOf(ESCAPED_SPACE, 1); k > 0; k = t.indexOf(ESCAPED_SPACE, k + 1)) offsets.push(k);
    if (offsets.length && found.push([t, offsets]) > 64) return undefined;
  }
  const starts = new Int32Array(found.length + 1);
  found.forEach(([t], i) => (starts[i + 1] = starts[i] + t.length));
  const bytes = new Uint8Array(starts[found.length]);
  found.forEach(([t], i) => {
    for (let j = 0; j < t.length; j++) bytes[starts[i] + j] = t.charCodeAt(j);
  });
  return { bytes, starts, offsets: found.map((f) => f[1]) };
}

export class SpmSession {
  private text = new Uint8Array(0); // the escaped fragment
  // Symbols: [start, start + len) in the fragment; len 0 = merged away. prev/next link the survivors.
  private symStart = new Int32Array(0);
  private symLen = new Int32Array(0);
  private symPrev = new Int32Array(0);
  private symNext = new Int32Array(0);
  // Max-heap of bigrams (llm_bigram_spm): higher score first, then smaller left index.
  private hLeft = new Int32Array(0);
  private hRight = new Int32Array(0);
  private hSize = new Int32Array(0);
  private hScore = new Float64Array(0);
  private hCount = 0;
  private readonly index: TokenIndex;
  private readonly maxTokenBytes: number;
  private readonly scores: Float32Array;
  private readonly interior: InteriorSpaceTokens | undefined;

  constructor(private readonly vocab: Vocabulary) {
    let index = indexes.get(vocab);
    if (!index) indexes.set(vocab, (index = new TokenIndex(vocab.tokenBytes)));
    this.index = index;
    this.maxTokenBytes = vocab.maxTokenBytes;
    this.scores = vocab.scores;
    if (!interiors.has(vocab)) interiors.set(vocab, interiorSpaceTokens(vocab));
    this.interior = interiors.get(vocab)!;
  }

  /**
   * Tokenize the raw fragment s[start, end) of byte string `s` and append the ids to `out`. As in
   * llama.cpp's tokenize(): an optional leading space, then every U+0020 becomes "▁" (E2 96 81,
   * llama_escape_whitespace); nothing else is normalized.
   *
   * Words. A merge result is always a token, so a symbol can span the start of a "▁" symbol only as
   * a token with "▁" after its first byte, lying over the text right there. Where no such token
   * lies over the text (Gemma has one, ">▁</"), the fragment splits before the "▁" into parts whose
   * merges are independent: the ids are the same, part by part, as for the whole (tested against
   * `whole: true`, the plain path). That lets encode stop early (maxTokens) and keeps heaps small.
   */
  tokenize(s: string, start: number, end: number, spacePrefix: boolean, out: number[], maxTokens = Infinity, whole = false): void {
    let n = spacePrefix ? 3 : 0;
    for (let i = start; i < end; i++) n += s.charCodeAt(i) === 0x20 ? 3 : 1;
    if (n === 0) return;
    this.reserve(n);
    const text = this.text;
    let k = 0;
    if (spacePrefix) (text[k++] = 0xe2), (text[k++] = 0x96), (text[k++] = 0x81);
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x20) (text[k++] = 0xe2), (text[k++] = 0x96), (text[k++] = 0x81);
      else text[k++] = c;
    }
    if (whole || !this.interior) return this.run(0, n, out);
    let part = 0;
    // walk the symbols as run() will split them, from the start (invalid UTF-8 can swallow a "▁")
    for (let offs = 0; offs < n; ) {
      const isSpace = text[offs] === 0xe2 && offs + 2 < n && text[offs + 1] === 0x96 && text[offs + 2] === 0x81;
      if (offs > part && isSpace && this.canSplitAt(offs, n)) {
        this.run(part, offs, out);
        part = offs;
        if (out.length > maxTokens) return;
      }
      offs += UTF8_LEN[text[offs] >> 4];
    }
    this.run(part, n, out);
  }

  /** No token with an interior "▁" lies over text[0, n) with that "▁" at `at`. */
  private canSplitAt(at: number, n: number): boolean {
    const { bytes, starts, offsets } = this.interior!;
    const text = this.text;
    for (let t = 0; t + 1 < starts.length; t++) {
      const len = starts[t + 1] - starts[t];
      for (const k of offsets[t]) {
        const from = at - k;
        if (from < 0 || from + len > n) continue;
        let i = 0;
        while (i < len && text[from + i] === bytes[starts[t] + i]) i++;
        if (i === len) return false;
      }
    }
    return true;
  }

  /** The SPM session on text[from, to). */
  private run(from: number, to: number, out: number[]): void {
    const { text, symStart, symLen, symPrev, symNext } = this;
    // Split into UTF-8 characters; a truncated sequence at the end keeps the bytes that remain.
    let nSym = 0;
    for (let offs = from; offs < to; nSym++) {
      const len = Math.min(UTF8_LEN[text[offs] >> 4], to - offs);
      symStart[nSym] = offs;
      symLen[nSym] = len;
      symPrev[nSym] = nSym - 1;
      offs += len;
      symNext[nSym] = offs === to ? -1 : nSym + 1;
    }
    this.hCount = 0;
    for (let i = 1; i < nSym; i++) this.tryAddBigram(i - 1, i);

    while (this.hCount > 0) {
      const left = this.hLeft[0];
      const right = this.hRight[0];
      const size = this.hSize[0];
      this.pop();
      // Stale entry: one side was merged away or has grown since the pair was queued.
      if (symLen[left] === 0 || symLen[right] === 0 || symLen[left] + symLen[right] !== size) continue;
      symLen[left] += symLen[right];
      symLen[right] = 0;
      const next = symNext[right];
      symNext[left] = next;
      if (next >= 0) symPrev[next] = left;
      this.tryAddBigram(symPrev[left], left);
      this.tryAddBigram(left, next);
    }

    // resegment(): a surviving symbol is a token, or falls back to one byte token per byte.
    for (let i = 0; i !== -1; i = symNext[i]) {
      const start = symStart[i];
      const len = symLen[i];
      const id = len <= this.maxTokenBytes ? this.index.get(text, start, len) : -1;
      if (id >= 0) {
        out.push(id);
        continue;
      }
      for (let k = start; k < start + len; k++) out.push(this.vocab.byteToToken(text[k]));
    }
  }

  private tryAddBigram(left: number, right: number): void {
    if (left < 0 || right < 0) return;
    const size = this.symLen[left] + this.symLen[right];
    if (size > this.maxTokenBytes) return;
    // Symbols are contiguous (right starts where left ends), so the bigram is one byte range.
    const id = this.index.get(this.text, this.symStart[left], size);
    if (id < 0) return;
    this.push(left, right, this.scores[id], size);
  }

  /** a before b in pop order (llm_bigram_spm::comparator, inverted). */
  private above(a: number, b: number): boolean {
    const sa = this.hScore[a];
    const sb = this.hScore[b];
    return sa > sb || (sa === sb && this.hLeft[a] < this.hLeft[b]);
  }

  private swap(a: number, b: number): void {
    const { hLeft, hRight, hSize, hScore } = this;
    let t = hLeft[a];
    hLeft[a] = hLeft[b];
    hLeft[b] = t;
    t = hRight[a];
    hRight[a] = hRight[b];
    hRight[b] = t;
    t = hSize[a];
    hSize[a] = hSize[b];
    hSize[b] = t;
    const s = hScore[a];
    hScore[a] = hScore[b];
    hScore[b] = s;
  }

  private push(left: number, right: number, score: number, size: number): void {
    if (this.hCount === this.hLeft.length) this.growHeap(this.hCount * 2 + 16);
    let i = this.hCount++;
    this.hLeft[i] = left;
    this.hRight[i] = right;
    this.hSize[i] = size;
    this.hScore[i] = score;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private pop(): void {
    const last = --this.hCount;
    if (last === 0) return;
    this.swap(0, last);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const best = r < last && this.above(r, l) ? r : l;
      if (!this.above(best, i)) break;
      this.swap(i, best);
      i = best;
    }
  }

  private reserve(n: number): void {
    if (this.symStart.length >= n) return;
    const cap = Math.max(n, this.symStart.length * 2);
    this.text = new Uint8Array(cap);
    this.symStart = new Int32Array(cap);
    this.symLen = new Int32Array(cap);
    this.symPrev = new Int32Array(cap);
    this.symNext = new Int32Array(cap);
  }

  private growHeap(cap: number): void {
    const grow = <T extends Int32Array | Float64Array>(a: T, b: T): T => (b.set(a), b);
    this.hLeft = grow(this.hLeft, new Int32Array(cap));
    this.hRight = grow(this.hRight, new Int32Array(cap));
    this.hSize = grow(this.hSize, new Int32Array(cap));
    this.hScore = grow(this.hScore, new Float64Array(cap));
  }
}

/** The SPM tokenizer ("llama" vocab). ref: llama_vocab::impl::tokenize, LLAMA_VOCAB_TYPE_SPM. */
export class SpmTokenizer extends LlamaTokenizer {
  private readonly session: SpmSession;
  readonly specialPrefix: readonly number[];
  readonly specialSuffix: readonly number[];

  constructor(vocab: Vocabulary) {
    super(vocab);
    this.session = new SpmSession(vocab);
    this.specialPrefix = vocab.addBos ? [vocab.special.bos] : [];
    this.specialSuffix = vocab.addEos ? [vocab.special.eos] : [];
  }

  protected encodeFragments(s: string, frags: Fragment[], maxTokens: number, out: number[]): void {
    const { vocab } = this;
    let prevSpecial = true;
    for (const f of frags) {
      if (out.length > maxTokens) return;
      if (f.id >= 0) {
        out.push(f.id);
        prevSpecial = true;
        continue;
      }
      // add_space_prefix never applies to Gemma (the converter writes false)
      this.session.tokenize(s, f.start, f.end, vocab.addSpacePrefix && prevSpecial, out, maxTokens);
      prevSpecial = false;
    }
  }
}
