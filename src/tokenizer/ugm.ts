/**
 * Unigram (UGM) as llama.cpp runs it for `tokenizer.ggml.model = "t5"` (T5, XLM-R: bge-m3,
 * arctic-embed2, nomic-embed-text-v2, paraphrase-multilingual). ref: llama.cpp src/llama-vocab.cpp
 * llm_tokenizer_ugm (the matchers and the unknown-token score), llm_tokenizer_ugm_session (tokenize,
 * normalize, normalize_prefix) and llama_vocab::impl::tokenize's UGM case; docs/tokenizers/ugm.md.
 *
 * Per raw fragment of the special-token partition:
 *  1. normalize: at each input position, in this order, the longest path of the USER_DEFINED token
 *     trie (naive_trie::get_longest_prefix: the path, not necessarily a whole token) is copied as is;
 *     else the longest prefix the precompiled charsmap maps (ugm-charsmap.ts) gives its replacement;
 *     else one valid UTF-8 character (unicode_cpt_from_utf8's checks) is copied; else one byte becomes
 *     U+FFFD. Every output byte ' ' becomes "▁" (escape_whitespaces) or, with remove_extra_whitespaces,
 *     is dropped and each run of non-spaces gets one "▁" before it; add_space_prefix puts "▁" first
 *     (treat_whitespace_as_suffix is never set from a GGUF, so the suffix form is not reachable).
 *  2. Viterbi over the normalized bytes in double precision: from each UTF-8 character start, every
 *     NORMAL / USER_DEFINED / UNUSED token that the trie finds there scores its float score (0 for
 *     USER_DEFINED); a character that no token covers exactly scores min NORMAL score - 10 as UNK.
 *     A challenger replaces the best path ending at a position only if strictly better, in the order
 *     llama.cpp tries them (start positions ascending, longer tokens later), which settles ties.
 *  3. Backtrack from the end; runs of UNK become one UNK.
 * add_special: BOS if add_bos_token, EOS if add_eos_token. Detokenize: tokenizer.ts (token_to_piece).
 *
 * Differences from llama.cpp that do not change the result: the matchers are ByteTries instead of
 * std::map trees; normalized bytes, scores and back-pointers live in reused typed arrays. Where
 * llama.cpp would push LLAMA_TOKEN_NULL (an UNK is needed but the vocab has none) we throw BAD_VOCAB.
 * A charsmap whose replacements expand the text more than MAX_EXPANSION-fold is refused (BAD_VOCAB)
 * instead of allocating without bound. Complexity: O(normalized bytes · longest token).
 */
import { EmbedError } from "../errors.js";
import type { Fragment } from "./partition.js";
import { LlamaTokenizer } from "./tokenizer.js";
import { ByteTrie } from "./trie.js";
import type { Charsmap } from "./ugm-charsmap.js";
import { UTF8_LEN } from "./unicode.js";
import { LlamaTokenAttr, TOKEN_NULL, type Vocabulary } from "./vocab.js";

/** Normalized bytes per input byte beyond which a charsmap is refused (real NFKC tables stay under 12). */
export const MAX_EXPANSION = 64;
const UNKNOWN_TOKEN_SCORE_PENALTY = 10;

interface Matchers {
  /** token_matcher: NORMAL, USER_DEFINED and UNUSED tokens -> id. */
  tokens: ByteTrie;
  /** user_defined_token_matcher (values unused). */
  userDefined: ByteTrie;
  /** unknown_token_score: min NORMAL score - 10, in float. */
  unknownScore: number;
}
const matchers = new WeakMap<Vocabulary, Matchers>();

/** llm_tokenizer_ugm's constructor. */
function buildMatchers(vocab: Vocabulary): Matchers {
  const { attrs, scores, tokenBytes } = vocab;
  let minScore = 3.4028234663852886e38; // FLT_MAX
  const texts: string[] = [];
  const ids: number[] = [];
  const userDefined: string[] = [];
  for (let id = 0; id < vocab.nVocab; id++) {
    const a = attrs[id];
    if (a & LlamaTokenAttr.NORMAL) minScore = Math.min(minScore, scores[id]); // std::min: NaN never wins
    if (a & (LlamaTokenAttr.NORMAL | LlamaTokenAttr.USER_DEFINED | LlamaTokenAttr.UNUSED)) texts.push(tokenBytes[id]), ids.push(id);
    if (a & LlamaTokenAttr.USER_DEFINED) userDefined.push(tokenBytes[id]);
  }
  return {
    tokens: new ByteTrie(texts, ids),
    userDefined: new ByteTrie(userDefined, new Int32Array(userDefined.length)),
    unknownScore: Math.fround(minScore - UNKNOWN_TOKEN_SCORE_PENALTY),
  };
}

