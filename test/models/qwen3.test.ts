/**
 * Qwen3 (Qwen3-Embedding shape) vs llama.cpp (node-llama-cpp, flash attention off), same token
 * ids, LAST pooling, both L2-normalized, in the numerics profile of the CPU variant node-llama-cpp
 * loaded here (test/helpers/variants.ts). 4 layers at the 0.6B width (1024, 16 Q / 8 KV heads of
 * 128, FF 3072) with the real Qwen3 vocabulary; attention runs through llama.cpp's f16 KV cache
 * (kernels/attn-kv-f16.ts). F16, Q4_K_M-style, the js backend, 2000 tokens and the 28-layer model:
 * parity/qwen3.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadModel } from "../../src/node.js";
import { qwen3Fixture } from "../helpers/fixtures.js";
import { qwen3Inputs } from "../helpers/qwen3-inputs.js";
import { assertParity } from "../helpers/parity.js";
import { disposeModel, llamaModel } from "../helpers/llama.js";
import { llamaVariant } from "../helpers/variants.js";

// npm test keeps one weight type (fixtures of the 151,669-token vocabulary at the 0.6B width take
// minutes to generate); parity/qwen3.test.ts runs F16, the Q4_K_M-style mix and the js backend at
// 2/10/100/500 tokens too (QWEN3_SMALL=0 leaves them out there).
const CASES: { type: string; embdType?: string; lengths: number[]; backend?: "js" }[] = [{ type: "Q8_0", lengths: [2, 10, 100, 500] }];

for (const c of CASES) {
  test(`qwen3 4-layer ${c.type} [${c.backend ?? "auto"}]: 1 - cos <= 1e-6 vs llama.cpp at ${c.lengths.join("/")} tokens`, async () => {
    const path = await qwen3Fixture({ nLayer: 4, weightType: c.type, embdType: c.embdType });
    const { numerics } = await llamaVariant();
    const model = await loadModel(path, { numerics: numerics.name, threads: 2, backend: c.backend });
    try {
      assert.equal(model.info.architecture, "qwen3");
      const res = await assertParity(path, model, qwen3Inputs(model, c.lengths), 1e-6);
      console.log(
        `# qwen3 ${c.type} [${model.info.backend}; numerics ${numerics.name}]: ${res.map((r) => `${r.length}t ${r.oneMinusCos.toExponential(1)}`).join(", ")}`,
      );
    } finally {
      await model.close();
      await disposeModel(path);
    }
  });
}

test('qwen3 text pipeline: "Hello world!" -> [9707, 1879, 0] + EOS 151643, as llama.cpp tokenizes it, and the same vector', async () => {
  const path = await qwen3Fixture({ nLayer: 4, weightType: "Q8_0" });
  const { numerics } = await llamaVariant();
  const model = await loadModel(path, { numerics: numerics.name, threads: 2 });
  try {
    const ids = Array.from(model.tokenizer.encode("Hello world!", { addSpecial: true, parseSpecial: true }));
    assert.deepEqual(ids, [9707, 1879, 0, 151643]);
    const ref = (await llamaModel(path)).tokenize("Hello world!", true);
    assert.deepEqual(ids.slice(0, -1), Array.from(ref as number[]), "llama.cpp's tokens (node-llama-cpp appends EOS when embedding)");
    const [fromText] = await model.embed(["Hello world!"], { normalize: "l2" });
    const [fromIds] = await model.embed([ids], { normalize: "l2" });
    assert.deepEqual(Array.from(fromText!), Array.from(fromIds!));
    await assertParity(path, model, [ids], 1e-6);
  } finally {
    await model.close();
    await disposeModel(path);
  }
});
