/**
 * The plain reference path of src/tokenizer/bpe.ts: llama.cpp's llm_tokenizer_bpe_session::tokenize
 * written as directly as possible, to check the fast path against (bit for bit, on every test string).
 * Merges are parsed as llama_vocab::impl::load does (split at the first space after index 0; pairs
 * keyed by (first, second), first occurrence wins); symbols are strings; each step scans all adjacent
 * pairs for the lowest rank, leftmost on ties (what llama.cpp's queue pops); no length bounds, no
 * dense tables. The split and the partition are shared with the fast path (they have their own tests).
 * O(k²) per word: for test inputs only.
 */
import { getStringArray, type GGUFMetadata } from "../../src/gguf/keys.js";
import { BYTE_TO_CPT } from "../../src/tokenizer/bpe.js";
import { bpePreSplit } from "../../src/tokenizer/bpe-pre.js";
import { bytesToByteString } from "../../src/tokenizer/bytes.js";
import { partition } from "../../src/tokenizer/partition.js";
import { unicode_cpt_to_utf8, unicode_cpts_from_utf8 } from "../../src/tokenizer/unicode.js";
import type { Vocabulary } from "../../src/tokenizer/vocab.js";

type Ranks = Map<string, Map<string, number>>;
const cache = new WeakMap<Vocabulary, { ranks: Ranks; textToId: Map<string, number> }>();

function bpeTables(vocab: Vocabulary, meta: GGUFMetadata): { ranks: Ranks; textToId: Map<string, number> } {
  const hit = cache.get(vocab);
  if (hit) return hit;
  const ranks: Ranks = new Map();
  getStringArray(meta, "tokenizer.ggml.merges")!.forEach((word, i) => {
    const pos = word.indexOf(" ", 1);
    const [first, second] = pos < 0 ? ["", ""] : [word.slice(0, pos), word.slice(pos + 1)];
    let m = ranks.get(first);
    if (!m) ranks.set(first, (m = new Map()));
    if (!m.has(second)) m.set(second, i);
  });
  const tables = { ranks, textToId: new Map(vocab.tokens.map((t, i) => [t, i])) };
  cache.set(vocab, tables);
  return tables;
}

/** llama.cpp's ids for `text` (add_special as llama_vocab::impl::tokenize's BPE case). */
export function bpeReference(vocab: Vocabulary, meta: GGUFMetadata, text: string, addSpecial: boolean, parseSpecial: boolean): number[] {
  const s = bytesToByteString(new TextEncoder().encode(text));
  const { ranks, textToId } = bpeTables(vocab, meta);
  const out: number[] = [];
  if (addSpecial && vocab.addBos) out.push(vocab.special.bos);
  for (const f of partition(vocab, s, parseSpecial)) {
    if (f.id >= 0) {
      out.push(f.id);
      continue;
    }
    const cpts = unicode_cpts_from_utf8(s, f.start, f.end, []);
    const ends: number[] = [];
    bpePreSplit(vocab.bpeSplit!, cpts, 0, cpts.length, ends);
    let start = 0;
    for (const end of ends) {
      // unicode_regex_split's word, then unicode_byte_encoding_process
      let word = "";
      for (const c of cpts.slice(start, end)) for (const b of unicode_cpt_to_utf8(c)) word += String.fromCharCode(BYTE_TO_CPT[b.charCodeAt(0)]);
      start = end;
      let symbols = [...word];
      if (vocab.ignoreMerges && textToId.has(word)) symbols = [word];
      for (;;) {
        let best = -1;
        let bestRank = Infinity;
        for (let i = 0; i + 1 < symbols.length; i++) {
          const r = ranks.get(symbols[i])?.get(symbols[i + 1]);
          if (r !== undefined && r < bestRank) (bestRank = r), (best = i);
        }
        if (best < 0) break;
        symbols.splice(best, 2, symbols[best] + symbols[best + 1]);
      }
      for (const sym of symbols) {
        const id = textToId.get(sym);
        if (id !== undefined) {
          out.push(id);
          continue;
        }
        for (const b of new TextEncoder().encode(sym)) {
          const one = textToId.get(String.fromCharCode(b));
          if (one !== undefined && b < 0x80) out.push(one);
        }
      }
    }
  }
  if (addSpecial && vocab.addEos) out.push(vocab.special.eos);
  return out;
}