export class UgmTokenizer extends LlamaTokenizer {
  private readonly m: Matchers;
  private norm = new Uint8Array(1024); // (cap,) normalized bytes of the current fragment
  private bestId = new Int32Array(0); // (n + 1,) token of the best path ending at each byte position
  private bestFrom = new Int32Array(0); // (n + 1,) where that token starts
  private bestScore = new Float64Array(0); // (n + 1,) score of that path
  private readonly back: number[] = []; // ids of one fragment, last first
  readonly specialPrefix: readonly number[];
  readonly specialSuffix: readonly number[];

  constructor(
    vocab: Vocabulary,
    /** The normalizer (tokenizer.ggml.precompiled_charsmap), if the vocab has one. */
    readonly charsmap: Charsmap | undefined,
  ) {
    super(vocab);
    let m = matchers.get(vocab);
    if (!m) matchers.set(vocab, (m = buildMatchers(vocab)));
    this.m = m;
    this.specialPrefix = vocab.addBos ? [vocab.special.bos] : [];
    this.specialSuffix = vocab.addEos ? [vocab.special.eos] : [];
  }

  protected encodeFragments(s: string, frags: Fragment[], maxTokens: number, out: number[]): void {
    for (const f of frags) {
      if (out.length > maxTokens) return;
      if (f.id >= 0) out.push(f.id);
      else this.tokenize(s, f.start, f.end, out);
    }
  }

  /** llm_tokenizer_ugm_session::tokenize on the raw fragment s[start, end). */
  tokenize(s: string, start: number, end: number, out: number[]): void {
    const n = this.normalize(s, start, end);
    if (n === 0) return;
    const { tokens, unknownScore } = this.m;
    const { value } = tokens;
    const scores = this.vocab.scores;
    const attrs = this.vocab.attrs;
    const unk = this.vocab.special.unk;
    const norm = this.norm;
    if (this.bestId.length < n + 1) {
      this.bestId = new Int32Array(n + 1);
      this.bestFrom = new Int32Array(n + 1);
      this.bestScore = new Float64Array(n + 1);
    }
    const { bestId, bestFrom, bestScore } = this;
    bestId.fill(unk, 0, n + 1);
    bestFrom.fill(0, 0, n + 1);
    bestScore.fill(-Number.MAX_VALUE, 1, n + 1); // -DBL_MAX: below any sum of token scores
    bestScore[0] = 0;

    for (let i = 0; i < n; ) {
      const cpLen = Math.min(UTF8_LEN[norm[i] >> 4], n - i);
      const base = bestScore[i];
      let singleCodepointToken = false;
      let node = tokens.child(0, norm[i]);
      for (let p = i + 1; node >= 0; ) {
        const id = value[node];
        if (id >= 0) {
          if (p - i === cpLen) singleCodepointToken = true;
          const challenger = base + (attrs[id] & LlamaTokenAttr.USER_DEFINED ? 0 : scores[id]);
          if (challenger > bestScore[p]) (bestId[p] = id), (bestFrom[p] = i), (bestScore[p] = challenger);
        }
        if (p >= n) break;
        node = tokens.child(node, norm[p++]);
      }
      if (!singleCodepointToken) {
        const challenger = base + unknownScore;
        const p = i + cpLen;
        if (challenger > bestScore[p]) (bestId[p] = unk), (bestFrom[p] = i), (bestScore[p] = challenger);
      }
      i += cpLen;
    }

    // backtrack; consecutive UNKs become one
    const back = this.back;
    back.length = 0;
    let prevUnknown = false;
    for (let p = n; ; p = bestFrom[p]) {
      const id = bestId[p];
      const isUnknown = id === unk;
      if (!(prevUnknown && isUnknown)) back.push(id);
      if (bestFrom[p] === 0) break;
      prevUnknown = isUnknown;
    }
    if (unk === TOKEN_NULL && back.includes(TOKEN_NULL)) {
      throw new EmbedError("BAD_VOCAB", "the text needs the unknown token, but the vocab has none (tokenizer.ggml.unknown_token_id)", {
        key: "tokenizer.ggml.unknown_token_id",
      });
    }
    for (let k = back.length - 1; k >= 0; k--) out.push(back[k]);
  }

