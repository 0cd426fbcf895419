/**
 * Unigram (UGM, "t5") parity with llama.cpp on the real XLM-R vocabulary, llama.cpp's
 * models/ggml-vocab-nomic-bert-moe.gguf (250,048 tokens, the real precompiled_charsmap,
 * add_space_prefix and remove_extra_whitespaces true, add_bos/add_eos true), extracted from
 * node-llama-cpp's llama.cpp bundle at test time (test/helpers/llama-src.ts):
 *  - the vocabulary state: every token's attribute flags, the EOG set, the special ids;
 *  - llama.cpp ships no .out for this vocab, so the input of every .inp file of llama.cpp's models/
 *    (all vocab tests' cases, deduplicated) is compared against llama.cpp itself;
 *  - llama.cpp's 46 tokenizer test strings, the WordPiece and UGM edge cases and the 1,600-text
 *    mixed-script corpus: ids equal to llama.cpp's with parse_special on and off, and with add_special
 *    (llama.cpp's ids wrapped as the UGM case of llama_vocab::impl::tokenize wraps them: BOS ... EOS);
 *    detokenize equal with unparse_special on and off;
 *  - every single token's piece (token_to_piece through detokenize) equals llama.cpp's.
 * node-llama-cpp's model.tokenize(text, specialTokens) is common_tokenize(vocab, text, add_special =
 * false, parse_special = specialTokens) (llama/addon/AddonModel.cpp).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import type { LlamaModel, Token } from "node-llama-cpp";
import { FileSource } from "../../src/node/fs-source.js";
import { loadTokenizer, type Tokenizer } from "../../src/tokenizer/index.js";
import { disposeModel, llamaModel } from "../helpers/llama.js";
import { llamaSourceFile, llamaVocabCases } from "../helpers/llama-src.js";
import { UGM_EDGE } from "./ugm-strings.js";
import { WPM_EDGE } from "./wpm-strings.js";

const VOCAB = "ggml-vocab-nomic-bert-moe.gguf";
const INP_VOCABS = [
  "bert-bge",
  "command-r",
  "deepseek-coder",
  "deepseek-llm",
  "falcon",
  "gemma-4",
  "gpt-2",
  "llama-bpe",
  "llama-spm",
  "mpt",
  "phi-3",
  "qwen2",
  "qwen35",
  "refact",
  "starcoder",
].map((v) => `ggml-vocab-${v}.gguf`);
const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url), "utf8");
const LLAMA_TESTS = (JSON.parse(fixture("llama-tokenizer-tests.json")) as { tests: string[] }).tests;
const CORPUS = fixture("tokenizer-corpus.jsonl")
  .trim()
  .split("\n")
  .map((l) => (JSON.parse(l) as { text: string }).text);

let path = "";
let ours: Tokenizer;
let ref: LlamaModel;
before(async () => {
  path = llamaSourceFile(`models/${VOCAB}`);
  const src = await FileSource.open(path);
  ours = await loadTokenizer(src);
  await src.close();
  ref = await llamaModel(path, true);
});
after(async () => {
  if (path) await disposeModel(path);
});

/** node-llama-cpp's TokenAttributes getters, in llama_token_attr bit order (UNKNOWN = 1 << 0, ...). */
const ATTR_BITS = [
  "unknown",
  "unused",
  "normal",
  "control",
  "userDefined",
  "byte",
  "normalized",
  "lstrip",
  "rstrip",
  "singleWord",
] as const;

test("vocabulary state equals llama.cpp's: attributes, EOG set, special ids", () => {
  assert.equal(ours.vocab.type, "ugm");
  assert.equal(ours.nVocab, 250048);
  let mismatches = 0;
  for (let id = 0; id < ours.nVocab; id++) {
    const a = ref.getTokenAttributes(id as Token);
    const flags = ATTR_BITS.reduce((f, k, bit) => (a[k] ? f | (1 << bit) : f), 0);
    if (flags !== ours.vocab.attrs[id]) mismatches++;
    if (ref.isEogToken(id as Token) !== ours.vocab.eogIds.has(id)) mismatches++;
  }
  assert.equal(mismatches, 0);
  assert.deepEqual([ours.special.bos, ours.special.eos, ours.special.unk], [ref.tokens.bos ?? -1, ref.tokens.eos ?? -1, 3]);
  assert.deepEqual([ours.specialPrefix, ours.specialSuffix], [[0], [2]]);
  assert.ok(ours.vocab.addSpacePrefix && ours.vocab.removeExtraWhitespaces);
});

