/**
 * Activation quantization (spec gguf.md §7.2-7.4), checked on hand-made rows: ties, the
 * 127/amax vs 1/fp16(d) distinction, zero rows, the Q8_K sign flip, bsums, F16/BF16.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { quantizeRowBF16Act, quantizeRowF16Act, quantizeRowQ8_0, quantizeRowQ8_1, quantizeRowQ8_K } from "../../src/quant/activation.js";
import { quantizeRowQ8_0Ref, quantizeRowQ8_1Ref } from "../../src/quant/legacy.js";
import { h2f } from "../helpers/spec-decode.js";
import { gaussData } from "../helpers/quant-data.js";

const F = Math.fround;
const i8 = (b: number) => (b << 24) >> 24;
const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const i16 = (b: Uint8Array, o: number) => (u16(b, o) << 16) >> 16;
const f32at = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getFloat32(o, true);
/** Round half to even, written independently. */
function rne(v: number): number {
  const f = Math.floor(v),
    d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

test("Q8_0 (x86): amax 127 makes id = 1, so ties show the rounding: half to even", () => {
  const x = new Float32Array(32);
  x.set([127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49, -126.5, 126.5]);
  const q = new Uint8Array(34);
  quantizeRowQ8_0(x, 0, q, 0, 32);
  assert.equal(u16(q, 0), 0x3c00); // fp16(127/127) = 1
  assert.deepEqual([...q.subarray(2, 12)].map(i8), [127, 0, 2, 2, 0, -2, -2, 3, -126, 126]);
  // the weight quantizer (quantize_row_q8_0_ref) rounds half away from zero instead
  const r = new Uint8Array(34);
  quantizeRowQ8_0Ref(x, 0, r, 0, 32);
  assert.deepEqual([...r.subarray(2, 12)].map(i8), [127, 1, 2, 3, -1, -2, -3, 3, -127, 127]);
});

test("Q8_0 (x86): id is 127/amax in f32, not 1/fp16(d); d is fp16 round-to-nearest", () => {
  const amax = F(100.3);
  const d = F(amax / 127);
  let h16 = 0; // nearest binary16 to d, by brute force
  for (let h = 1; h < 0x7c00; h++) if (Math.abs(h2f(h) - d) < Math.abs(h2f(h16) - d)) h16 = h;
  const idX86 = F(127 / amax),
    id16 = F(1 / h2f(h16));
  assert.notEqual(idX86, id16);
  // a value whose quant differs between the two inverse scales
  let v = 0;
  for (let k = 1; k < 20000 && v === 0; k++) if (rne(F(F(k * 0.005) * idX86)) !== rne(F(F(k * 0.005) * id16))) v = F(k * 0.005);
  assert.ok(v > 0, "no distinguishing value found");
  const x = new Float32Array(32);
  x[0] = amax;
  x[1] = v;
  x[2] = -v;
  const q = new Uint8Array(34);
  quantizeRowQ8_0(x, 0, q, 0, 32);
  assert.equal(u16(q, 0), h16);
  assert.equal(i8(q[2]!), 127);
  assert.equal(i8(q[3]!), rne(F(v * idX86)));
  assert.equal(i8(q[4]!), rne(F(-v * idX86)));

  // ... and not the ref's id = 1/d with the f32 d either: find amax and x where the two differ
  let hit = false;
  for (let k = 1; k < 5000 && !hit; k++) {
    const am = F(1 + k / 997);
    const idA = F(127 / am),
      idR = F(1 / F(am / 127));
    if (idA === idR) continue;
    for (let m = 1; m < 127 * 4 && !hit; m++) {
      const xv = F((m / 4) * F(am / 127)); // near the quant grid, where the last ulp of id decides
      if (Math.abs(xv) > am || rne(F(xv * idA)) === rne(F(xv * idR))) continue;
      const blk = new Float32Array(32);
      blk[0] = am;
      blk[1] = xv;
      quantizeRowQ8_0(blk, 0, q, 0, 32);
      assert.equal(i8(q[3]!), rne(F(xv * idA)), `amax ${am} x ${xv}`);
      hit = true;
    }
  }
  assert.ok(hit, "no case separating 127/amax from 1/d found");
});

test("Q8_0/Q8_1/Q8_K: a zero block gives d = 0, all q = 0 (and s = 0, bsums = 0)", () => {
  const x = new Float32Array(256);
  const q0 = new Uint8Array(34 * 8).fill(0xcc);
  quantizeRowQ8_0(x, 0, q0, 0, 256);
  assert.ok(q0.every((b) => b === 0));
  const q1 = new Uint8Array(36 * 8).fill(0xcc);
  quantizeRowQ8_1(x, 0, q1, 0, 256);
  assert.ok(q1.every((b) => b === 0));
  const qk = new Uint8Array(292).fill(0xcc);
  quantizeRowQ8_K(x, 0, qk, 0, 256);
  assert.ok(qk.every((b) => b === 0));
  // -0 entries count as zero too
  x[5] = -0;
  quantizeRowQ8_0(x, 0, q0, 0, 32);
  assert.ok(q0.subarray(0, 34).every((b) => b === 0));
});

test("Q8_1: same d and q as Q8_0, plus s = fp16(d·Σq) with the f32 d", () => {
  const x = gaussData(64, 9);
  const a = new Uint8Array(68),
    b = new Uint8Array(72);
  quantizeRowQ8_0(x, 0, a, 0, 64);
  quantizeRowQ8_1(x, 0, b, 0, 64);
  for (let blk = 0; blk < 2; blk++) {
    assert.deepEqual(b.subarray(36 * blk + 4, 36 * blk + 36), a.subarray(34 * blk + 2, 34 * blk + 34));
    assert.equal(u16(b, 36 * blk), u16(a, 34 * blk));
    let amax = 0,
      sum = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * blk + j]!));
    for (let j = 0; j < 32; j++) sum += i8(b[36 * blk + 4 + j]!);
    const s = F(F(amax / 127) * sum);
    assert.ok(Math.abs(h2f(u16(b, 36 * blk + 2)) - s) <= Math.abs(s) * 2 ** -11, `block ${blk}`);
  }
  // the ref flavour computes s the same way from its own q
  const r = new Uint8Array(72);
  quantizeRowQ8_1Ref(x, 0, r, 0, 64);
  assert.equal(u16(r, 0), u16(b, 0));
});

