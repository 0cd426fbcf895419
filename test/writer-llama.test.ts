/**
 * llama.cpp loads the files our GGUF writer produces, for every tensor type we can write
 * (issue: foundation). Small gemma-embedding models (6 layers, width 256, the real vocabulary;
 * token_embd Q8_0 to keep generation fast) with the matrices in the type under test. Every type
 * but Q8_K (which ggml cannot use as a matmul weight) is also run once by llama.cpp and by us,
 * and the two embeddings must agree to 1 - cos <= 1e-4 (a check on dequantization: the exact
 * per-type numerics are test/model.test.ts's and parity/'s job).
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { loadModel } from "../src/node.js";
import { gemmaFixture } from "./helpers/fixtures.js";
import { disposeModel, l2normalize, llamaEmbed, llamaModel, oneMinusCos } from "./helpers/llama.js";

const TYPES = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ4_NL", "IQ4_XS"];
const small = (weightType: string) => ({ nLayer: 6, nEmbd: 256, nHead: 1, nHeadKv: 1, headDim: 256, nFf: 512, weightType, embdType: "Q8_0", seed: 7 });

for (const type of TYPES) {
  test(`llama.cpp loads a ${type} file written by our writer${type === "Q8_K" ? "" : " and computes the same embedding"}`, async () => {
    const path = await gemmaFixture(small(type));
    const lm = await llamaModel(path);
    try {
      assert.equal(lm.fileInfo.metadata.general.architecture, "gemma-embedding");
      if (type === "Q8_K") return;
      const tokens = [2, 9259, 1902, 1];
      const [ref] = await llamaEmbed(path, [tokens]);
      const model = await loadModel(path);
      try {
        const [ours] = await model.embed([tokens]);
        const d = oneMinusCos(ours, l2normalize(ref));
        assert.ok(d <= 1e-4, `${type}: 1 - cos = ${d}`);
      } finally {
        await model.close();
      }
    } finally {
      await disposeModel(path);
    }
  });
}

after(() => {});
