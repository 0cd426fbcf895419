/**
 * EmbeddingGemma forward pass vs llama.cpp (node-llama-cpp, flash attention off), same token ids,
 * mean pooling, both L2-normalized, in the numerics profile of the CPU variant node-llama-cpp
 * loaded on this machine (test/helpers/variants.ts). This is the quick subset that runs in
 * `npm test`; the full matrix (every type x dense x lengths up to 2048, and 24 layers) is
 * `npm run test:parity`; other profiles against their own variant libraries: profiles.test.ts.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { loadModel } from "../../src/node.js";
import { gemmaFixture, NARROW_GEMMA } from "../helpers/fixtures.js";
import { assertParity, inputsOfLengths } from "../helpers/parity.js";
import { disposeModel } from "../helpers/llama.js";
import { llamaVariant } from "../helpers/variants.js";

/** K-quant token_embd tables take minutes to quantize in JS; their rows are covered by the quant tests and the full parity suite. */
// Each case runs on the default backend (auto = wasm, 2 threads, relaxed SIMD where available: the
// Node entry turns V8's flag on); Q8_0 also on wasm with one thread, on baseline SIMD, and on the
// js reference path, those three at fewer lengths (a run's `lengths`; the js path is the slow one).
type Run = { backend: "auto" | "js" | "wasm"; threads?: number; relaxedSimd?: boolean; lengths?: number[] };
const CASES: { type: string; dense: boolean; lengths: number[]; embdType?: string; runs: Run[] }[] = [
  {
    type: "Q8_0",
    dense: true,
    lengths: [2, 10, 100, 300],
    runs: [
      { backend: "auto", threads: 2 },
      { backend: "wasm", threads: 1, lengths: [10, 100] },
      { backend: "wasm", threads: 2, relaxedSimd: false, lengths: [10, 100] },
      { backend: "js", lengths: [2, 100] },
    ],
  },
  { type: "Q4_K", dense: false, lengths: [10, 100], embdType: "Q8_0", runs: [{ backend: "auto", threads: 2 }] },
  { type: "Q4_0", dense: true, lengths: [10, 100], runs: [{ backend: "auto", threads: 2 }] },
  { type: "F16", dense: true, lengths: [10], runs: [{ backend: "auto", threads: 2 }] },
];

for (const c of CASES)
  for (const run of c.runs) {
    const lengths = run.lengths ?? c.lengths;
    const label = `${run.backend}${run.threads ? `, ${run.threads} thread(s)` : ""}${run.relaxedSimd === false ? ", baseline SIMD" : ""}`;
    test(`6-layer ${c.type}${c.dense ? " +dense" : ""} [${label}]: 1 - cos <= 1e-6 vs llama.cpp at ${lengths.join("/")} tokens`, async () => {
      const path = await gemmaFixture({ nLayer: 6, weightType: c.type, dense: c.dense, embdType: c.embdType });
      const { numerics } = await llamaVariant();
      const model = await loadModel(path, { ...run, numerics: numerics.name });
      try {
        assert.equal(model.info.numerics.name, numerics.name);
        assert.equal(model.info.dense, c.dense);
        assert.equal(model.info.backend, run.backend === "js" ? "js" : "wasm");
        if (run.relaxedSimd === false) assert.equal(model.info.simd, "baseline");
        const res = await assertParity(path, model, inputsOfLengths(model, lengths), 1e-6, run.threads);
        const ref = model.info.numerics.reference?.length ? `; reference for ${model.info.numerics.reference.join(", ")}` : "";
        console.log(
          `# ${c.type}${c.dense ? "+dense" : ""} [${label}${model.info.simd ? `; ran ${model.info.simd} SIMD` : ""}; numerics ${numerics.name}${ref}]: ${res.map((r) => `${r.length}t ${r.oneMinusCos.toExponential(1)}`).join(", ")}`,
        );
      } finally {
        await model.close();
        await disposeModel(path);
      }
    });
  }

test('numerics "auto" picks the profile of the variant llama.cpp loaded on this CPU', async () => {
  const path = await gemmaFixture({ nLayer: 6, weightType: "Q8_0", dense: true });
  const { variant, numerics } = await llamaVariant();
  const model = await loadModel(path, { backend: "js" });
  try {
    assert.equal(model.info.numerics.source, "cpu");
    assert.equal(model.info.numerics.detected, variant, "our reading of the CPU flags names the variant llama.cpp loaded");
    assert.equal(model.info.numerics.name, numerics.name);
  } finally {
    await model.close();
  }
});

after(() => {});

test("attention.sliding_window_pattern (a period, or per-layer BOOLs) decides which layers are local, as in llama.cpp", async () => {
  const { numerics } = await llamaVariant();
  const results: number[][] = [];
  for (const swaPattern of [undefined, 2, [true, false, false, true, true, false]] as const) {
    // a window of ±4 tokens, so at 40 tokens a local layer and a global one differ
    const path = await gemmaFixture({ ...NARROW_GEMMA, nSwa: 8, swaPattern: swaPattern as number | boolean[] | undefined });
    const model = await loadModel(path, { numerics: numerics.name, threads: 2 });
    try {
      const ids = inputsOfLengths(model, [40]);
      await assertParity(path, model, ids, 1e-6);
      results.push(Array.from((await model.embed(ids))[0]!));
    } finally {
      await model.close();
      await disposeModel(path);
    }
  }
  assert.notDeepEqual(results[1], results[0], "period 2 should differ from the default period 6");
  assert.notDeepEqual(results[2], results[0], "the per-layer pattern should differ from the default");
});
