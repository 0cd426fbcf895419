/**
 * WordPiece parity with llama.cpp on its own BERT test vocabulary, models/ggml-vocab-bert-bge.gguf
 * (30,522 tokens), extracted from node-llama-cpp's llama.cpp bundle at test time (test/helpers/llama-src.ts):
 *  - the vocabulary state: every token's attribute flags, the EOG set, the special ids;
 *  - every case of ggml-vocab-bert-bge.gguf.inp/.out, parsed as tests/test-tokenizer-0.cpp does and
 *    compared as it does (add_special = false, parse_special = false), and also against llama.cpp;
 *  - llama.cpp's 46 tokenizer test strings, WordPiece edge cases, and the 1,600-text mixed-script
 *    corpus: ids equal to llama.cpp's with parse_special on and off, with add_special on and off;
 *    detokenize equal with unparse_special on and off; the plain reference path (wpm-reference.ts)
 *    gives the same ids;
 *  - every single token's piece (token_to_piece through detokenize) equals llama.cpp's.
 * node-llama-cpp's model.tokenize(text, specialTokens) calls common_tokenize(vocab, text,
 * add_special = false, parse_special = specialTokens) (llama/addon/AddonModel.cpp), so add_special =
 * true cannot be asked of it directly: its expectation is llama.cpp's ids wrapped as the WPM case of
 * llama_vocab::impl::tokenize wraps them, [BOS] ... [SEP] (ids from llama.cpp, whatever add_bos/add_sep say).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import type { LlamaModel } from "node-llama-cpp";
import { FileSource } from "../../src/node/fs-source.js";
import { loadTokenizer, type Tokenizer } from "../../src/tokenizer/index.js";
import { disposeModel, llamaModel } from "../helpers/llama.js";
import { llamaSourceFile, llamaVocabCases } from "../helpers/llama-src.js";
import { pieceMismatches, textParity, vocabStateMismatches } from "../helpers/vocab-oracle.js";
import { wpmReference } from "./wpm-reference.js";
import { WPM_EDGE } from "./wpm-strings.js";

const VOCAB = "ggml-vocab-bert-bge.gguf";
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

test("vocabulary state equals llama.cpp's: attributes, EOG set, special ids", () => {
  assert.equal(ours.vocab.type, "wpm");
  assert.equal(vocabStateMismatches(ours, ref), 0);
  assert.deepEqual(
    [ours.special.bos, ours.special.eos, ours.special.sep],
    [ref.tokens.bos ?? -1, ref.tokens.eos ?? -1, ref.tokens.sep ?? -1],
  );
  assert.deepEqual([ours.specialPrefix, ours.specialSuffix], [[101], [102]]);
  assert.equal(ours.special.unk, 100);
});

test("every case of llama.cpp's ggml-vocab-bert-bge.gguf.inp/.out, as test-tokenizer-0 runs them", (t) => {
  const cases = llamaVocabCases(VOCAB);
  const bad: string[] = [];
  for (const { text, ids } of cases) {
    const got = ours.encode(text, { addSpecial: false, parseSpecial: false });
    if (got.join() !== ids.join()) bad.push(`.out: ${JSON.stringify(text)}: want ${ids} got ${got}`);
    const llama = Array.from(ref.tokenize(text, false));
    if (got.join() !== llama.join()) bad.push(`llama.cpp: ${JSON.stringify(text)}: want ${llama} got ${got}`);
  }
  t.diagnostic(`${cases.length} cases, ${bad.length} mismatches`);
  assert.ok(cases.length > 30);
  assert.deepEqual(bad, []);
});

test("llama.cpp's test strings, edge cases and the 1,600-text corpus: ids, add_special, detokenize, reference path", (t) => {
  const strings = [...LLAMA_TESTS, ...WPM_EDGE, ...CORPUS];
  const bos = ref.tokens.bos!;
  const sep = ref.tokens.sep!;
  const { compared, withUnk, bad } = textParity(
    ours,
    ref,
    strings,
    (ids) => [bos, ...ids, sep],
    (text, parseSpecial, got, fail) => {
      const plain = wpmReference(ours.vocab, text, false, parseSpecial);
      if (plain.join() !== got.join()) fail(`reference path (parseSpecial=${parseSpecial})`, text, plain, got);
    },
  );
  t.diagnostic(
    `${compared} encodings of ${strings.length} strings (${LLAMA_TESTS.length} llama.cpp tests, ` +
      `${WPM_EDGE.length} edge cases, ` +
      `${CORPUS.length} corpus texts), ${withUnk} with [UNK], ${bad.length} mismatches`,
  );
  assert.deepEqual(bad, []);
});

test("every token's piece equals llama.cpp's (token_to_piece via detokenize, special on and off)", () => {
  assert.deepEqual(pieceMismatches(ours, ref).slice(0, 10), []);
});
