/**
 * The fast JS paths of src/kernels/ops.ts against their plain versions, bit for bit:
 *   - rmsNormRows (four rows' sum chains interleaved) vs rmsNorm row by row;
 *   - geglu, whose fp16 index comes from fp16FromF32Bits (branch-free rounding of the normal
 *     range), vs the same table indexed by the branchy round-to-nearest-even below (the
 *     conversion's earlier form). An exhaustive run over all 2^32 f32 patterns found no
 *     difference; here every pattern near the normal range's bounds and 2^21 random ones.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { geglu, geluFp16Table, rmsNorm, rmsNormRows } from "../../src/kernels/ops.js";

/** fp16 bits of the f32 with bit pattern `bits`, nearest-even with a branch on the dropped bits. */
function fp16Branchy(bits: number): number {
  const sign = (bits >>> 16) & 0x8000,
    exp = (bits >>> 23) & 0xff,
    mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | (mant !== 0 ? 0x7e00 : 0x7c00);
  if (exp >= 143) return sign | 0x7c00;
  if (exp >= 113) {
    let h = ((exp - 112) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) !== 0)) h++;
    return sign | h;
  }
  if (exp < 102) return sign;
  const sig = mant | 0x800000,
    shift = 126 - exp;
  let h = sig >>> shift;
  const rest = sig & ((1 << shift) - 1),
    half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) !== 0)) h++;
  return sign | h;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

test("rmsNormRows equals rmsNorm row by row (1-9 rows, in place and not, wide value ranges)", () => {
  const r = rng(7);
  for (const n of [5, 256, 768]) {
    for (let rows = 1; rows <= 9; rows++) {
      const x = new Float32Array(rows * n + 3).map(() => (r() * 2 - 1) * 10 ** Math.floor(r() * 8 - 4));
      const g = new Float32Array(n).map(() => r() * 2);
      const want = new Float32Array(x.length);
      for (let i = 0; i < rows; i++) rmsNorm(x, 3 + i * n, want, 3 + i * n, n, g, 1e-6);
      const got = new Float32Array(x.length);
      rmsNormRows(x, 3, got, 3, n, rows, g, 1e-6);
      assert.deepEqual(got, want, `n ${n}, rows ${rows}`);
      const inPlace = x.slice();
      rmsNormRows(inPlace, 3, inPlace, 3, n, rows, g, 1e-6);
      assert.deepEqual(inPlace.subarray(3), want.subarray(3), `in place, n ${n}, rows ${rows}`);
    }
  }
});

test("geglu's fp16 table index equals a branchy nearest-even conversion (bounds of the normal range, 2^21 random patterns, NaN)", () => {
  const table = geluFp16Table();
  const bits: number[] = [];
  // around 2^-14 (0x38800000), 2^16 (0x47800000), ±10, 0, and the fp16 rounding ties
  for (const c of [0x38800000, 0x47800000, 0x41200000, 0, 0x38000000, 0x33000000, 0x3f801000, 0x3f803000]) {
    for (let d = -4096; d <= 4096; d++) bits.push((c + d) >>> 0, ((c + d) | 0x80000000) >>> 0);
  }
  const r = rng(11);
  for (let i = 0; i < 1 << 21; i++) bits.push(Math.floor(r() * 2 ** 32) >>> 0);
  bits.push(0x7fc00000, 0xffc00000, 0x7f800000);
  const gate = new Float32Array(new Uint32Array(bits).buffer),
    up = new Float32Array(bits.length).fill(1);
  const out = new Float32Array(bits.length);
  geglu(gate, up, out, bits.length);
  let bad = 0;
  for (let i = 0; i < bits.length; i++) {
    const g = gate[i]!;
    const y = g <= -10 ? 0 : g >= 10 ? g : table[fp16Branchy(bits[i]!)]!;
    if (!Object.is(Math.fround(y), out[i]!) && !(Number.isNaN(y) && Number.isNaN(out[i]!))) bad++;
  }
  assert.equal(bad, 0, `${bad} of ${bits.length} differ`);
});