test("the cases of every llama.cpp .inp file tokenize as llama.cpp does, parse_special on and off", (t) => {
  const texts = [...new Set(INP_VOCABS.flatMap((v) => llamaVocabCases(v).map((c) => c.text)))];
  const bad: string[] = [];
  for (const parseSpecial of [false, true]) {
    for (const text of texts) {
      const want = Array.from(ref.tokenize(text, parseSpecial));
      const got = ours.encode(text, { addSpecial: false, parseSpecial });
      if (got.join() !== want.join()) bad.push(`${JSON.stringify(text)} (parse_special ${parseSpecial}): want ${want} got ${got}`);
    }
  }
  t.diagnostic(`${texts.length} distinct .inp cases of ${INP_VOCABS.length} files x 2 modes, ${bad.length} mismatches`);
  assert.ok(texts.length >= 45, `only ${texts.length} distinct .inp cases`);
  assert.deepEqual(bad.slice(0, 5), []);
});

test("llama.cpp's test strings, edge cases and the 1,600-text corpus: ids, add_special, detokenize", (t) => {
  const strings = [...LLAMA_TESTS, ...WPM_EDGE, ...UGM_EDGE, ...CORPUS];
  const bos = ref.tokens.bos!;
  const eos = ref.tokens.eos!;
  const bad: string[] = [];
  const fail = (what: string, text: string, want: unknown, got: unknown) => {
    const show = (x: unknown) => JSON.stringify(x).slice(0, 300);
    if (bad.length < 5) bad.push(`${what} ${JSON.stringify(text.slice(0, 100))}\n  llama.cpp: ${show(want)}\n  ours:      ${show(got)}`);
    else bad.push(what);
  };
  let compared = 0;
  let unk = 0;
  for (const parseSpecial of [true, false]) {
    for (const text of strings) {
      const want = Array.from(ref.tokenize(text, parseSpecial)) as number[];
      const got = ours.encode(text, { addSpecial: false, parseSpecial });
      compared++;
      if (got.join() !== want.join()) fail(`encode(parseSpecial=${parseSpecial})`, text, want, got);
      if (got.includes(ours.special.unk)) unk++;
      const wrapped = [bos, ...want, eos];
      const gotWrapped = ours.encode(text, { parseSpecial });
      if (gotWrapped.join() !== wrapped.join()) fail(`encode(addSpecial, parseSpecial=${parseSpecial})`, text, wrapped, gotWrapped);
      for (const special of [false, true]) {
        const d = ref.detokenize(wrapped as Token[], special);
        const ourD = ours.decode(wrapped, { unparseSpecial: special });
        if (ourD !== d) fail(`decode(unparseSpecial=${special})`, text, d, ourD);
      }
    }
  }
  t.diagnostic(
    `${compared} encodings of ${strings.length} strings (${LLAMA_TESTS.length} llama.cpp tests, ` +
      `${WPM_EDGE.length + UGM_EDGE.length} edge cases, ${CORPUS.length} corpus texts), ${unk} with <unk>, ${bad.length} mismatches`,
  );
  assert.ok(unk > 0, "some strings must need the unknown token");
  assert.deepEqual(bad, []);
});

test("every token's piece equals llama.cpp's (token_to_piece via detokenize, special on and off)", () => {
  const bad: number[] = [];
  for (let id = 0; id < ours.nVocab; id++) {
    for (const special of [false, true]) {
      if (ours.decode([id], { unparseSpecial: special }) !== ref.detokenize([id as Token], special)) bad.push(id);
    }
  }
  assert.deepEqual(bad.slice(0, 10), []);
});
