/**
 * Byte-level BPE as llama.cpp runs it for `tokenizer.ggml.model = "gpt2"` (Qwen2/Qwen3, Llama 3,
 * GPT-2, RoBERTa-style vocabularies). ref: llama.cpp src/llama-vocab.cpp llm_tokenizer_bpe,
 * llm_tokenizer_bpe_session::tokenize / add_new_bigram, llm_bigram_bpe::comparator, llama_decode_text,
 * token_to_piece (BPE case); src/unicode.cpp unicode_regex_split, unicode_byte_encoding_process,
 * unicode_byte_to_utf8_map; docs/tokenizers/bpe.md.
 *
 * Per raw fragment of the special-token partition:
 *  1. decode UTF-8 as llama.cpp does (invalid bytes -> U+FFFD) and split into words with the
 *     pre-tokenizer of `tokenizer.ggml.pre` (bpe-pre.ts);
 *  2. re-encode each word to UTF-8 and map every byte to its GPT-2 `bytes_to_unicode` character, so a
 *     word of k bytes is a JS string of k characters (all below U+0144, one UTF-16 unit each);
 *  3. if ignore_merges and the whole word is a token, emit it; otherwise start from one symbol per
 *     character and repeatedly merge the adjacent pair with the lowest merge rank, the leftmost first
 *     (llama.cpp's priority queue: rank, then left index; stale entries are skipped);
 *  4. emit each final symbol's token; a symbol that is no token (a merge produced a text the vocab
 *     lacks) falls back to one token per UTF-8 byte of its text, and bytes without a one-byte token
 *     are dropped, as llama.cpp does.
 * Differences from llama.cpp that do not change the result: words are tokenized as they are split
 * (llama.cpp splits the whole fragment first), symbols are ranges of the word (their index is their
 * start), staleness is checked by lengths instead of by comparing texts, initial single-character
 * pairs are looked up in a dense table, and a pair longer than the longest merge is not looked up.
 * Complexity: O(k log k) heap operations per word of k bytes, each with one Map lookup of a key
 * no longer than the longest merge.
 */
import { EmbedError } from "../errors.js";
import { getStringArray, type GGUFMetadata } from "../gguf/keys.js";
import { bpePreSplit } from "./bpe-pre.js";
import type { Fragment } from "./partition.js";
import { LlamaTokenizer } from "./tokenizer.js";
import { unicode_cpt_to_utf8, unicode_cpts_from_utf8 } from "./unicode.js";
import type { Vocabulary } from "./vocab.js";

/** GPT-2 bytes_to_unicode: byte -> code point (printable Latin-1 bytes map to themselves, the rest to U+0100 + n). */
export const BYTE_TO_CPT: Uint16Array = (() => {
  const t = new Uint16Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    t[b] = printable ? b : 256 + n++;
  }
  return t;
})();
/** The inverse (unicode_utf8_to_byte_map): code point -> byte, -1 if the code point encodes no byte. */
const CPT_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(0x144).fill(-1);
  BYTE_TO_CPT.forEach((c, b) => (t[c] = b));
  return t;
})();
const NCHARS = 0x144; // encoded characters are below U+0144

/** Merge ranks and token lookup shared by every tokenizer of one vocabulary. */
interface BpeTables {
  /** "left right" (texts of GPT-2 encoded characters) -> rank; the first occurrence of a pair wins. */
  ranks: Map<string, number>;
  /** Rank of the pair of single characters (a, b) at a * NCHARS + b, or -1. */
  charRanks: Int32Array;
  /** Longest left + right text of any merge, in characters. */
  maxMerge: number;
  /** Token text (JS string) -> id. */
  textToId: Map<string, number>;
}
const tables = new WeakMap<Vocabulary, BpeTables>();

/**
 * llama_vocab::impl::load's merge parsing: each entry splits at its first space after index 0; an
 * entry without one becomes the pair ("", "") (which no symbol pair can equal). Pairs with a space
 * inside either part can never be asked for either (encoded text has no spaces), so they are skipped.
 */
function buildTables(vocab: Vocabulary, merges: readonly string[]): BpeTables {
  const ranks = new Map<string, number>();
  const charRanks = new Int32Array(NCHARS * NCHARS).fill(-1);
  let maxMerge = 0;
  for (let i = 0; i < merges.length; i++) {
    const m = merges[i];
    const pos = m.indexOf(" ", 1);
    if (pos < 0 || m.charCodeAt(0) === 0x20 || m.indexOf(" ", pos + 1) >= 0 || ranks.has(m)) continue;
    ranks.set(m, i);
    if (m.length - 1 > maxMerge) maxMerge = m.length - 1;
    if (pos === 1 && m.length === 3) {
      const a = m.charCodeAt(0);
      const b = m.charCodeAt(2);
      if (a < NCHARS && b < NCHARS && charRanks[a * NCHARS + b] < 0) charRanks[a * NCHARS + b] = i;
    }
  }
  const textToId = new Map<string, number>();
  vocab.tokens.forEach((t, id) => textToId.set(t, id));
  return { ranks, charRanks, maxMerge, textToId };
}

