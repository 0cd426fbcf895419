/**
 * Float weight types (F32, F16, BF16): the per-output dot products of ggml_vec_dot_{f32,f16,bf16}
 * (ggml-cpu/vec.cpp) and of llamafile's tinyBLAS<KN, …> (llamafile/sgemm.cpp), in each numerics
 * profile's f32 order (numerics.ts). Weight rows are in their GGUF encoding, activation rows in
 * the vec_dot_type (F32 stays f32; F16/BF16 activations were rounded by cpu-traits' fromFloat).
 *
 * ggml_vec_dot_f16, 16 lanes (AVX-512F): 4 × 16 FMA lanes over 64-element steps, folded (0+2,
 *   1+3, 0+1), _mm512_reduce_add_ps; the reduced f32 goes to f64 and the tail (n % 64) adds
 *   fround(w·x) in f64; one final fround. 8 lanes (AVX2 + F16C): 4 × 8 lanes over 32-element
 *   steps, GGML_F32x8_REDUCE (ggml-order-avx2.ts haddReduce8), tail as above.
 * ggml_vec_dot_bf16: AVX512-BF16: two 16-lane VDPBF16PS accumulators over 64-element steps (lane j
 *   of a step of 32 takes pair (2j, 2j+1): the ODD product is added first, then the even one, each
 *   an f32 add with DAZ/FTZ); AVX-512F: two 16-lane accumulators over 32-element steps (c1 takes
 *   elements 0-15, c2 16-31; bf16 products are exact in f32, so mul+add is an FMA); AVX2: four
 *   8-lane accumulators over 32-element steps, ((c1+c3) + (c2+c4)) then hsum8. Each register is
 *   reduced to f32 and added in f64, then the tail adds fround(w·x) in f64; one final fround.
 * tinyBLAS<KN>: one KN-lane FMA accumulator per output over k in steps of KN (k % KN == 0), then
 *   hsum (reduceAdd16 for 16 lanes, hsum8 for 8); BF16 with AVX512-BF16 is tinyBLAS<32, bf16>:
 *   16 VDPBF16PS lanes over steps of 32.
 */
import { bf16ToF32, fp16Table32 } from "../quant/f16.js";
import type { VecDotFn } from "../quant/types.js";
import { haddReduce8, vecDotF32x8 } from "./ggml-order-avx2.js";
import { fma32, hsum8, reduceAdd16, vecDotF32 as vecDotF32x16 } from "./ggml-order.js";
import type { Numerics } from "./numerics.js";

const F = Math.fround;

/** n f32 values at bytes[o..]: a zero-copy view when 4-aligned, else a copy. */
export function f32Row(bytes: Uint8Array, o: number, n: number): Float32Array {
  const abs = bytes.byteOffset + o;
  if ((abs & 3) === 0) return new Float32Array(bytes.buffer, abs, n);
  const out = new Float32Array(n);
  const dv = new DataView(bytes.buffer, abs, 4 * n);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
  return out;
}

const h16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);

// ------------------------------------------------------------------------------ ggml_vec_dot_*

/** ggml_vec_dot_f32 on weight/activation bytes. */
export function vecDotF32(nx: Numerics): VecDotFn {
  const dot = nx.lanes === 16 ? vecDotF32x16 : vecDotF32x8;
  return (n, w, wo, a, ao) => dot(f32Row(w, wo, n), 0, f32Row(a, ao, n), 0, n);
}

const acc64 = new Float32Array(64);

/** ggml_vec_dot_f16 with `lanes` lanes per register and 4 registers: see the header. */
function vecDotF16Lanes(lanes: 16 | 8, n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  const step = 4 * lanes;
  const np = n - (n % step);
  for (let j = 0; j < step; j++) {
    let acc = 0; // lane j of the 4 registers: elements j, j + step, ... below np, in order
    for (let k = 2 * j; k < 2 * np; k += 2 * step) acc = fma32(t[h16(w, wo + k)]!, t[h16(a, ao + k)]!, acc);
    acc64[j] = acc;
  }
  for (let j = 0; j < lanes; j++) {
    acc64[j] = F(acc64[j]! + acc64[2 * lanes + j]!);
    acc64[lanes + j] = F(acc64[lanes + j]! + acc64[3 * lanes + j]!);
  }
  for (let j = 0; j < lanes; j++) acc64[j] = F(acc64[j]! + acc64[lanes + j]!);
  let sum = lanes === 16 ? reduceAdd16(acc64) : haddReduce8(acc64);
  for (let i = np; i < n; i++) sum += F(t[h16(w, wo + 2 * i)]! * t[h16(a, ao + 2 * i)]!);
  return F(sum);
}

export function vecDotF16(nx: Numerics): VecDotFn {
  return (n, w, wo, a, ao) => vecDotF16Lanes(nx.lanes, n, w, wo, a, ao);
}

/** A bf16 value as VDPBF16PS sees it: denormal inputs are zero (DAZ). */
function bf16Daz(h: number): number {
  return (h & 0x7f80) === 0 ? 0 : bf16ToF32(h);
}

/** VDPBF16PS result rounding: f32 RNE, denormal results flushed to zero (FTZ). */
function ftz(x: number): number {
  const r = F(x);
  return Math.abs(r) < 2 ** -126 ? 0 * r : r;
}

