/**
 * Reference dot products and matmul: against f64 dot products of spec-decoded rows, the
 * documented f32 accumulation orders (ggml_vec_dot_*, AMX, AVX-512 and AVX2) rebuilt by hand, and
 * shape/type errors. Bit-exactness against llama.cpp itself is ggml-oracle.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EmbedError } from "../../src/errors.js";
import { cpuTraits, fromFloatFor } from "../../src/kernels/cpu-traits.js";
import { fma32 } from "../../src/kernels/ggml-order.js";
import { amxDotQ6_K, amxDotQ8_0 } from "../../src/kernels/matmul-amx.js";
import { numericsByName, type Numerics } from "../../src/kernels/numerics.js";
import { getRowF32, matmul as matmulNx, matmulPath as matmulPathNx, type MatmulPath } from "../../src/kernels/reference.js";
import { vecDotQ8_0Q8_0 } from "../../src/kernels/vec-dot.js";
import { quantizeRows, quantTraits } from "../../src/quant/index.js";
import { GGMLType, rowBytes } from "../../src/tensor/ggml-type.js";
import type { Weight } from "../../src/tensor/weight.js";
import { exactAdd32, exactFma32 } from "../helpers/exact-fma.js";
import { gaussData } from "../helpers/quant-data.js";
import { h2f, SPEC_LAYOUT, specElement } from "../helpers/spec-decode.js";

const AMX = numericsByName("amx"),
  AVX2 = numericsByName("avx2");
/** The amx profile unless a test names another: the AMX paths are what most of these hand-built orders check. */
const cpu = (t: GGMLType, nx: Numerics = AMX) => cpuTraits(t, nx);
const matmul = (w: Weight, x: Float32Array, n: number, out: Float32Array, path?: MatmulPath) => matmulNx(AMX, w, x, n, out, path);
const matmulPath = (t: GGMLType, k: number, n: number) => matmulPathNx(AMX, t, k, n);

const F = Math.fround;
const NAMES = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"];
const id = (t: string) => GGMLType[t as keyof typeof GGMLType];
const nameOf = (t: GGMLType) => quantTraits(t).name;

/** Spec-decode n elements of `type` from bytes[o..]. */
function specRow(type: string, bytes: Uint8Array, o: number, n: number): Float64Array {
  const { bytes: bb, blockSize } = SPEC_LAYOUT[type]!;
  const out = new Float64Array(n);
  for (let e = 0; e < n; e++) out[e] = specElement(type, bytes, o + Math.floor(e / blockSize) * bb, e % blockSize);
  return out;
}

/**
 * What the dot should be: Σ w_k·a_k in f64 over spec-decoded values, except for Q4_1/Q5_1
 * whose min term uses the activation's stored s = fp16(d·Σq) (spec §7.5), so there the per
 * block sum is dw·da·Σ qw·qa + mw·s. Returns [expected, Σ|w_k·a_k|].
 */
function expectedDot(type: string, w: Uint8Array, wo: number, a: Uint8Array, ao: number, n: number): [number, number] {
  const aType = nameOf(cpu(id(type)).vecDotType);
  const wv = specRow(type, w, wo, n),
    av = specRow(aType, a, ao, n);
  let mag = 0;
  for (let k = 0; k < n; k++) mag += Math.abs(wv[k]! * av[k]!);
  if (type !== "Q4_1" && type !== "Q5_1") {
    let s = 0;
    for (let k = 0; k < n; k++) s += wv[k]! * av[k]!;
    return [s, mag];
  }
  const wb = SPEC_LAYOUT[type]!.bytes;
  let s = 0;
  for (let b = 0; b < n / 32; b++) {
    const o = wo + b * wb,
      oa = ao + b * 36;
    const dw = h2f(w[o]! | (w[o + 1]! << 8)),
      mw = h2f(w[o + 2]! | (w[o + 3]! << 8));
    const da = h2f(a[oa]! | (a[oa + 1]! << 8)),
      sa = h2f(a[oa + 2]! | (a[oa + 3]! << 8));
    const qh = type === "Q5_1" ? (w[o + 4]! | (w[o + 5]! << 8) | (w[o + 6]! << 16)) + w[o + 7]! * 2 ** 24 : 0;
    const qs = o + (type === "Q5_1" ? 8 : 4);
    let isum = 0;
    for (let j = 0; j < 32; j++) {
      let q = j < 16 ? w[qs + j]! & 15 : w[qs + j - 16]! >> 4;
      if (Math.floor(qh / 2 ** j) % 2) q += 16;
      isum += q * ((a[oa + 4 + j]! << 24) >> 24);
    }
    s += dw * da * isum + mw * sa;
  }
  return [s, mag];
}

