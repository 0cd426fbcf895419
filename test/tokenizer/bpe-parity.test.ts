/**
 * Byte-level BPE parity with llama.cpp on its own BPE test vocabularies, extracted from node-llama-cpp's
 * llama.cpp bundle at test time (test/helpers/llama-src.ts), one per pre-tokenizer we implement:
 * ggml-vocab-qwen2.gguf (qwen2: the Qwen2/Qwen3 tokens and merges), ggml-vocab-llama-bpe.gguf
 * (llama3 split, ignore_merges, add_bos), ggml-vocab-gpt-2.gguf and ggml-vocab-mpt.gguf (gpt2 split).
 * For each: every case of its .inp/.out parsed and compared as tests/test-tokenizer-0.cpp does
 * (add_special = false, parse_special = false) and also against llama.cpp. The checks of
 * bpe-check.ts on these four files (vocabulary state, test strings + corpus with every flag
 * combination, reference path, detokenize, every token's piece) run in parity/bpe-vocabs.test.ts;
 * npm test runs them on the Qwen3 vocabulary (bpe-qwen3.test.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { llamaSourceFile, llamaVocabCases } from "../helpers/llama-src.js";
import { openBpe } from "./bpe-check.js";

for (const [vocab, pre] of [
  ["qwen2", "qwen2"],
  ["llama-bpe", "llama-bpe"],
  ["gpt-2", "gpt-2"],
  ["mpt", "mpt"],
]) {
  const file = `ggml-vocab-${vocab}.gguf`;
  test(`${file}: every .inp/.out case, as test-tokenizer-0 runs them, and llama.cpp's ids`, async (t) => {
    const path = llamaSourceFile(`models/${file}`);
    const { ours, llama, close } = await openBpe(path);
    try {
      assert.equal(ours.vocab.type, "bpe");
      assert.equal(ours.vocab.pre, pre);
      const cases = llamaVocabCases(file);
      const bad: string[] = [];
      for (const { text, ids } of cases) {
        const got = ours.encode(text, { addSpecial: false, parseSpecial: false });
        if (got.join() !== ids.join()) bad.push(`.out: ${JSON.stringify(text)}: want ${ids} got ${got}`);
        const want = llama(text, false);
        if (got.join() !== want.join()) bad.push(`llama.cpp: ${JSON.stringify(text)}: want ${want} got ${got}`);
      }
      t.diagnostic(`${cases.length} cases, ${bad.length} mismatches`);
      assert.ok(cases.length > 30);
      assert.deepEqual(bad, []);
    } finally {
      await close();
    }
  });
}
