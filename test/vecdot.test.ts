/**
 * Reference dot products and matmul: against f64 dot products of spec-decoded rows, the
 * documented accumulation contract on a hand-built case, and shape/type errors.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EmbedError } from "../src/errors.js";
import { getRowF32, matmul } from "../src/kernels/reference.js";
import { vecDotQ8_0Q8_0 } from "../src/kernels/vec-dot.js";
import { fromFloatFor, quantizeRows, quantTraits } from "../src/quant/index.js";
import { GGMLType, rowBytes } from "../src/tensor/ggml-type.js";
import { gaussData } from "./helpers/quant-data.js";
import { h2f, SPEC_LAYOUT, specElement } from "./helpers/spec-decode.js";

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
  const aType = nameOf(quantTraits(id(type)).vecDotType);
  const wv = specRow(type, w, wo, n), av = specRow(aType, a, ao, n);
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
    const o = wo + b * wb, oa = ao + b * 36;
    const dw = h2f(w[o]! | (w[o + 1]! << 8)), mw = h2f(w[o + 2]! | (w[o + 3]! << 8));
    const da = h2f(a[oa]! | (a[oa + 1]! << 8)), sa = h2f(a[oa + 2]! | (a[oa + 3]! << 8));
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
    const tr = quantTraits(id(t));
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

test("vecDot follows the documented accumulation: f64 Σ fround(dw·da)·isum, one final fround", () => {
  // Q8_0 x Q8_0, two blocks: fp16·fp16 scale products are exact in f32, so only the final
  // rounding matters here.
  const w = new Uint8Array(68), a = new Uint8Array(68);
  const scales = [[0x3555, 0x3555], [0x2e66, 0xb9dd]];
  const isums: number[] = [];
  for (let b = 0; b < 2; b++) {
    w[34 * b] = scales[b]![0]! & 0xff; w[34 * b + 1] = scales[b]![0]! >> 8;
    a[34 * b] = scales[b]![1]! & 0xff; a[34 * b + 1] = scales[b]![1]! >> 8;
    let s = 0;
    for (let j = 0; j < 32; j++) {
      const qw = ((j * 37 + b * 11) % 255) - 127, qa = ((j * 53 + b * 7) % 255) - 127;
      w[34 * b + 2 + j] = qw & 0xff;
      a[34 * b + 2 + j] = qa & 0xff;
      s += qw * qa;
    }
    isums.push(s);
  }
  let acc = 0;
  for (let b = 0; b < 2; b++) acc += F(h2f(scales[b]![0]!) * h2f(scales[b]![1]!)) * isums[b]!;
  assert.equal(vecDotQ8_0Q8_0(64, w, 0, a, 0), F(acc));

  // Q6_K x Q8_K, two super-blocks: the Q8_K scale is a full-precision f32, so fround(da·d)
  // is a real rounding and must happen before multiplying by the integer sum.
  const w6 = new Uint8Array(2 * 210), a8 = new Uint8Array(2 * 292);
  const dv = new DataView(a8.buffer);
  const das = [F(0.1), F(-1 / 3)];
  let acc6 = 0, exact6 = 0;
  for (let b = 0; b < 2; b++) {
    const o = 210 * b, oa = 292 * b;
    w6[o + 208] = 0x55; w6[o + 209] = 0x35; // d = 0.333251953125; ql = qh = 0 -> every q = -32
    dv.setFloat32(oa, das[b]!, true);
    let isum = 0;
    for (let sb = 0; sb < 16; sb++) {
      const sc = ((sb * 29 + b * 5) % 256) - 128;
      w6[o + 192 + sb] = sc & 0xff;
      let s = 0;
      for (let k = 0; k < 16; k++) {
        const q8 = ((sb * 16 + k) * 7 + b) % 255 - 127;
        a8[oa + 4 + 16 * sb + k] = q8 & 0xff;
        s += -32 * q8;
      }
      isum += sc * s;
    }
    acc6 += F(das[b]! * h2f(0x3555)) * isum;
    exact6 += das[b]! * h2f(0x3555) * isum;
  }
  const got6 = quantTraits(GGMLType.Q6_K).vecDot!(512, w6, 0, a8, 0);
  assert.equal(got6, F(acc6));
  assert.notEqual(F(acc6), F(exact6)); // the f32 rounding of da·d is observable on this input
});

test("F32/F16 vecDot: sequential f64 sum of f32-rounded (F32) or exact (F16) products, one final fround", () => {
  const n = 100;
  const w = gaussData(n, 51), x = gaussData(n, 52).map((v) => v * 1e3);
  const wb = new Uint8Array(4 * n + 1), xb = new Uint8Array(4 * n);
  const dw = new DataView(wb.buffer), dx = new DataView(xb.buffer);
  for (let i = 0; i < n; i++) { dw.setFloat32(1 + 4 * i, w[i]!, true); dx.setFloat32(4 * i, x[i]!, true); }
  let acc = 0;
  for (let i = 0; i < n; i++) acc += F(w[i]! * x[i]!);
  assert.equal(quantTraits(GGMLType.F32).vecDot!(n, wb, 1, xb, 0), F(acc)); // unaligned weight row
  // product rounding is observable: (1+2^-23)^2 rounds to 1+2^-22 in f32, so the sum is 0, not 2^-46
  const c = new Uint8Array(8), cx = new Uint8Array(8);
  new DataView(c.buffer).setFloat32(0, 1 + 2 ** -23, true);
  new DataView(c.buffer).setFloat32(4, -(1 + 2 ** -22), true);
  new DataView(cx.buffer).setFloat32(0, 1 + 2 ** -23, true);
  new DataView(cx.buffer).setFloat32(4, 1, true);
  assert.equal(quantTraits(GGMLType.F32).vecDot!(2, c, 0, cx, 0), 0);
  const hw = quantizeRows(GGMLType.F16, w, n), hx = quantizeRows(GGMLType.F16, x, n);
  let acc16 = 0;
  for (let i = 0; i < n; i++) acc16 += h2f(hw[2 * i]! | (hw[2 * i + 1]! << 8)) * h2f(hx[2 * i]! | (hx[2 * i + 1]! << 8));
  assert.equal(quantTraits(GGMLType.F16).vecDot!(n, hw, 0, hx, 0), F(acc16));
});

test("matmul: every output is the dot of a weight row with the converted activation row", () => {
  const ne0 = 512, ne1 = 5, nTokens = 3;
  const x = gaussData(nTokens * ne0, 31);
  for (const t of ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_1", "Q4_K", "Q6_K", "IQ4_NL", "IQ4_XS"]) {
    const tr = quantTraits(id(t));
    const packed = quantizeRows(id(t), gaussData(ne0 * ne1, 32), ne0);
    const data = new Uint8Array(packed.length + 3);
    data.set(packed, 3); // odd byte offset inside the buffer
    const out = new Float32Array(nTokens * ne1 + 2).fill(7);
    matmul({ type: id(t), ne0, ne1, data, byteOffset: 3, name: "w" }, x, nTokens, out);
    const arb = rowBytes(tr.vecDotType, ne0), wrb = rowBytes(id(t), ne0);
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
  const ne0 = 256, ne1 = 4;
  for (const t of ["F32", "Q8_0", "Q4_K", "IQ4_NL"]) {
    const packed = quantizeRows(id(t), gaussData(ne0 * ne1, 41), ne0);
    const data = new Uint8Array(packed.length + 1);
    data.set(packed, 1);
    const dst = new Float32Array(ne0);
    getRowF32({ type: id(t), ne0, ne1, data, byteOffset: 1 }, 2, dst);
    const want = specRow(t, data, 1 + 2 * rowBytes(id(t), ne0), ne0);
    for (let e = 0; e < ne0; e++) assert.equal(dst[e], want[e], `${t} element ${e}`);
    assert.throws(() => getRowF32({ type: id(t), ne0, ne1, data, byteOffset: 1, name: "token_embd.weight" }, ne1, dst),
      (e: unknown) => e instanceof EmbedError && e.code === "TOKEN_OUT_OF_RANGE" && e.message.includes("token_embd.weight"));
  }
});

test("matmul rejects bad shapes and non-matmul types, naming the tensor", () => {
  const data = new Uint8Array(34 * 8);
  const x = new Float32Array(64), out = new Float32Array(8);
  const isErr = (code: string, text: string) => (e: unknown) => e instanceof EmbedError && e.code === code && e.message.includes(text);
  assert.throws(() => matmul({ type: GGMLType.Q8_0, ne0: 48, ne1: 1, data, byteOffset: 0, name: "blk.1.ffn_up.weight" }, x, 1, out), isErr("TENSOR_SHAPE", "48"));
  assert.throws(() => matmul({ type: GGMLType.Q8_0, ne0: 64, ne1: 5, data, byteOffset: 0, name: "blk.1.ffn_up.weight" }, x, 1, out), isErr("TENSOR_SHAPE", "blk.1.ffn_up.weight"));
  assert.throws(() => matmul({ type: GGMLType.Q8_0, ne0: 64, ne1: 4, data, byteOffset: 0, name: "w" }, x, 2, out), isErr("TENSOR_SHAPE", "w"));
  assert.throws(() => matmul({ type: GGMLType.IQ2_XXS, ne0: 256, ne1: 1, data, byteOffset: 0, name: "blk.0.attn_k.weight" }, x, 1, out), isErr("UNSUPPORTED_TYPE", "blk.0.attn_k.weight"));
  assert.throws(() => matmul({ type: GGMLType.Q8_K, ne0: 256, ne1: 0, data, byteOffset: 0, name: "q8k" }, x, 0, out), isErr("UNSUPPORTED_TYPE", "Q8_K"));
});
