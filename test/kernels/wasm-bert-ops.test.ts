/**
 * The wasm backend on the BERT-family ops, bit for bit against the TypeScript reference:
 * attention with soft_max_ext's kq_scale inside the softmax (wasm/attention.as and, where the
 * runtime has relaxed SIMD and its self-check passes, attention-relaxed.as), BERT head layouts,
 * 1 and 2 threads; and LayerNorm / GELU / SwiGLU, which the wasm backend runs in the reference
 * (listed in referenceOnly, so model.info.numerics.reference names them).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { numericsByName } from "../../src/kernels/numerics.js";
import { attention } from "../../src/kernels/ops.js";
import { createWasmBackend } from "../../src/kernels/wasm.js";

function values(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1) * scale;
  return v;
}

// T, nHead, hd: MiniLM 12 x 32, BERT-base/nomic 12 x 64, XLM-R 16 x 64; T on and off multiples of 16
const CASES: Array<[number, number, number]> = [
  [2, 12, 32],
  [10, 12, 32],
  [64, 12, 32],
  [100, 12, 64],
  [37, 16, 64],
  [48, 4, 64],
];

for (const relaxedSimd of [false, "auto"] as const)
  for (const threads of [1, 2]) {
    const simd = relaxedSimd === false ? "baseline" : "relaxed where available";
    test(`wasm attention with kq_scale = 1/sqrt(hd) equals ops.ts bit for bit (${simd}, ${threads} thread(s))`, async () => {
      const nx = numericsByName("avx512");
      const be = await createWasmBackend({ numerics: nx, threads, relaxedSimd });
      try {
        assert.notEqual(be.attentionKernel, "reference");
        for (const [T, nHead, hd] of CASES) {
          const scale = Math.fround(1 / Math.fround(Math.sqrt(hd)));
          const q = values(T * nHead * hd, T, 1.5),
            k = values(T * nHead * hd, T + 1, 1.5),
            v = values(T * nHead * hd, T + 2, 1);
          const ref = new Float32Array(q.length),
            got = new Float32Array(q.length).fill(NaN),
            unscaled = new Float32Array(q.length);
          attention(nx, q, k, v, ref, T, nHead, nHead, hd, Infinity, scale);
          be.attention(q, k, v, got, T, nHead, nHead, hd, Infinity, scale);
          let neq = 0;
          for (let i = 0; i < ref.length; i++) if (!Object.is(ref[i], got[i])) neq++;
          assert.equal(neq, 0, `T ${T} ${nHead}x${hd} (${be.attentionKernel}): ${neq} of ${ref.length} outputs differ`);
          attention(nx, q, k, v, unscaled, T, nHead, nHead, hd, Infinity);
          if (T > 1) assert.notDeepEqual(unscaled, ref, "the scale must change the result");
        }
      } finally {
        await be.close();
      }
    });
  }

test("wasm backend: LayerNorm, GELU and SwiGLU run the reference (bit for bit) and are listed in referenceOnly", async () => {
  const nx = numericsByName("avx512");
  const be = await createWasmBackend({ numerics: nx, threads: 2, relaxedSimd: false });
  const { createJsBackend } = await import("../../src/kernels/js-backend.js");
  const js = createJsBackend(nx);
  try {
    for (const op of ["norm", "gelu", "swiglu"]) assert.ok(be.referenceOnly.has(op), op);
    const x = values(3 * 384, 9, 3),
      up = values(3 * 384, 10, 2);
    const a = new Float32Array(x.length),
      b = new Float32Array(x.length);
    be.normRows(x, 0, a, 0, 384, 3, 1e-12);
    js.normRows(x, 0, b, 0, 384, 3, 1e-12);
    assert.deepEqual(a, b);
    be.gelu(x, a, x.length);
    js.gelu(x, b, x.length);
    assert.deepEqual(a, b);
    be.swiglu(x, up, a, 3, 384);
    js.swiglu(x, up, b, 3, 384);
    assert.deepEqual(a, b);
  } finally {
    await be.close();
  }
});
