/**
 * Slow qwen3 parity (`npm run test:parity`): the 4-layer 0.6B-width model at 2000 tokens for
 * Q8_0, F16 and the Q4_K_M-style mix (1 - cos <= 1e-6), and the full 28-layer model made
 * well-conditioned (attn_output and ffn_down std × 0.1: Qwen3 has no post-norms) at 300 tokens
 * (<= 1e-5). Same ids on both sides, flash attention off, LAST pooling, the profile of the
 * variant node-llama-cpp loaded here. Narrow with QWEN3_TYPES=Q8_0 QWEN3_FULL=0.
 */
import { test } from "node:test";
import { loadModel } from "../src/node.js";
import { qwen3Fixture } from "../test/helpers/fixtures.js";
import { assertParity } from "../test/helpers/parity.js";
import { disposeModel } from "../test/helpers/llama.js";
import { qwen3Inputs } from "../test/helpers/qwen3-inputs.js";
import { llamaVariant } from "../test/helpers/variants.js";

const TYPES = (process.env.QWEN3_TYPES ?? "Q8_0,F16,Q4_K_M").split(",").filter(Boolean);

async function run(nLayer: number, type: string, lengths: number[], tol: number, downScale?: number, backend?: "js"): Promise<void> {
  const path = await qwen3Fixture({ nLayer, weightType: type, embdType: type === "Q4_K_M" ? "Q8_0" : undefined, downScale });
  const { numerics } = await llamaVariant();
  const model = await loadModel(path, { numerics: numerics.name, threads: 2, backend });
  try {
    const res = await assertParity(path, model, qwen3Inputs(model, lengths), tol);
    const cos = res.map((r) => `${r.length}t ${r.oneMinusCos.toExponential(1)}`).join(", ");
    const secs = `ours ${(res[0]!.oursMs / 1000).toFixed(1)} s, llama.cpp ${(res[0]!.refMs / 1000).toFixed(1)} s`;
    console.log(`# qwen3 ${nLayer}L ${type} [${model.info.backend}; ${numerics.name}]: ${cos} (${secs})`);
  } finally {
    await model.close();
    await disposeModel(path);
  }
}

for (const type of TYPES) {
  test(`qwen3 4-layer ${type}: 1 - cos <= 1e-6 at 2000 tokens`, () => run(4, type, [2000], 1e-6));
}
// what test/models/qwen3.test.ts leaves to this suite: the other weight types and the js backend at short lengths
if (process.env.QWEN3_SMALL !== "0") {
  for (const type of TYPES.filter((t) => t !== "Q8_0")) {
    test(`qwen3 4-layer ${type}: 1 - cos <= 1e-6 at 2/10/100/500 tokens`, () => run(4, type, [2, 10, 100, 500], 1e-6));
  }
  test("qwen3 4-layer Q8_0 [js backend]: 1 - cos <= 1e-6 at 2/100 tokens", () => run(4, "Q8_0", [2, 100], 1e-6, undefined, "js"));
}
if (process.env.QWEN3_FULL !== "0") {
  test("qwen3 28-layer Q8_0, well-conditioned (down-scale 0.1): 1 - cos <= 1e-5 at 300 tokens", () => run(28, "Q8_0", [300], 1e-5, 0.1));
}
