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
 *    detokenize equal with unparse_special on and off; the plain reference path (ugm-reference.ts) gives the same ids;
 *  - every single token's piece (token_to_piece through detokenize) equals llama.cpp's.
 * node-llama-cpp's model.tokenize(text, specialTokens) is common_tokenize(vocab, text, add_special =
 * false, parse_special = specialTokens) (llama/addon/AddonModel.cpp).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { llamaVocabCases } from "../helpers/llama-src.js";
import { idMismatches, llamaVocab, pieceMismatches, textParity, vocabStateMismatches } from "../helpers/vocab-oracle.js";
import type { UgmTokenizer } from "../../src/tokenizer/ugm.js";
import { ugmReference } from "./ugm-reference.js";
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

const v = llamaVocab(VOCAB, true);

test("vocabulary state equals llama.cpp's: attributes, EOG set, special ids", () => {
  const { ours, ref } = v;
  assert.equal(ours.vocab.type, "ugm");
  assert.equal(ours.nVocab, 250048);
  assert.equal(vocabStateMismatches(ours, ref), 0);
  assert.deepEqual([ours.special.bos, ours.special.eos, ours.special.unk], [ref.tokens.bos ?? -1, ref.tokens.eos ?? -1, 3]);
  assert.deepEqual([ours.specialPrefix, ours.specialSuffix], [[0], [2]]);
  assert.ok(ours.vocab.addSpacePrefix && ours.vocab.removeExtraWhitespaces);
});

test("the cases of every llama.cpp .inp file tokenize as llama.cpp does, parse_special on and off", (t) => {
  const { ours, ref } = v;
  const texts = [...new Set(INP_VOCABS.flatMap((v) => llamaVocabCases(v).map((c) => c.text)))];
  const bad = idMismatches(ours, ref, texts, Infinity);
  t.diagnostic(`${texts.length} distinct .inp cases of ${INP_VOCABS.length} files x 2 modes, ${bad.length} mismatches`);
  assert.ok(texts.length >= 45, `only ${texts.length} distinct .inp cases`);
  assert.deepEqual(bad.slice(0, 5), []);
});

test("llama.cpp's test strings, edge cases and the 1,600-text corpus: ids, add_special, detokenize", (t) => {
  const { ours, ref } = v;
  const strings = [...LLAMA_TESTS, ...WPM_EDGE, ...UGM_EDGE, ...CORPUS];
  const bos = ref.tokens.bos!;
  const eos = ref.tokens.eos!;
  const charsmap = (ours as UgmTokenizer).charsmap;
  const {
    compared,
    withUnk: unk,
    bad,
  } = textParity(
    ours,
    ref,
    strings,
    (ids) => [bos, ...ids, eos],
    (text, parseSpecial, got, fail) => {
      const plain = ugmReference(ours.vocab, charsmap, text, false, parseSpecial);
      if (plain.join() !== got.join()) fail(`reference path (parseSpecial=${parseSpecial})`, text, plain, got);
    },
  );
  t.diagnostic(
    `${compared} encodings of ${strings.length} strings (${LLAMA_TESTS.length} llama.cpp tests, ` +
      `${WPM_EDGE.length + UGM_EDGE.length} edge cases, ${CORPUS.length} corpus texts), ${unk} with <unk>, ${bad.length} mismatches`,
  );
  assert.ok(unk > 0, "some strings must need the unknown token");
  assert.deepEqual(bad, []);
});

test("every token's piece equals llama.cpp's (token_to_piece via detokenize, special on and off)", () => {
  const { ours, ref } = v;
  assert.deepEqual(pieceMismatches(ours, ref).slice(0, 10), []);
});