/**
 * One VDPBF16PS lane: acc + w[2j+1]·x[2j+1] + w[2j]·x[2j] (odd pair first), for the bf16 pair
 * at element index e (even) of w[wo..] and a[ao..].
 */
export function dpbf16Lane(acc: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number, e: number): number {
  const k = 2 * e;
  const w0 = bf16Daz(h16(w, wo + k)),
    w1 = bf16Daz(h16(w, wo + k + 2));
  const x0 = bf16Daz(h16(a, ao + k)),
    x1 = bf16Daz(h16(a, ao + k + 2));
  return ftz(ftz(acc + w1 * x1) + w0 * x0);
}

const c = new Float32Array(64);

/** ggml_vec_dot_bf16 in the profile's kernel: see the header. */
function vecDotBF16Kind(kind: Numerics["bf16"], n: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const bf = (b: Uint8Array, o: number, e: number) => bf16ToF32(h16(b, o + 2 * e));
  let sum = 0;
  let np: number;
  if (kind === "avx512bf16") {
    np = n & ~63;
    for (let j = 0; j < 16; j++) {
      let s1 = 0,
        s2 = 0; // lane j of each register, steps of 64 below np, in order
      for (let e = 2 * j; e < np; e += 64) {
        s1 = dpbf16Lane(s1, w, wo, a, ao, e);
        s2 = dpbf16Lane(s2, w, wo, a, ao, e + 32);
      }
      c[j] = s1;
      c[16 + j] = s2;
    }
    sum = reduceAdd16(c) + reduceAdd16(c.subarray(16));
  } else {
    const lanes = kind === "avx512f" ? 16 : 8,
      regs = 32 / lanes; // 2 × 16 or 4 × 8 lanes over steps of 32
    np = n & ~31;
    for (let j = 0; j < 32; j++) {
      let s = 0; // lane j % lanes of register ⌊j / lanes⌋: elements j, j + 32, ...
      for (let e = j; e < np; e += 32) s = fma32(bf(w, wo, e), bf(a, ao, e), s);
      c[j] = s;
    }
    if (regs === 2) sum = reduceAdd16(c) + reduceAdd16(c.subarray(16));
    else {
      for (let j = 0; j < 8; j++) c[j] = F(F(c[j]! + c[16 + j]!) + F(c[8 + j]! + c[24 + j]!));
      sum = hsum8(c);
    }
  }
  for (let i = np; i < n; i++) sum += F(bf(w, wo, i) * bf(a, ao, i));
  return F(sum);
}

export function vecDotBF16(nx: Numerics): VecDotFn {
  return (n, w, wo, a, ao) => vecDotBF16Kind(nx.bf16, n, w, wo, a, ao);
}

// ---------------------------------------------------------------------- tinyBLAS per output

const lanes16 = new Float32Array(16);

/** tinyBLAS<KN, fp16, fp16>: KN FMA lanes over fp16·fp16 (both widened). k % KN == 0. */
function sgemmDotF16Lanes(kn: 16 | 8, k: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  const t = fp16Table32();
  for (let j = 0; j < kn; j++) {
    let acc = 0; // lane j: elements j, j + kn, ... in order
    for (let p = 2 * j; p < 2 * k; p += 2 * kn) acc = fma32(t[h16(w, wo + p)]!, t[h16(a, ao + p)]!, acc);
    lanes16[j] = acc;
  }
  return kn === 16 ? reduceAdd16(lanes16) : hsum8(lanes16);
}

/** The tinyBLAS per-output dot for F16 weights in this profile (k % KN == 0). */
export function sgemmDotF16(nx: Numerics): VecDotFn {
  return (k, w, wo, a, ao) => sgemmDotF16Lanes(nx.lanes, k, w, wo, a, ao);
}

/** tinyBLAS for BF16: <32, bf16> with AVX512-BF16 (VDPBF16PS), else <16|8, f32> on widened bf16. */
function sgemmDotBF16Kind(kind: Numerics["bf16"], k: number, w: Uint8Array, wo: number, a: Uint8Array, ao: number): number {
  if (kind === "avx512bf16") {
    for (let j = 0; j < 16; j++) {
      let acc = 0; // lane j: pairs (2j, 2j+1) of every 32 elements, in order
      for (let e = 2 * j; e < k; e += 32) acc = dpbf16Lane(acc, w, wo, a, ao, e);
      lanes16[j] = acc;
    }
    return reduceAdd16(lanes16);
  }
  const kn = kind === "avx512f" ? 16 : 8;
  for (let j = 0; j < kn; j++) {
    let acc = 0;
    for (let e = j; e < k; e += kn) acc = fma32(bf16ToF32(h16(w, wo + 2 * e)), bf16ToF32(h16(a, ao + 2 * e)), acc);
    lanes16[j] = acc;
  }
  return kn === 16 ? reduceAdd16(lanes16) : hsum8(lanes16);
}

/** The tinyBLAS per-output dot for BF16 weights in this profile. */
export function sgemmDotBF16(nx: Numerics): VecDotFn {
  return (k, w, wo, a, ao) => sgemmDotBF16Kind(nx.bf16, k, w, wo, a, ao);
}

/** tinyBLAS's KN for BF16 weights (k must be a multiple). */
export function sgemmKnBF16(nx: Numerics): number {
  return nx.bf16 === "avx512bf16" ? 32 : nx.bf16 === "avx512f" ? 16 : 8;
}