test("vecDot of every weight type matches the f64 dot of the spec-decoded rows", () => {
  const n = 1024;
  const wx = gaussData(3 * n, 21).map((v) => v * 0.05);
  const ax = gaussData(3 * n, 22).map((v) => v * 3);
  for (const t of NAMES) {
    const tr = cpu(id(t));
    const w = quantizeRows(id(t), wx, n);
    const arb = rowBytes(tr.vecDotType, n);
    const a = new Uint8Array(3 * arb);
    for (let r = 0; r < 3; r++) fromFloatFor(tr.vecDotType)(ax, r * n, a, r * arb, n);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const got = tr.vecDot!(n, w, i * rowBytes(id(t), n), a, j * arb);
        const [want, mag] = expectedDot(t, w, i * rowBytes(id(t), n), a, j * arb, n);
        assert.equal(got, F(got), `${t}: result is an f32`);
        assert.ok(Math.abs(got - want) <= 3e-7 * mag + Math.abs(want) * 2 ** -23, `${t} row ${i}·${j}: ${got} vs ${want} (Σ|wa| ${mag})`);
      }
    }
  }
});

// ------------------------------------------------------------------ documented f32 orders
// Expected values below are built by hand from the orders documented in vec-dot.ts,
// vec-dot-k.ts and matmul-amx.ts, with an independent BigInt model of f32 rounding
// (helpers/exact-fma.ts). Each test also checks that a different order gives a different
// answer on its data, so it could not pass with the wrong order.

const fma = exactFma32,
  add = exactAdd32;

/** hsum_float_8: (l_i + l_{i+4}), then (0+2) + (1+3). */
function hsum8(l: number[]): number {
  const t = [0, 1, 2, 3].map((i) => add(l[i]!, l[i + 4]!));
  return add(add(t[0]!, t[2]!), add(t[1]!, t[3]!));
}

/** _mm512_reduce_add_ps: (i, i+8), (i, i+4), then (0+2) + (1+3). */
function reduce16(l: number[]): number {
  const h = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => add(l[i]!, l[i + 8]!));
  const q = [0, 1, 2, 3].map((i) => add(h[i]!, h[i + 4]!));
  return add(add(q[0]!, q[2]!), add(q[1]!, q[3]!));
}

/** Q8_0 rows (weights: ggml weight quantizer; activations: x86 activation quantizer). */
function q8Rows(n: number, rows: number, seed: number): { w: Uint8Array; a: Uint8Array } {
  const w = quantizeRows(
    GGMLType.Q8_0,
    gaussData(n * rows, seed).map((v) => v * 0.05),
    n,
  );
  const a = new Uint8Array(rowBytes(GGMLType.Q8_0, n) * rows);
  const x = gaussData(n * rows, seed + 1).map((v) => v * 3);
  for (let r = 0; r < rows; r++) fromFloatFor(GGMLType.Q8_0)(x, r * n, a, r * rowBytes(GGMLType.Q8_0, n), n);
  return { w, a };
}

/** Per block of a Q8_0·Q8_0 row pair: [fround(dw·da), isum over elements 4l..4l+3 for l < 8]. */
function q8Blocks(n: number, w: Uint8Array, a: Uint8Array, o: number): Array<[number, number[]]> {
  const out: Array<[number, number[]]> = [];
  for (let b = 0; b < n / 32; b++) {
    const p = o + 34 * b;
    const d = F(h2f(w[p]! | (w[p + 1]! << 8)) * h2f(a[p]! | (a[p + 1]! << 8)));
    const lanes: number[] = [];
    for (let l = 0; l < 8; l++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += ((w[p + 2 + 4 * l + k]! << 24) >> 24) * ((a[p + 2 + 4 * l + k]! << 24) >> 24);
      lanes.push(s);
    }
    out.push([d, lanes]);
  }
  return out;
}

