/**
 * The slow half of test/tokenizer/bpe-parity.test.ts (`npm run test:parity`): the checks of
 * bpe-check.ts (vocabulary state, llama.cpp's test strings + edge strings + the mixed-script corpus
 * with every flag combination, reference path, detokenize, every token's piece) on llama.cpp's BPE
 * test vocabularies, one per pre-tokenizer we implement. npm test runs the same checks on the Qwen3
 * vocabulary (test/tokenizer/bpe-qwen3.test.ts) and the .inp/.out cases of all four.
 */
import { test } from "node:test";
import { llamaSourceFile } from "../test/helpers/llama-src.js";
import { checkBpeParity } from "../test/tokenizer/bpe-check.js";

for (const vocab of ["qwen2", "llama-bpe", "gpt-2", "mpt"]) {
  const file = `ggml-vocab-${vocab}.gguf`;
  test(`${file}: vocabulary state, test strings and corpus (all flags), reference path, detokenize, every piece`, async (t) => {
    t.diagnostic(await checkBpeParity(llamaSourceFile(`models/${file}`)));
  });
}
