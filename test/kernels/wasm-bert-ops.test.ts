/**
 * The wasm backend on the BERT-family ops, bit for bit against the TypeScript reference:
 * attention with soft_max_ext's kq_scale inside the softmax (wasm/attention.as and, where the
 * runtime has relaxed SIMD and its self-check passes, attention-relaxed.as), BERT head layouts,
 * 1 and 2 threads; and LayerNorm / GELU / SwiGLU (wasm/norm.as) on the 16- and
 * 8-lane profiles, baseline and relaxed, in place and not, on values reaching exp's edges; and the
 * bias / affine / residual adds (wasm/norm.as mulAddRows), staged and in wasm memory.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { numericsByName } from "../../src/kernels/numerics.js";
import { attention, mulAddRows } from "../../src/kernels/ops.js";
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

/** Values with a spread for LayerNorm, and exp's edges for SwiGLU: |x| past 88 and 104 (overflow, subnormal and zero exp), ±0, ±inf, NaN. */
function hostile(n: number, seed: number, scale: number): Float32Array {
  const v = values(n, seed, scale);
  const special = [0, -0, 87.5, -87.5, 89, -89, 103.5, -103.5, 104.2, -104.2, 150, -150, 1e-30, -1e-30, 9.99, -9.99, 10, -10];
  for (let i = 0; i < n; i += 11) v[i] = special[(i / 11) % special.length]!;
  return v;
}

function differing(a: Float32Array, b: Float32Array): number {
  let neq = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) neq++;
  return neq;
}

// [rows, n]: MiniLM / nomic widths, a width with a lane tail (and rows not a multiple of the 4 interleaved ones)
const NORM_SHAPES: Array<[number, number]> = [
  [3, 384],
  [9, 768],
  [7, 100],
  [1, 37],
];
// [rows, nc]: FFN widths, one with a tail past the blocks of 16, one shorter than a block
const GLU_SHAPES: Array<[number, number]> = [
  [5, 1536],
  [3, 3072],
  [4, 200],
  [2, 7],
];

for (const profile of ["avx512", "avx2"])
  for (const relaxedSimd of [false, "auto"] as const)
    for (const threads of [1, 2]) {
      const simd = relaxedSimd === false ? "baseline" : "relaxed where available";
      test(`wasm LayerNorm, GELU and SwiGLU equal the reference bit for bit (${profile}, ${simd}, ${threads} thread(s))`, async () => {
        const nx = numericsByName(profile);
        const be = await createWasmBackend({ numerics: nx, threads, relaxedSimd });
        const { createJsBackend } = await import("../../src/kernels/js-backend.js");
        const js = createJsBackend(nx);
        try {
          // the 8-lane SwiGLU exp (vExpf8) has no wasm kernel: that profile runs the reference and says so
          assert.deepEqual([...be.referenceOnly], profile === "avx2" ? ["swiglu"] : []);
          for (const [rows, n] of NORM_SHAPES) {
            const x = values(rows * n, rows + n, 3).map((v, i) => v + (i % n) * 0.01 - 1);
            for (const eps of [1e-12, 1e-5]) {
              const a = new Float32Array(x.length).fill(NaN),
                b = new Float32Array(x.length);
              be.normRows(x, 0, a, 0, n, rows, eps);
              js.normRows(x, 0, b, 0, n, rows, eps);
              assert.equal(differing(a, b), 0, `norm ${rows} x ${n}, eps ${eps}`);
              const inPlace = x.slice(); // out aliasing x, from an offset
              be.normRows(inPlace, n, inPlace, n, n, rows - 1, eps);
              const ref = x.slice();
              js.normRows(ref, n, ref, n, n, rows - 1, eps);
              assert.equal(differing(inPlace, ref), 0, `norm in place ${rows} x ${n}`);
            }
          }
          for (const [rows, nc] of GLU_SHAPES) {
            const g = hostile(rows * nc, rows * 7 + nc, 12),
              up = values(rows * nc, nc, 2);
            const a = new Float32Array(g.length).fill(NaN),
              b = new Float32Array(g.length);
            be.swiglu(g, up, a, rows, nc);
            js.swiglu(g, up, b, rows, nc);
            assert.equal(differing(a, b), 0, `swiglu ${rows} x ${nc}`);
            be.gelu(g, a, g.length);
            js.gelu(g, b, g.length);
            assert.equal(differing(a, b), 0, `gelu ${rows} x ${nc}`);
            const inPlace = g.slice(); // out aliasing gate
            be.swiglu(inPlace, up, inPlace, rows, nc);
            js.swiglu(g, up, b, rows, nc);
            assert.equal(differing(inPlace, b), 0, `swiglu in place ${rows} x ${nc}`);
          }
        } finally {
          await be.close();
        }
      });
    }

// [rows, n]: a bias or residual over a document's activations (split across threads), a short text, a lane tail
const MUL_ADD_SHAPES: Array<[number, number]> = [
  [20, 768],
  [64, 384],
  [3, 1536],
  [7, 37],
];

for (const relaxedSimd of [false, "auto"] as const)
  for (const threads of [1, 2]) {
    const simd = relaxedSimd === false ? "baseline" : "relaxed where available";
    test(`wasm mulAddRows (bias add, LayerNorm's affine, residual add) equals ops.ts bit for bit (${simd}, ${threads} thread(s))`, async () => {
      const be = await createWasmBackend({ numerics: numericsByName("avx512"), threads, relaxedSimd });
      try {
        for (const [rows, n] of MUL_ADD_SHAPES) {
          const x = hostile(rows * n, rows + n, 40),
            w = hostile(n, n + 1, 3),
            b = hostile(n, n + 2, 50),
            res = hostile(rows * n, n + 3, 60);
          w[1] = 1e-10; // a product below f32's normal range: subnormal results
          for (let mask = 1; mask < 8; mask++) {
            const [ow, ob, or] = [mask & 1 ? w : undefined, mask & 2 ? b : undefined, mask & 4 ? res : undefined];
            const ref = x.slice();
            mulAddRows(ref, rows, n, ow, ob, or);
            assert.notEqual(differing(ref, x), 0, "the op changes its input");
            const got = x.slice(); // a JS array: staged in and out
            be.mulAddRows(got, rows, n, ow, ob, or);
            assert.equal(differing(got, ref), 0, `${rows} x ${n}, operands ${mask}`);
            const arena = be.activations(2 * rows * n); // x and res in wasm memory: read and written in place
            const ax = arena.subarray(0, rows * n),
              ar = arena.subarray(rows * n);
            ax.set(x);
            ar.set(res);
            be.mulAddRows(ax, rows, n, ow, ob, or ? ar : undefined);
            assert.equal(differing(ax, ref), 0, `${rows} x ${n} in wasm memory, operands ${mask}`);
          }
        }
      } finally {
        await be.close();
      }
    });
  }
