/**
 * The full llama.cpp parity matrix (slow; `npm run test:parity`): 6-layer full-width synthetic
 * EmbeddingGemma models of every weight type, with and without dense_2/dense_3, at ~1 to 2048
 * tokens, 1 - cos <= 1e-6; and the full 24-layer well-conditioned model (post-norm weights 0.1)
 * at 1e-5 for Q8_0 and F16. Both sides get the same token ids, flash attention off, mean pooling,
 * L2-normalized, in the numerics profile of the CPU variant node-llama-cpp loaded here (its name is
 * printed). Narrow it with PARITY_TYPES=Q8_0,F16 PARITY_LENGTHS=10,300 PARITY_FULL_TYPES=Q8_0
 * PARITY_FULL_LENGTHS=10,300 PARITY_BACKEND=wasm.
 */
import { test } from "node:test";
import { loadModel } from "../src/node.js";
import { gemmaFixture } from "../test/helpers/fixtures.js";
import { assertParity, inputsOfLengths } from "../test/helpers/parity.js";
import { disposeModel } from "../test/helpers/llama.js";
import { llamaVariant } from "../test/helpers/variants.js";

const env = (k: string, d: string) => (process.env[k] ?? d).split(",").filter(Boolean);
const TYPES = env("PARITY_TYPES", "F32,F16,BF16,Q8_0,Q4_0,Q4_1,Q5_0,Q5_1,Q4_K,Q5_K,Q6_K");
const LENGTHS = env("PARITY_LENGTHS", "2,10,100,300,1000,2048").map(Number);
const BACKEND = (process.env.PARITY_BACKEND ?? "js") as "js" | "wasm";
const THREADS = Number(process.env.PARITY_THREADS ?? 2);

for (const type of TYPES) {
  for (const dense of [false, true]) {
    test(`6-layer ${type}${dense ? " +dense" : ""}: 1 - cos <= 1e-6 at ${LENGTHS.join("/")} tokens`, async () => {
      const path = await gemmaFixture({ nLayer: 6, weightType: type, dense });
      const model = await loadModel(path, { backend: BACKEND, threads: THREADS, numerics: (await llamaVariant()).numerics.name });
      try {
        const res = await assertParity(path, model, inputsOfLengths(model, LENGTHS), 1e-6, THREADS);
        console.log(
          `# ${type}${dense ? "+dense" : ""} [${BACKEND}, ${model.info.numerics.name}]: ${res.map((r) => `${r.length}t ${r.oneMinusCos.toExponential(1)}`).join(", ")}`,
        );
      } finally {
        await model.close();
        await disposeModel(path);
      }
    });
  }
}

for (const type of env("PARITY_FULL_TYPES", "Q8_0,F16")) {
  test(`24-layer well-conditioned ${type} +dense: 1 - cos <= 1e-5`, async () => {
    const path = await gemmaFixture({ nLayer: 24, weightType: type, dense: true, postNormScale: 0.1 });
    const model = await loadModel(path, { backend: BACKEND, threads: THREADS, numerics: (await llamaVariant()).numerics.name });
    try {
      const res = await assertParity(
        path,
        model,
        inputsOfLengths(model, env("PARITY_FULL_LENGTHS", "2,10,100,300").map(Number)),
        1e-5,
        THREADS,
      );
      console.log(
        `# 24L ${type} [${BACKEND}, ${model.info.numerics.name}]: ${res.map((r) => `${r.length}t ${r.oneMinusCos.toExponential(1)}`).join(", ")}`,
      );
    } finally {
      await model.close();
      await disposeModel(path);
    }
  });
}