test("fma32 is the correctly rounded f32 fused multiply-add, double-rounding midpoints included", () => {
  const r = gaussData(6000, 61);
  for (let i = 0; i < r.length; i += 3) {
    const a = F(r[i]! * 2 ** ((i % 17) - 8)),
      b = F(r[i + 1]! * 2 ** ((i % 5) - 2)),
      c = F(r[i + 2]! * 2 ** ((i % 23) - 6));
    assert.equal(fma32(a, b, c), exactFma32(a, b, c), `fma32(${a}, ${b}, ${c})`);
  }
  // a·b + c = 1 + 2^-23 + 2^-24 - 2^-70: the f64 sum rounds to the f32 midpoint, naive rounding goes up
  const a = F((1 + 2 ** -23) * 2 ** -24),
    b = F(1 - 2 ** -23),
    c = F(1 + 2 ** -23);
  assert.equal(fma32(a, b, c), c);
  assert.equal(exactFma32(a, b, c), c);
  assert.notEqual(F(a * b + c), c);
  // the same trap around many c of both signs: a·b = ±ulp(c)/2 · (1 ± 2^-46) or exactly ±ulp(c)/2
  let naiveWrong = 0;
  for (let i = 0; i < r.length; i++) {
    const ci = r[i]!;
    if (ci === 0) continue;
    const half = 2 ** (Math.floor(Math.log2(Math.abs(ci))) - 24);
    for (const [ai, bi] of [
      [half * (1 + 2 ** -23), 1 - 2 ** -23],
      [half * (1 + 2 ** -23), 1 + 2 ** -23],
      [-half * (1 + 2 ** -23), 1 - 2 ** -23],
      [half, 1],
      [-half, 1],
    ]) {
      const av = F(ai!),
        bv = F(bi!);
      assert.equal(fma32(av, bv, ci), exactFma32(av, bv, ci), `fma32(${av}, ${bv}, ${ci})`);
      if (F(av * bv + ci) !== exactFma32(av, bv, ci)) naiveWrong++;
    }
  }
  assert.ok(naiveWrong > 100, `only ${naiveWrong} crafted cases trip the naive rounding`);
});

test("Q8_0 vecDot = ggml_vec_dot_q8_0_q8_0: 8 lanes of 4 elements, fma(dw·da, isum) per block, hsum_float_8", () => {
  const n = 768,
    rows = 8;
  const { w, a } = q8Rows(n, rows, 71);
  let orderVisible = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * rowBytes(GGMLType.Q8_0, n);
    const blocks = q8Blocks(n, w, a, o);
    const lanes = [0, 0, 0, 0, 0, 0, 0, 0];
    for (const [d, is] of blocks) for (let l = 0; l < 8; l++) lanes[l] = fma(d, is[l]!, lanes[l]!);
    const want = hsum8(lanes);
    assert.equal(vecDotQ8_0Q8_0(n, w, o, a, o), want, `row ${r}`);
    let seq = 0; // the AMX order on the same data
    for (const [d, is] of blocks)
      seq = fma(
        is.reduce((x, y) => x + y, 0),
        d,
        seq,
      );
    assert.equal(amxDotQ8_0(n, w, o, a, o), seq, `row ${r} (AMX)`);
    if (seq !== want) orderVisible++;
  }
  assert.ok(orderVisible > 0, "the two orders agree on every row: the test data cannot tell them apart");
});