  /** llm_tokenizer_ugm_session::normalize of s[start, end) into this.norm; returns the byte length. */
  private normalize(s: string, start: number, end: number): number {
    const { vocab, charsmap } = this;
    const { userDefined } = this.m;
    const prependSpace = vocab.addSpacePrefix; // && !treat_whitespace_as_suffix (always false)
    const mergeSpaces = vocab.removeExtraWhitespaces;
    const limit = MAX_EXPANSION * (end - start) + 1024; // >= 1024: this.norm's first size
    let norm = this.norm;
    let n = 0;
    let spacePrepended = false;
    let inWord = false;
    let cap = Math.min(norm.length, limit); // the limit applies whatever size earlier fragments grew this.norm to
    const put = (c: number) => {
      if (n + 4 > cap) {
        // room for "▁" + c
        if (n + 4 > limit) {
          throw new EmbedError(
            "BAD_VOCAB",
            `tokenizer.ggml.precompiled_charsmap expands ${end - start} input bytes to more than ${limit}`,
            { key: "tokenizer.ggml.precompiled_charsmap", limit },
          );
        }
        const grown = new Uint8Array(Math.min(limit, norm.length * 2));
        grown.set(norm.subarray(0, n));
        this.norm = norm = grown;
        cap = Math.min(norm.length, limit);
      }
      if (c !== 0x20) {
        if (!inWord) {
          inWord = true;
          if ((prependSpace && !spacePrepended) || mergeSpaces) (norm[n++] = 0xe2), (norm[n++] = 0x96), (norm[n++] = 0x81);
          spacePrepended = true;
        }
        norm[n++] = c;
      } else {
        inWord = false;
        if (!mergeSpaces) (norm[n++] = 0xe2), (norm[n++] = 0x96), (norm[n++] = 0x81);
      }
    };
    for (let i = start; i < end; ) {
      // 1. the longest path of the user-defined trie (not necessarily a whole token), copied as is
      let node = 0;
      let len = 0;
      while (i + len < end && (node = userDefined.child(node, s.charCodeAt(i + len))) >= 0) len++;
      if (len > 0) {
        for (let k = 0; k < len; k++) put(s.charCodeAt(i + k));
        i += len;
        continue;
      }
      // 2. the charsmap's longest match, replaced
      if (charsmap) {
        const mlen = charsmap.longestPrefix(s, i, end);
        if (mlen > 0) {
          const r = charsmap.replacements;
          const offset = charsmap.matchOffset;
          for (let k = offset, e = charsmap.replacementEnd(offset); k < e; k++) put(r[k]);
          i += mlen;
          continue;
        }
      }
      // 3. one valid UTF-8 character as is, else U+FFFD for one byte
      const vlen = validUtf8Length(s, i, end);
      if (vlen > 0) {
        for (let k = 0; k < vlen; k++) put(s.charCodeAt(i + k));
        i += vlen;
      } else {
        put(0xef), put(0xbf), put(0xbd);
        i += 1;
      }
    }
    return n;
  }
}

/** Bytes of the character at s[i] if unicode_cpt_from_utf8 accepts it (lead and continuation bits only), else 0. */
function validUtf8Length(s: string, i: number, end: number): number {
  const c = s.charCodeAt(i);
  if (!(c & 0x80)) return 1;
  const cont = (k: number) => i + k < end && (s.charCodeAt(i + k) & 0xc0) === 0x80;
  if (!(c & 0x40)) return 0;
  if (!(c & 0x20)) return cont(1) ? 2 : 0;
  if (!(c & 0x10)) return cont(1) && cont(2) ? 3 : 0;
  if (!(c & 0x08)) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}