export class BpeTokenizer extends LlamaTokenizer {
  readonly specialPrefix: readonly number[];
  readonly specialSuffix: readonly number[];
  private readonly t: BpeTables;
  // per-word work arrays, grown as needed
  private codes = new Uint16Array(256); // (k,) the word's encoded characters
  private len = new Int32Array(256); // (k,) symbol length at its start index, 0 once merged away
  private prev = new Int32Array(256); // (k,) start of the previous symbol, -1 for the first
  private heap = new Heap();

  /** `merges`: tokenizer.ggml.merges (llama.cpp refuses a "gpt2" vocabulary without it). */
  constructor(vocab: Vocabulary, merges: readonly string[]) {
    super(vocab);
    let t = tables.get(vocab);
    if (!t) tables.set(vocab, (t = buildTables(vocab, merges)));
    this.t = t;
    this.specialPrefix = vocab.addBos ? [vocab.special.bos] : [];
    this.specialSuffix = vocab.addEos ? [vocab.special.eos] : [];
  }

  /** The tokenizer of GGUF metadata with `tokenizer.ggml.model = "gpt2"`. */
  static fromMetadata(vocab: Vocabulary, meta: GGUFMetadata): BpeTokenizer {
    const merges = getStringArray(meta, "tokenizer.ggml.merges");
    if (!merges) {
      throw new EmbedError("BAD_VOCAB", `metadata key "tokenizer.ggml.merges" is missing: a "gpt2" (BPE) vocabulary needs its merges`, {
        key: "tokenizer.ggml.merges",
      });
    }
    return new BpeTokenizer(vocab, merges);
  }

  protected encodeFragments(s: string, frags: Fragment[], maxTokens: number, out: number[]): void {
    const cpts: number[] = [];
    const ends: number[] = [];
    for (const f of frags) {
      if (out.length > maxTokens) return;
      if (f.id >= 0) {
        out.push(f.id);
        continue;
      }
      cpts.length = 0;
      ends.length = 0;
      unicode_cpts_from_utf8(s, f.start, f.end, cpts);
      bpePreSplit(this.vocab.bpeSplit!, cpts, 0, cpts.length, ends);
      for (let w = 0, start = 0; w < ends.length && out.length <= maxTokens; start = ends[w++]) this.word(cpts, start, ends[w], out);
    }
  }

  /** unicode_byte_encoding_process + llm_tokenizer_bpe_session::tokenize for the word cpts[start, end). */
  private word(cpts: readonly number[], start: number, end: number, out: number[]): void {
    let k = 0;
    for (let i = start; i < end; i++) {
      if (k + 4 > this.codes.length) this.grow(k * 2 + 8);
      const c = cpts[i];
      const codes = this.codes;
      if (c < 0x80) codes[k++] = BYTE_TO_CPT[c];
      else if (c < 0x800) (codes[k++] = BYTE_TO_CPT[0xc0 | (c >> 6)]), (codes[k++] = BYTE_TO_CPT[0x80 | (c & 0x3f)]);
      else if (c < 0x10000) {
        codes[k++] = BYTE_TO_CPT[0xe0 | (c >> 12)];
        codes[k++] = BYTE_TO_CPT[0x80 | ((c >> 6) & 0x3f)];
        codes[k++] = BYTE_TO_CPT[0x80 | (c & 0x3f)];
      } else for (const b of unicode_cpt_to_utf8(c)) codes[k++] = BYTE_TO_CPT[b.charCodeAt(0)]; // throws above U+10FFFF, as llama.cpp
    }
    const w = charsToString(this.codes, k);
    const { textToId } = this.t;
    if (this.vocab.ignoreMerges) {
      const id = textToId.get(w);
      if (id !== undefined) {
        out.push(id);
        return;
      }
    }
    this.merge(w, k);
    for (let i = 0; i < k; i += this.len[i]) this.emit(w.slice(i, i + this.len[i]), out);
  }

  /** The merge loop over the k characters of w: afterwards len[i] > 0 marks the start of each final symbol. */
  private merge(w: string, k: number): void {
    const { len, prev, codes, heap } = this;
    const { charRanks } = this.t;
    heap.clear();
    for (let i = 0; i < k; i++) (len[i] = 1), (prev[i] = i - 1);
    for (let i = 0; i + 1 < k; i++) {
      const r = charRanks[codes[i] * NCHARS + codes[i + 1]];
      if (r >= 0) heap.push(r, i, 1, 1);
    }
    while (heap.size > 0) {
      const left = heap.topLeft();
      const lenL = heap.topLenL();
      const lenR = heap.topLenR();
      heap.pop();
      const right = left + lenL;
      if (len[left] !== lenL || right >= k || len[right] !== lenR) continue; // outdated
      len[left] = lenL + lenR;
      len[right] = 0;
      const next = left + len[left];
      if (next < k) prev[next] = left;
      if (prev[left] >= 0) this.addBigram(w, prev[left], left);
      if (next < k) this.addBigram(w, left, next);
    }
  }