test("Q6_K: vec_dot lanes with the −32 applied per lane, AMX one fma per super-block; fround(da·d) is observable", () => {
  const nsb = 4;
  const w6 = new Uint8Array(nsb * 210),
    a8 = new Uint8Array(nsb * 292);
  const dv = new DataView(a8.buffer);
  const das = [F(0.1), F(-1 / 3), F(0.7071), F(1 / 7)];
  const d6 = 0x3555; // 0.333251953125
  const lanes = [0, 0, 0, 0, 0, 0, 0, 0],
    lanesElem = [0, 0, 0, 0, 0, 0, 0, 0];
  let seq = 0,
    exact = 0;
  for (let b = 0; b < nsb; b++) {
    const o = 210 * b,
      oa = 292 * b;
    for (let i = 0; i < 192; i++) w6[o + i] = (i * 73 + b * 29 + 11) & 0xff; // ql[128] | qh[64]
    w6[o + 208] = d6 & 0xff;
    w6[o + 209] = d6 >> 8;
    dv.setFloat32(oa, das[b]!, true);
    const sc: number[] = [],
      bs: number[] = [];
    for (let sb = 0; sb < 16; sb++) {
      sc.push(((sb * 29 + b * 5) % 256) - 128);
      w6[o + 192 + sb] = sc[sb]! & 0xff;
    }
    const lane = [0, 0, 0, 0, 0, 0, 0, 0],
      laneElem = [0, 0, 0, 0, 0, 0, 0, 0];
    let isum = 0;
    for (let sb = 0; sb < 16; sb++) {
      let s = 0;
      for (let k = 0; k < 16; k++) {
        const e = sb * 16 + k,
          q8 = ((e * 7 + b * 3) % 255) - 127;
        a8[oa + 4 + e] = q8 & 0xff;
        s += q8;
        const h = e >> 7,
          m = (e >> 5) & 3,
          l = e & 31; // e = 128h + 32m + l
        const ql = w6[o + 64 * h + l + 32 * (m & 1)]!;
        const q = (m < 2 ? ql & 15 : ql >> 4) | (((w6[o + 128 + 32 * h + l]! >> (2 * m)) & 3) << 4);
        lane[l >> 2]! += sc[sb]! * q * q8;
        laneElem[l >> 2]! += sc[sb]! * (q - 32) * q8; // the −32 taken per element instead
        isum += sc[sb]! * (q - 32) * q8;
      }
      bs.push(s);
      dv.setInt16(oa + 260 + 2 * sb, s, true);
    }
    for (let l = 0; l < 8; l++) lane[l]! -= 32 * (bs[2 * l]! * sc[2 * l]! + bs[2 * l + 1]! * sc[2 * l + 1]!);
    const d = F(das[b]! * h2f(d6));
    for (let l = 0; l < 8; l++) {
      lanes[l] = fma(d, lane[l]!, lanes[l]!);
      lanesElem[l] = fma(d, laneElem[l]!, lanesElem[l]!);
    }
    seq = fma(isum, d, seq);
    exact += das[b]! * h2f(d6) * isum;
  }
  const n = 256 * nsb;
  assert.equal(cpu(GGMLType.Q6_K).vecDot!(n, w6, 0, a8, 0), hsum8(lanes));
  assert.notEqual(hsum8(lanesElem), hsum8(lanes)); // where the −32 goes is visible
  assert.equal(amxDotQ6_K(n, w6, 0, a8, 0), seq);
  assert.notEqual(seq, F(exact)); // the f32 rounding of da·d is visible
});

test("F32/F16 vecDot: ggml_vec_dot_f32/_f16 (4×16 FMA lanes per 64, folded, reduce_add_ps, then the tail)", () => {
  const n = 200; // 3 full steps of 64, tail of 8
  const w = gaussData(n, 51),
    x = gaussData(n, 52).map((v) => v * 1e3);
  const wb = new Uint8Array(4 * n + 1),
    xb = new Uint8Array(4 * n);
  const dw = new DataView(wb.buffer),
    dx = new DataView(xb.buffer);
  for (let i = 0; i < n; i++) {
    dw.setFloat32(1 + 4 * i, w[i]!, true);
    dx.setFloat32(4 * i, x[i]!, true);
  }
  const model = (wv: ArrayLike<number>, xv: ArrayLike<number>, f64Tail: boolean): number => {
    const acc = new Array<number>(64).fill(0);
    for (let i = 0; i < 192; i += 64) for (let j = 0; j < 64; j++) acc[j] = fma(wv[i + j]!, xv[i + j]!, acc[j]!);
    const l = Array.from({ length: 16 }, (_, j) => add(add(acc[j]!, acc[32 + j]!), add(acc[16 + j]!, acc[48 + j]!)));
    let s = reduce16(l);
    if (f64Tail) {
      for (let i = 192; i < n; i++) s += F(wv[i]! * xv[i]!);
      return F(s);
    }
    for (let i = 192; i < n; i++) s = add(s, F(wv[i]! * xv[i]!)); // the binary: 8-wide multiply, then in-order adds
    return s;
  };
  const want32 = model(w, x, false);
  assert.equal(cpu(GGMLType.F32).vecDot!(n, wb, 1, xb, 0), want32); // unaligned weight row
  let f64 = 0;
  for (let i = 0; i < n; i++) f64 += F(w[i]! * x[i]!);
  assert.notEqual(F(f64), want32);
  const hw = quantizeRows(GGMLType.F16, w, n),
    hx = quantizeRows(GGMLType.F16, x, n);
  const wv = Array.from({ length: n }, (_, i) => h2f(hw[2 * i]! | (hw[2 * i + 1]! << 8)));
  const xv = Array.from({ length: n }, (_, i) => h2f(hx[2 * i]! | (hx[2 * i + 1]! << 8)));
  assert.equal(cpu(GGMLType.F16).vecDot!(n, hw, 0, hx, 0), model(wv, xv, true));
});

