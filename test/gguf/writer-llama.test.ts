/**
 * llama.cpp loads the files our GGUF writer produces, for every tensor type we can write
 * (issue: foundation). One small gemma-embedding model (6 layers, width 256, the real vocabulary,
 * token_embd Q8_0) carries the 15 matmul-capable types, one per weight matrix; llama.cpp and we
 * embed the same tokens and must agree to 1 - cos <= 1e-6. Q8_K, which ggml cannot use as a matmul
 * weight, gets a file of its own that llama.cpp must load.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadModel } from "../../src/node.js";
import { gemmaFixture } from "../helpers/fixtures.js";
import { disposeModel, l2normalize, llamaEmbed, llamaModel, oneMinusCos } from "../helpers/llama.js";

const TYPES = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"];
const MATRICES = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"];
const small = { nLayer: 6, nEmbd: 256, nHead: 1, nHeadKv: 1, headDim: 256, nFf: 512, embdType: "Q8_0", seed: 7 };

test(`llama.cpp loads one file holding ${TYPES.join(", ")} and computes the same embedding`, async () => {
  // type i goes to matrix i % 7 of layer floor(i / 7); the rest stay Q8_0
  const typeOverrides = Object.fromEntries(
    TYPES.map((t, i) => [`^blk\\.${Math.floor(i / MATRICES.length)}\\.${MATRICES[i % MATRICES.length]}\\.`, t]),
  );
  const path = await gemmaFixture({ ...small, weightType: "Q8_0", typeOverrides });
  try {
    const lm = await llamaModel(path);
    assert.equal(lm.fileInfo.metadata.general.architecture, "gemma-embedding");
    const model = await loadModel(path);
    try {
      assert.deepEqual(Object.keys(model.info.tensorTypes).sort(), [...TYPES].sort(), "every type is in the file");
      for (const tokens of [
        [2, 9259, 1902, 1],
        [2, ...Array.from({ length: 40 }, (_, i) => 1000 + 97 * i), 1],
      ]) {
        const [ref] = await llamaEmbed(path, [tokens]);
        const [ours] = await model.embed([tokens]);
        const d = oneMinusCos(ours, l2normalize(ref));
        assert.ok(d <= 1e-6, `${tokens.length} tokens: 1 - cos = ${d}`);
      }
    } finally {
      await model.close();
    }
  } finally {
    await disposeModel(path);
  }
});

test("llama.cpp loads a Q8_K file written by our writer", async () => {
  const path = await gemmaFixture({ ...small, weightType: "Q8_K" });
  try {
    const lm = await llamaModel(path);
    assert.equal(lm.fileInfo.metadata.general.architecture, "gemma-embedding");
    const model = await loadModel(path);
    assert.equal(model.info.tensorTypes.Q8_K, 42);
    await model.close();
  } finally {
    await disposeModel(path);
  }
});