  /** add_new_bigram: queue (left, right) if their texts form a merge. */
  private addBigram(w: string, left: number, right: number): void {
    const lenL = this.len[left];
    const lenR = this.len[right];
    if (lenL + lenR > this.t.maxMerge) return; // no merge is that long
    const rank = this.t.ranks.get(`${w.slice(left, left + lenL)} ${w.slice(right, right + lenR)}`);
    if (rank !== undefined) this.heap.push(rank, left, lenL, lenR);
  }

  /** A final symbol's token, or its bytes' one-byte tokens (bytes without one are dropped). */
  private emit(text: string, out: number[]): void {
    const { textToId } = this.t;
    const id = textToId.get(text);
    if (id !== undefined) {
      out.push(id);
      return;
    }
    // The text's UTF-8 bytes: characters below U+0080 are one byte, the rest two bytes >= 0x80. A
    // one-byte token >= 0x80 would be invalid UTF-8, which GGUF strings cannot give us.
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) continue;
      const b = textToId.get(text[i]);
      if (b !== undefined) out.push(b);
    }
  }

  private grow(n: number): void {
    const codes = new Uint16Array(n);
    codes.set(this.codes);
    this.codes = codes;
    this.len = new Int32Array(n);
    this.prev = new Int32Array(n);
  }

  /** llama_decode_text: each code point of the token text back to its byte; unknown ones become "[UNK_BYTE_0x..]". */
  protected override normalPiece(text: string): string {
    const cpts = unicode_cpts_from_utf8(text, 0, text.length, []);
    let out = "";
    for (const c of cpts) {
      const b = c < CPT_TO_BYTE.length ? CPT_TO_BYTE[c] : -1;
      if (b >= 0) {
        out += String.fromCharCode(b);
        continue;
      }
      const utf8 = unicode_cpt_to_utf8(c);
      let hex = "";
      for (let i = 0; i < utf8.length; i++) hex += utf8.charCodeAt(i).toString(16).padStart(2, "0");
      out += `[UNK_BYTE_0x${hex}${text}]`; // llama.cpp appends the whole token text here
    }
    return out;
  }
}

/** String of the first k char codes (chunked: fromCharCode.apply has an argument limit). */
function charsToString(codes: Uint16Array, k: number): string {
  if (k <= 0x2000) return String.fromCharCode.apply(null, codes.subarray(0, k) as unknown as number[]);
  const parts: string[] = [];
  for (let i = 0; i < k; i += 0x2000) {
    parts.push(String.fromCharCode.apply(null, codes.subarray(i, Math.min(k, i + 0x2000)) as unknown as number[]));
  }
  return parts.join("");
}

/** llm_bigram_bpe::queue: a binary min-heap on (rank, left); entries also hold the pair's two lengths. */
class Heap {
  private rank = new Int32Array(256);
  private left = new Int32Array(256);
  private lenL = new Int32Array(256);
  private lenR = new Int32Array(256);
  size = 0;

  clear(): void {
    this.size = 0;
  }

  topLeft(): number {
    return this.left[0];
  }

  topLenL(): number {
    return this.lenL[0];
  }

  topLenR(): number {
    return this.lenR[0];
  }

  private less(i: number, j: number): boolean {
    return this.rank[i] < this.rank[j] || (this.rank[i] === this.rank[j] && this.left[i] < this.left[j]);
  }

  private swap(i: number, j: number): void {
    const { rank, left, lenL, lenR } = this;
    let x = rank[i];
    (rank[i] = rank[j]), (rank[j] = x);
    x = left[i];
    (left[i] = left[j]), (left[j] = x);
    x = lenL[i];
    (lenL[i] = lenL[j]), (lenL[j] = x);
    x = lenR[i];
    (lenR[i] = lenR[j]), (lenR[j] = x);
  }

  push(rank: number, left: number, lenL: number, lenR: number): void {
    if (this.size === this.rank.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      [this.rank, this.left, this.lenL, this.lenR] = [grow(this.rank), grow(this.left), grow(this.lenL), grow(this.lenR)];
    }
    let i = this.size++;
    this.rank[i] = rank;
    this.left[i] = left;
    this.lenL[i] = lenL;
    this.lenR[i] = lenR;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Remove the top entry. */
  pop(): void {
    const last = --this.size;
    if (last > 0) {
      this.rank[0] = this.rank[last];
      this.left[0] = this.left[last];
      this.lenL[0] = this.lenL[last];
      this.lenR[0] = this.lenR[last];
    }
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      if (l >= this.size) break;
      const m = l + 1 < this.size && this.less(l + 1, l) ? l + 1 : l;
      if (!this.less(m, i)) break;
      this.swap(i, m);
      i = m;
    }
  }
}