test("F32/F16 vecDot, avx2: 4×8 FMA lanes per 32, folded, two VHADDPS; F32 tail: runs of 8 and 4 unfused, the last < 4 fused", () => {
  const n = 207; // 6 full steps of 32, then 8 + 4 unfused + 3 fused
  const w = gaussData(n, 61),
    x = gaussData(n, 62).map((v) => v * 1e3);
  const wb = new Uint8Array(4 * n),
    xb = new Uint8Array(4 * n);
  const dw = new DataView(wb.buffer),
    dx = new DataView(xb.buffer);
  for (let i = 0; i < n; i++) {
    dw.setFloat32(4 * i, w[i]!, true);
    dx.setFloat32(4 * i, x[i]!, true);
  }
  const model = (wv: ArrayLike<number>, xv: ArrayLike<number>, f16: boolean): number => {
    const acc = new Array<number>(32).fill(0);
    for (let i = 0; i < 192; i += 32) for (let j = 0; j < 32; j++) acc[j] = fma(wv[i + j]!, xv[i + j]!, acc[j]!);
    const l = Array.from({ length: 8 }, (_, j) => add(add(acc[j]!, acc[16 + j]!), add(acc[8 + j]!, acc[24 + j]!)));
    const t = [0, 1, 2, 3].map((i) => add(l[i]!, l[i + 4]!));
    let s = add(add(t[0]!, t[1]!), add(t[2]!, t[3]!)); // VHADDPS twice: (0+1) + (2+3), not hsum8's (0+2) + (1+3)
    if (f16) {
      for (let i = 192; i < n; i++) s += F(wv[i]! * xv[i]!); // ggml_float tail
      return F(s);
    }
    for (let i = 192; i < 204; i++) s = add(s, F(wv[i]! * xv[i]!));
    for (let i = 204; i < n; i++) s = fma(wv[i]!, xv[i]!, s);
    return s;
  };
  const want32 = model(w, x, false);
  assert.equal(cpu(GGMLType.F32, AVX2).vecDot!(n, wb, 0, xb, 0), want32);
  assert.notEqual(cpu(GGMLType.F32, numericsByName("avx512")).vecDot!(n, wb, 0, xb, 0), want32); // the 16-lane order differs here
  const hw = quantizeRows(GGMLType.F16, w, n),
    hx = quantizeRows(GGMLType.F16, x, n);
  const wv = Array.from({ length: n }, (_, i) => h2f(hw[2 * i]! | (hw[2 * i + 1]! << 8)));
  const xv = Array.from({ length: n }, (_, i) => h2f(hx[2 * i]! | (hx[2 * i + 1]! << 8)));
  assert.equal(cpu(GGMLType.F16, AVX2).vecDot!(n, hw, 0, hx, 0), model(wv, xv, true));
});

test("F16 on the AMX path uses the f32 activation as is; on the CPU path it is rounded to fp16 first", () => {
  const ne0 = 256,
    ne1 = 32,
    nTok = 2;
  const packed = quantizeRows(GGMLType.F16, gaussData(ne0 * ne1, 81), ne0);
  const x = gaussData(ne0 * nTok, 82).map((v) => F(v * 3.3));
  const w = { type: GGMLType.F16, ne0, ne1, data: packed, name: "w" };
  assert.equal(matmulPath(GGMLType.F16, ne0, ne1), "amx");
  const amx = new Float32Array(ne1 * nTok),
    cpu = new Float32Array(ne1 * nTok);
  matmul(w, x, nTok, amx);
  matmul(w, x, nTok, cpu, "cpu");
  for (let t = 0; t < nTok; t++) {
    for (let r = 0; r < ne1; r++) {
      const lanes = new Array<number>(16).fill(0);
      for (let k = 0; k < ne0; k++)
        lanes[k % 16] = fma(x[t * ne0 + k]!, h2f(packed[2 * (r * ne0 + k)]! | (packed[2 * (r * ne0 + k) + 1]! << 8)), lanes[k % 16]!);
      assert.equal(amx[t * ne1 + r], reduce16(lanes), `out[${t},${r}]`);
    }
  }
  assert.ok(amx.some((v, i) => v !== cpu[i]));
  assert.throws(
    () => matmul({ ...w, ne1: 16, data: packed.subarray(0, 2 * ne0 * 16) }, x, nTok, amx, "amx"),
    (e: unknown) => e instanceof EmbedError && e.code === "UNSUPPORTED_TYPE",
  );
});

