/**
 * The wasm backend's element-wise ops (src/kernels/wasm/norm.as) vs ops.ts, bit for bit, on 1 and
 * 2 threads: rmsNormRows (1-9 rows, and enough rows for the thread split; in place and not) and
 * geglu (special values, both sides of ±10, fp16 subnormal range, NaN, the thread split).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { geglu, rmsNormRows } from "../src/kernels/ops.js";
import { createWasmBackend } from "../src/kernels/wasm.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

for (const threads of [1, 2]) {
  test(`wasm rmsNormRows = ops.ts rmsNormRows bit for bit, ${threads} thread(s)`, async () => {
    const be = await createWasmBackend({ threads });
    try {
      const r = rng(3 + threads);
      for (const [n, rowCounts] of [[5, [1, 2, 3]], [256, [1, 3, 4, 5, 9, 40]], [768, [1, 4, 7, 8, 33]]] as const) {
        for (const rows of rowCounts) {
          const x = new Float32Array(rows * n + 2).map(() => (r() * 2 - 1) * 10 ** Math.floor(r() * 8 - 4));
          const g = new Float32Array(n).map(() => r() * 2 - 0.5);
          const eps = Math.fround(1e-6);
          const want = new Float32Array(x.length), got = new Float32Array(x.length);
          rmsNormRows(x, 2, want, 2, n, rows, g, eps);
          be.rmsNormRows(x, 2, got, 2, n, rows, g, eps);
          assert.deepEqual(got, want, `n ${n}, rows ${rows}`);
          const inPlace = x.slice();
          be.rmsNormRows(inPlace, 2, inPlace, 2, n, rows, g, eps);
          assert.deepEqual(inPlace.subarray(2), want.subarray(2), `in place, n ${n}, rows ${rows}`);
        }
      }
    } finally {
      await be.close();
    }
  });

  test(`wasm geglu = ops.ts geglu bit for bit, ${threads} thread(s)`, async () => {
    const be = await createWasmBackend({ threads });
    try {
      const r = rng(9 + threads);
      const specials = [0, -0, 10, -10, 9.999999, -9.999999, 6.1e-5, -6.1e-5, 3e-8, 2 ** -25, 2 ** -24, 1e-40, NaN, Infinity, -Infinity, 65504, 1e5];
      for (const n of [1, 7, 100, 5000, 20000]) {
        const gate = new Float32Array(n).map((_, i) => (i < specials.length ? specials[i]! : (r() * 2 - 1) * 10 ** (r() * 3 - 1.5)));
        const up = new Float32Array(n).map(() => (r() * 2 - 1) * 3);
        const want = new Float32Array(n), got = new Float32Array(n);
        geglu(gate, up, want, n);
        be.geglu(gate, up, got, n);
        assert.deepEqual(got, want, `n ${n}`);
      }
    } finally {
      await be.close();
    }
  });
}
