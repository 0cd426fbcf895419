/**
 * The plain reference path of the unigram tokenizer, for tests: llama.cpp's llm_tokenizer_ugm_session
 * written as directly as possible, with none of ugm.ts's machinery: the user-defined "trie" is a set
 * of all prefixes of USER_DEFINED texts, token lookup is Vocabulary.tokenToId on every substring
 * that is a prefix of some token (the set of every token's prefixes: a substring that is no token's
 * prefix has no token among its extensions either, which ends llama.cpp's trie walk at the same
 * place), strings instead of reused buffers. Only the charsmap walk (ugm-charsmap.ts)
 * and the special-token partition are shared. ref: llama.cpp src/llama-vocab.cpp
 * llm_tokenizer_ugm_session (tokenize, normalize, normalize_prefix); docs/tokenizers/ugm.md.
 */
import { toByteString } from "../../src/tokenizer/bytes.js";
import { partition } from "../../src/tokenizer/partition.js";
import type { Charsmap } from "../../src/tokenizer/ugm-charsmap.js";
import { UTF8_LEN } from "../../src/tokenizer/unicode.js";
import { LlamaTokenAttr, type Vocabulary } from "../../src/tokenizer/vocab.js";

const SPACE = "\u00e2\u0096\u0081"; // "▁" as a byte string

/** llama_vocab::impl::tokenize's UGM case, add_special and parse_special as given. */
export function ugmReference(
  vocab: Vocabulary,
  charsmap: Charsmap | undefined,
  text: string,
  addSpecial: boolean,
  parseSpecial: boolean,
): number[] {
  const s = toByteString(text);
  const out: number[] = addSpecial && vocab.addBos ? [vocab.special.bos] : [];
  for (const f of partition(vocab, s, parseSpecial)) {
    if (f.id >= 0) out.push(f.id);
    else out.push(...viterbi(vocab, normalize(vocab, charsmap, s.slice(f.start, f.end))));
  }
  if (addSpecial && vocab.addEos) out.push(vocab.special.eos);
  return out;
}

/** Per vocab: every prefix of a USER_DEFINED text, every prefix of any token, and unknown_token_score. */
interface Derived {
  prefixes: Set<string>;
  tokenPrefixes: Set<string>;
  unknownScore: number;
}
const cache = new WeakMap<Vocabulary, Derived>();
function derived(vocab: Vocabulary): Derived {
  let d = cache.get(vocab);
  if (d) return d;
  const prefixes = new Set<string>();
  const tokenPrefixes = new Set<string>();
  let minScore = 3.4028234663852886e38; // FLT_MAX
  vocab.tokenBytes.forEach((t, id) => {
    if (vocab.attrs[id] & LlamaTokenAttr.USER_DEFINED) for (let k = 1; k <= t.length; k++) prefixes.add(t.slice(0, k));
    for (let k = 1; k <= t.length; k++) tokenPrefixes.add(t.slice(0, k));
    if (vocab.attrs[id] & LlamaTokenAttr.NORMAL) minScore = Math.min(minScore, vocab.scores[id]);
  });
  cache.set(vocab, (d = { prefixes, tokenPrefixes, unknownScore: Math.fround(minScore - 10) }));
  return d;
}

function normalize(vocab: Vocabulary, charsmap: Charsmap | undefined, input: string): string {
  const { prefixes } = derived(vocab);
  let out = "";
  let prepended = false;
  let inWord = false;
  for (let i = 0; i < input.length; ) {
    let piece: string;
    let used: number;
    let ud = 0;
    while (i + ud < input.length && prefixes.has(input.slice(i, i + ud + 1))) ud++;
    const cm = ud === 0 && charsmap ? charsmap.longestPrefix(input, i, input.length) : 0;
    if (ud > 0) [piece, used] = [input.slice(i, i + ud), ud];
    else if (cm > 0) {
      const r = charsmap!.replacements.subarray(charsmap!.matchOffset, charsmap!.replacementEnd(charsmap!.matchOffset));
      [piece, used] = [String.fromCharCode(...r), cm];
    } else {
      const n = utf8Valid(input, i);
      [piece, used] = n > 0 ? [input.slice(i, i + n), n] : ["\u00ef\u00bf\u00bd", 1];
    }
    for (const c of piece) {
      if (c !== " ") {
        if (!inWord) {
          inWord = true;
          if ((vocab.addSpacePrefix && !prepended) || vocab.removeExtraWhitespaces) out += SPACE;
          prepended = true;
        }
        out += c;
      } else {
        inWord = false;
        if (!vocab.removeExtraWhitespaces) out += SPACE;
      }
    }
    i += used;
  }
  return out;
}

function utf8Valid(s: string, i: number): number {
  const c = s.charCodeAt(i);
  const n = c < 0x80 ? 1 : c < 0xc0 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf8 ? 4 : 0;
  if (n === 0 || i + n > s.length) return 0;
  for (let k = 1; k < n; k++) if ((s.charCodeAt(i + k) & 0xc0) !== 0x80) return 0;
  return n;
}

function viterbi(vocab: Vocabulary, text: string): number[] {
  const n = text.length;
  if (n === 0) return [];
  const unk = vocab.special.unk;
  const { unknownScore, tokenPrefixes } = derived(vocab);
  const matchable = LlamaTokenAttr.NORMAL | LlamaTokenAttr.USER_DEFINED | LlamaTokenAttr.UNUSED;
  const best = Array.from({ length: n + 1 }, () => ({ id: unk, from: 0, score: -Number.MAX_VALUE }));
  best[0].score = 0;
  for (let i = 0; i < n; ) {
    const len = Math.min(UTF8_LEN[text.charCodeAt(i) >> 4], n - i);
    let single = false;
    for (let p = i + 1; p <= n && p - i <= vocab.maxTokenBytes; p++) {
      const piece = text.slice(i, p);
      if (!tokenPrefixes.has(piece)) break;
      const id = vocab.tokenToId.get(piece);
      if (id === undefined || !(vocab.attrs[id] & matchable)) continue;
      if (p - i === len) single = true;
      const score = best[i].score + (vocab.attrs[id] & LlamaTokenAttr.USER_DEFINED ? 0 : vocab.scores[id]);
      if (score > best[p].score) best[p] = { id, from: i, score };
    }
    if (!single && best[i].score + unknownScore > best[i + len].score)
      best[i + len] = { id: unk, from: i, score: best[i].score + unknownScore };
    i += len;
  }
  const ids: number[] = [];
  let prevUnk = false;
  for (let p = n; ; p = best[p].from) {
    const isUnk = best[p].id === unk;
    if (!(prevUnk && isUnk)) ids.push(best[p].id);
    if (best[p].from === 0) break;
    prevUnk = isUnk;
  }
  return ids.reverse();
}