test("matmul: every output is the dot of a weight row with the converted activation row", () => {
  const ne0 = 512,
    ne1 = 5,
    nTokens = 3;
  const x = gaussData(nTokens * ne0, 31);
  for (const t of ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_1", "Q4_K", "Q6_K", "IQ4_NL", "IQ4_XS"]) {
    const tr = cpu(id(t));
    const packed = quantizeRows(id(t), gaussData(ne0 * ne1, 32), ne0);
    const data = new Uint8Array(packed.length + 3);
    data.set(packed, 3); // odd byte offset inside the buffer
    const out = new Float32Array(nTokens * ne1 + 2).fill(7);
    matmul({ type: id(t), ne0, ne1, data: data.subarray(3), name: "w" }, x, nTokens, out);
    const arb = rowBytes(tr.vecDotType, ne0),
      wrb = rowBytes(id(t), ne0);
    for (let tk = 0; tk < nTokens; tk++) {
      const act = new Uint8Array(arb);
      fromFloatFor(tr.vecDotType)(x, tk * ne0, act, 0, ne0);
      for (let r = 0; r < ne1; r++) {
        const [want, mag] = expectedDot(t, data, 3 + r * wrb, act, 0, ne0);
        const got = out[tk * ne1 + r]!;
        assert.ok(Math.abs(got - want) <= 3e-7 * mag + Math.abs(want) * 2 ** -23, `${t} out[${tk},${r}] ${got} vs ${want}`);
      }
    }
    assert.deepEqual([...out.subarray(nTokens * ne1)], [7, 7], `${t}: wrote past nTokens·ne1`);
  }
});

test("getRowF32 dequantizes exactly one row (embedding lookup)", () => {
  const ne0 = 256,
    ne1 = 4;
  for (const t of ["F32", "Q8_0", "Q4_K", "IQ4_NL"]) {
    const packed = quantizeRows(id(t), gaussData(ne0 * ne1, 41), ne0);
    const data = new Uint8Array(packed.length + 1);
    data.set(packed, 1);
    const dst = new Float32Array(ne0);
    getRowF32({ type: id(t), ne0, ne1, data: data.subarray(1), name: "w" }, 2, dst);
    const want = specRow(t, data, 1 + 2 * rowBytes(id(t), ne0), ne0);
    for (let e = 0; e < ne0; e++) assert.equal(dst[e], want[e], `${t} element ${e}`);
    assert.throws(
      () => getRowF32({ type: id(t), ne0, ne1, data: data.subarray(1), name: "token_embd.weight" }, ne1, dst),
      (e: unknown) => e instanceof EmbedError && e.code === "TOKEN_OUT_OF_RANGE" && e.message.includes("token_embd.weight"),
    );
  }
});

test("matmul rejects bad shapes and non-matmul types, naming the tensor", () => {
  const data = new Uint8Array(34 * 8);
  const x = new Float32Array(64),
    out = new Float32Array(8);
  const isErr = (code: string, text: string) => (e: unknown) => e instanceof EmbedError && e.code === code && e.message.includes(text);
  assert.throws(
    () => matmul({ type: GGMLType.Q8_0, ne0: 48, ne1: 1, data, name: "blk.1.ffn_up.weight" }, x, 1, out),
    isErr("TENSOR_SHAPE", "48"),
  );
  assert.throws(
    () => matmul({ type: GGMLType.Q8_0, ne0: 64, ne1: 5, data, name: "blk.1.ffn_up.weight" }, x, 1, out),
    isErr("TENSOR_SHAPE", "blk.1.ffn_up.weight"),
  );
  assert.throws(() => matmul({ type: GGMLType.Q8_0, ne0: 64, ne1: 4, data, name: "w" }, x, 2, out), isErr("TENSOR_SHAPE", "w"));
  assert.throws(
    () => matmul({ type: GGMLType.IQ2_XXS, ne0: 256, ne1: 1, data, name: "blk.0.attn_k.weight" }, x, 1, out),
    isErr("UNSUPPORTED_TYPE", "blk.0.attn_k.weight"),
  );
  assert.throws(() => matmul({ type: GGMLType.Q8_K, ne0: 256, ne1: 0, data, name: "q8k" }, x, 0, out), isErr("UNSUPPORTED_TYPE", "Q8_K"));
});
