/**
 * The wasm backend's element-wise ops (src/kernels/wasm/norm.as) vs ops.ts, bit for bit, on 1 and
 * 2 threads: rmsNormRows (1-9 rows, and enough rows for the thread split; in place and not) and
 * geglu (special values, both sides of ±10, fp16 subnormal range, NaN, the thread split); and
 * the in-place path, where the buffers are views of backend.activations() (the forward pass).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { numericsByName } from "../../src/kernels/numerics.js";
import { geglu, rmsNormRows } from "../../src/kernels/ops.js";
import { createWasmBackend } from "../../src/kernels/wasm.js";

const numerics = numericsByName("avx512");

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

for (const threads of [1, 2]) {
  test(`wasm rmsNormRows = ops.ts rmsNormRows bit for bit, ${threads} thread(s)`, async () => {
    const be = await createWasmBackend({ numerics, threads });
    try {
      const r = rng(3 + threads);
      for (const [n, rowCounts] of [
        [5, [1, 2, 3]],
        [256, [1, 3, 4, 5, 9, 40]],
        [768, [1, 4, 7, 8, 33]],
      ] as const) {
        for (const rows of rowCounts) {
          const x = new Float32Array(rows * n + 2).map(() => (r() * 2 - 1) * 10 ** Math.floor(r() * 8 - 4));
          const g = new Float32Array(n).map(() => r() * 2 - 0.5);
          const eps = Math.fround(1e-6);
          const want = new Float32Array(x.length),
            got = new Float32Array(x.length);
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
    const be = await createWasmBackend({ numerics, threads });
    try {
      const r = rng(9 + threads);
      const specials = [
        0,
        -0,
        10,
        -10,
        9.999999,
        -9.999999,
        6.1e-5,
        -6.1e-5,
        3e-8,
        2 ** -25,
        2 ** -24,
        1e-40,
        NaN,
        Infinity,
        -Infinity,
        65504,
        1e5,
      ];
      for (const n of [1, 7, 100, 5000, 20000]) {
        const gate = new Float32Array(n).map((_, i) => (i < specials.length ? specials[i]! : (r() * 2 - 1) * 10 ** (r() * 3 - 1.5)));
        const up = new Float32Array(n).map(() => (r() * 2 - 1) * 3);
        const want = new Float32Array(n),
          got = new Float32Array(n);
        geglu(gate, up, want, n);
        be.geglu(gate, up, got, n);
        assert.deepEqual(got, want, `n ${n}`);
      }
    } finally {
      await be.close();
    }
  });
}

test("in place: rmsNormRows, geglu, attention and matmul on backend.activations() views equal the copying path and ops.ts", async () => {
  const { attention } = await import("../../src/kernels/ops.js");
  const { createJsBackend } = await import("../../src/kernels/js-backend.js");
  const { quantizeRows } = await import("../../src/quant/index.js");
  const { GGMLType } = await import("../../src/tensor/ggml-type.js");
  const be = await createWasmBackend({ numerics, threads: 2 });
  try {
    const r = rng(21);
    const n = 256,
      rows = 12,
      T = 12,
      hd = 64,
      nHead = 2;
    const arena = be.activations(rows * n * 4 + T * nHead * hd * 3 + 64 * 256 * 2);
    let at = 0;
    const take = (k: number) => arena.subarray(at, (at += k));
    const x = take(rows * n),
      y = take(rows * n),
      gate = take(rows * n),
      up = take(rows * n);
    x.set(new Float32Array(rows * n).map(() => r() * 4 - 2));
    gate.set(new Float32Array(rows * n).map(() => r() * 24 - 12));
    up.set(new Float32Array(rows * n).map(() => r() * 2 - 1));
    const g = new Float32Array(n).map(() => r());
    const want = new Float32Array(rows * n);
    rmsNormRows(x, 0, want, 0, n, rows, g, 1e-6);
    be.rmsNormRows(x, 0, y, 0, n, rows, g, 1e-6);
    assert.deepEqual(y, want);
    const wantG = new Float32Array(rows * n);
    geglu(gate, up, wantG, rows * n);
    be.geglu(gate, up, y, rows * n);
    assert.deepEqual(y, wantG);
    const q = take(T * nHead * hd),
      kv = take(T * nHead * hd),
      o = take(T * nHead * hd);
    q.set(new Float32Array(q.length).map(() => r() - 0.5));
    kv.set(new Float32Array(kv.length).map(() => r() * 2 - 1));
    const wantO = new Float32Array(o.length);
    attention(numerics, q, kv, kv, wantO, T, nHead, nHead, hd, Infinity);
    be.attention(q, kv, kv, o, T, nHead, nHead, hd, Infinity);
    assert.deepEqual(o, wantO);
    const w = quantizeRows(
      GGMLType.Q8_0,
      new Float32Array(256 * 64).map(() => r() - 0.5),
      256,
    );
    const wm = be.alloc(w.length);
    wm.set(w);
    const xs = take(64 * 256).subarray(0, T * 256),
      os = take(64 * 256).subarray(0, T * 64);
    xs.set(new Float32Array(T * 256).map(() => r() * 2 - 1));
    const wantM = new Float32Array(T * 64);
    createJsBackend(numerics).matmul({ name: "w", type: GGMLType.Q8_0, ne0: 256, ne1: 64, data: w }, xs, T, wantM);
    be.matmul({ name: "w", type: GGMLType.Q8_0, ne0: 256, ne1: 64, data: wm }, xs, T, os);
    assert.deepEqual(os, wantM);
  } finally {
    await be.close();
  }
});