test("Q8_K: signed max; iscale = -127/max flips signs when max > 0; d = 1/iscale stays f32", () => {
  const x = new Float32Array(256);
  for (let i = 0; i < 256; i++) x[i] = F(Math.sin(i) * 2);
  x[10] = 3; // largest magnitude, positive
  const q = new Uint8Array(292);
  quantizeRowQ8_K(x, 0, q, 0, 256);
  const iscale = F(-127 / 3);
  assert.equal(f32at(q, 0), F(1 / iscale)); // negative, not fp16-rounded
  assert.ok(f32at(q, 0) < 0);
  assert.equal(i8(q[4 + 10]!), -127);
  for (let i = 0; i < 256; i++) {
    const v = rne(F(iscale * x[i]!));
    assert.equal(i8(q[4 + i]!), Math.min(127, v) + 0, `q[${i}]`);
    assert.ok(Math.abs(f32at(q, 0) * i8(q[4 + i]!) - x[i]!) <= Math.abs(f32at(q, 0)) / 2 + 1e-6, `d·q ≈ x at ${i}`);
  }
  for (let g = 0; g < 16; g++) {
    let s = 0;
    for (let l = 0; l < 16; l++) s += i8(q[4 + 16 * g + l]!);
    assert.equal(i16(q, 260 + 2 * g), s, `bsums[${g}]`);
  }
  // largest magnitude negative: d > 0 and that element still maps to -127
  x[10] = -3;
  quantizeRowQ8_K(x, 0, q, 0, 256);
  assert.ok(f32at(q, 0) > 0);
  assert.equal(i8(q[4 + 10]!), -127);
  // tie: iscale·x = 0.5 -> 0 and 1.5 -> 2 (half to even, nearest_int)
  const t = new Float32Array(256);
  t[0] = -127; // iscale = 1
  t[1] = 0.5;
  t[2] = 1.5;
  t[3] = -2.5;
  quantizeRowQ8_K(t, 0, q, 0, 256);
  assert.equal(f32at(q, 0), 1);
  assert.deepEqual([...q.subarray(4, 8)].map(i8), [-127, 0, 2, -2]);
});

test("F16 / BF16 activation conversion: round to nearest even", () => {
  const x = new Float32Array([1, F(1 + 2 ** -11), F(1 + 3 * 2 ** -11), 65520, -0, F(1 + 2 ** -8), F(1 + 3 * 2 ** -8)]);
  const h = new Uint8Array(14),
    b = new Uint8Array(14);
  quantizeRowF16Act(x, 0, h, 0, 7);
  quantizeRowBF16Act(x, 0, b, 0, 7);
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((i) => u16(h, 2 * i)),
    [0x3c00, 0x3c00, 0x3c02, 0x7c00, 0x8000],
  );
  assert.deepEqual(
    [0, 5, 6].map((i) => u16(b, 2 * i)),
    [0x3f80, 0x3f80, 0x3f82],
  );
});
