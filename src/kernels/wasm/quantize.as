// AssemblyScript. Activation conversion, bit-exact with src/quant/activation.ts (x86 flavour of
// ggml-cpu's from_float), then re-laid-out into the "prepared" rows the matmul kernels read.
// Two steps so the first can be tested byte for byte against the TypeScript twin.
import { A8_BYTES, AK_BYTES, a8Span, f16 } from "./common";

/** GGML_FP32_TO_FP16: RNE, overflow -> inf, NaN -> sign|0x7e00, subnormals kept (f16.ts f32ToFp16). */
export function f32ToFp16(x: f32): u32 {
  const bits = reinterpret<u32>(x);
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp == 0xff) return sign | (mant != 0 ? 0x7e00 : 0x7c00);
  if (exp >= 143) return sign | 0x7c00;
  if (exp >= 113) {
    let h = ((exp - 112) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1) != 0)) h++;
    return sign | h;
  }
  if (exp < 102) return sign;
  const sig = mant | 0x800000;
  const shift = 126 - exp;
  let h = sig >>> shift;
  const rest = sig & ((1 << shift) - 1);
  const half: u32 = 1 << (shift - 1);
  if (rest > half || (rest == half && (h & 1) != 0)) h++;
  return sign | h;
}

/** GGML_FP32_TO_BF16 (f16.ts f32ToBf16). */
export function f32ToBf16(x: f32): u32 {
  const u = reinterpret<u32>(x);
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** max |x| over n f32 at p (n % 4 == 0), NaN lanes skipped like the ref code's `if (ax > amax)`. */
// @ts-ignore: decorator
@inline function amaxScan(p: usize, n: i32): f32 {
  let m = f32x4.splat(0);
  for (let j = 0; j < n; j += 4) m = f32x4.pmax(m, f32x4.abs(v128.load(p + (<usize>j << 2))));
  m = f32x4.pmax(m, i32x4.shuffle(m, m, 2, 3, 0, 1));
  m = f32x4.pmax(m, i32x4.shuffle(m, m, 1, 0, 3, 2));
  return f32x4.extract_lane(m, 0);
}

/** MAXPS lane-wise: a where a > b, else b (a NaN wins or loses by position, as on x86). */
// @ts-ignore: decorator
@inline function maxps(a: v128, b: v128): v128 { return f32x4.pmax(b, a); }

/**
 * max |x| over 32 f32 at p, reduced as x86 quantize_row_q8_0 does (activation.ts amax32): 8 lanes
 * (two f32x4) over the 4 registers in order, the high half against the low, (0, 2) (1, 3), (0, 1).
 */
// @ts-ignore: decorator
@inline function amax32(p: usize): f32 {
  let lo = f32x4.abs(v128.load(p)), hi = f32x4.abs(v128.load(p, 16));
  for (let j: usize = 32; j < 128; j += 32) {
    lo = maxps(lo, f32x4.abs(v128.load(p + j)));
    hi = maxps(hi, f32x4.abs(v128.load(p + j, 16)));
  }
  const m = maxps(hi, lo);
  const t = maxps(m, i32x4.shuffle(m, m, 2, 3, 0, 1));
  return f32x4.extract_lane(maxps(t, i32x4.shuffle(t, t, 1, 0, 3, 2)), 0);
}

/**
 * One x86 Q8_0 block (activation.ts q8Block): d = amax/127 stored as fp16; id = 127/amax;
 * q = nearest-even(x*id), converted as cvtps_epi32 does (NaN -> INT_MIN) and narrowed with
 * saturation to int8 (the packs). qs go to dst + qOff. Returns the wrapping int32 Σ of the
 * converted values (quantize_row_q8_1's s; d in q8D).
 */
let q8D: f32 = 0;
// @ts-ignore: decorator
@inline function q8Block(src: usize, dst: usize, qOff: usize): i32 {
  const amax = amax32(src);
  const d = amax / 127;
  q8D = d;
  store<u16>(dst, <u16>f32ToFp16(d));
  const id = f32x4.splat(amax != 0 ? <f32>127 / amax : 0);
  let sum = i32x4.splat(0);
  for (let j = 0; j < 32; j += 16) {
    const p = src + (<usize>j << 2);
    const i0 = cvtps(f32x4.nearest(f32x4.mul(v128.load(p), id))), i1 = cvtps(f32x4.nearest(f32x4.mul(v128.load(p, 16), id)));
    const i2 = cvtps(f32x4.nearest(f32x4.mul(v128.load(p, 32), id))), i3 = cvtps(f32x4.nearest(f32x4.mul(v128.load(p, 48), id)));
    sum = i32x4.add(sum, i32x4.add(i32x4.add(i0, i1), i32x4.add(i2, i3)));
    v128.store(dst + qOff + <usize>j, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(i0, i1), i16x8.narrow_i32x4_s(i2, i3)));
  }
  sum = i32x4.add(sum, i32x4.shuffle(sum, sum, 2, 3, 0, 1));
  sum = i32x4.add(sum, i32x4.shuffle(sum, sum, 1, 0, 3, 2));
  return i32x4.extract_lane(sum, 0);
}

/** cvtps_epi32 of rounded values: NaN and lanes outside [-2^31, 2^31) (±inf) -> INT_MIN. */
// @ts-ignore: decorator
@inline function cvtps(x: v128): v128 {
  return v128.bitselect(i32x4.trunc_sat_f32x4_s(x), i32x4.splat(i32.MIN_VALUE), f32x4.lt(x, f32x4.splat(2147483648.0)));
}

/** x86 quantize_row_q8_0: n/32 blocks of 34 bytes (d f16 | qs[32]). */
export function quantizeRowQ8_0(src: usize, dst: usize, n: i32): void {
  for (let b = 0; b < n; b += 32, src += 128, dst += 34) q8Block(src, dst, 2);
}

/** x86 quantize_row_q8_1: blocks of 36 bytes (d f16 | s f16 = fp16(d*Σq) | qs[32]). */
export function quantizeRowQ8_1(src: usize, dst: usize, n: i32): void {
  for (let b = 0; b < n; b += 32, src += 128, dst += 36) {
    const sum = q8Block(src, dst, 4);
    store<u16>(dst + 2, <u16>f32ToFp16(q8D * <f32>sum)); // d * (float)hsum_i32_8(...), d unrounded
  }
}

/**
 * quantize_row_q8_K_ref: blocks of 292 bytes (d f32 | qs[256] | bsums[16] i16). The signed max is
 * the first element reaching max |x|. nearest_int's magic-number trick is reproduced on the bits
 * ((bits(x + 1.5*2^23) & 0x7fffff) - 0x400000), so even out-of-range inputs give the twin's bytes.
 */
export function quantizeRowQ8_K(src: usize, dst: usize, n: i32): void {
  for (let b = 0; b < n; b += 256, src += 1024, dst += 292) {
    const amax = amaxScan(src, 256);
    if (amax == 0) {
      memory.fill(dst, 0, 292);
      continue;
    }
    let max: f32 = 0;
    for (let j = 0; j < 256; j++) {
      const v = load<f32>(src + (<usize>j << 2));
      if (abs<f32>(v) == amax) { max = v; break; }
    }
    const iscale = <f32>-127 / max;
    const is = f32x4.splat(iscale);
    const magic = f32x4.splat(12582912);
    for (let g = 0; g < 16; g++) {
      const p = src + (<usize>g << 6);
      let qv = i32x4.splat(0);
      let q0 = i32x4.splat(0), q1 = q0, q2 = q0, q3 = q0;
      for (let l = 0; l < 4; l++) {
        const s = f32x4.add(f32x4.mul(v128.load(p + (<usize>l << 4)), is), magic);
        let q = i32x4.sub(v128.and(s, i32x4.splat(0x7fffff)), i32x4.splat(0x400000));
        q = i32x4.min_s(q, i32x4.splat(127));
        qv = i32x4.add(qv, q);
        if (l == 0) q0 = q; else if (l == 1) q1 = q; else if (l == 2) q2 = q; else q3 = q;
      }
      // low byte of each q (the twin stores q & 0xff), in element order
      const m = i32x4.splat(0xff);
      const bytes = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(v128.and(q0, m), v128.and(q1, m)), i16x8.narrow_i32x4_u(v128.and(q2, m), v128.and(q3, m)));
      v128.store(dst + 4 + (<usize>g << 4), bytes);
      qv = i32x4.add(qv, i32x4.shuffle(qv, qv, 2, 3, 0, 1));
      qv = i32x4.add(qv, i32x4.shuffle(qv, qv, 1, 0, 3, 2));
      store<i16>(dst + 260 + (<usize>g << 1), <i16>i32x4.extract_lane(qv, 0));
    }
    store<f32>(dst, <f32>1 / iscale);
  }
}

// ------------------------------------------------------------------ prepared activation rows
// A8 block (from Q8_0 or Q8_1), A8_BYTES = 112 bytes (common.as):
//   @0 q i16[32] in even/odd order: i16x8 of elements 0,2,..,14 | 1,3,..,15 | 16,18,..,30 | 17,..,31
//      (weights are widened to i16 with shifts, which split even and odd bytes the same way; a dot
//      over an even and an odd vector sums elements 4l..4l+3 in lane l: vec_dot's 8 lanes)
//   @64 d f32 | @68 s f32 (Q8_1's s widened, else 0) | @72 Σq i32 | @76 (block 0 only) the row's
//   span Σ|d| / 2^min v2(d) as f32 (common.as a8Span; the lanes fast path's bound, lanes.as) |
//   @80 q i8[32] (relaxed Q4_0)
// plus a scale table for the 1-row × 4-token chain tiles: sd[b·tP + t] = d and
// sd[(nb + b)·tP + t] = s for Q8_1, Σq (i32) for Q8_0 (tP = token count rounded up to 4).
// AK super-block (from Q8_K), AK_BYTES = 576 bytes:
//   @0 q i16[256], per 16 elements the even then the odd ones (as A8) | @512 d f32 | @528 bsums i16[16] | @560 pair sums i16[8] (bsums[2i]+bsums[2i+1])

export function prepareA8(src: usize, dst: usize, nb: i32, isQ8_1: i32, sd: usize, tP: i32, t: i32): void {
  const qOff: usize = isQ8_1 ? 4 : 2;
  const blk: usize = isQ8_1 ? 36 : 34;
  const col = sd + (<usize>t << 2), rowStep = <usize>tP << 2, sOff = <usize>nb * rowStep;
  for (let b = 0; b < nb; b++, src += blk, dst += A8_BYTES) {
    const q0 = v128.load(src + qOff), q1 = v128.load(src + qOff + 16);
    v128.store(dst, i16x8.shr_s(i16x8.shl(q0, 8), 8));
    v128.store(dst, i16x8.shr_s(q0, 8), 16);
    v128.store(dst, i16x8.shr_s(i16x8.shl(q1, 8), 8), 32);
    v128.store(dst, i16x8.shr_s(q1, 8), 48);
    const d = f16(load<u16>(src)), sv: f32 = isQ8_1 ? f16(load<u16>(src + 2)) : 0;
    const s = i32x4.add(i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(q0)), i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(q1)));
    const sq = hsumLocal(s);
    store<f32>(dst, d, 64);
    store<f32>(dst, sv, 68);
    store<i32>(dst, sq, 72);
    v128.store(dst, q0, 80);
    v128.store(dst, q1, 96);
    store<f32>(col + <usize>b * rowStep, d);
    if (isQ8_1) store<f32>(col + sOff + <usize>b * rowStep, sv);
    else store<i32>(col + sOff + <usize>b * rowStep, sq);
  }
  const row = dst - <usize>nb * A8_BYTES;
  store<f32>(row, <f32>a8Span(row, nb), 76);
}

// @ts-ignore: decorator
@inline function hsumLocal(v: v128): i32 {
  v = i32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  v = i32x4.add(v, i32x4.shuffle(v, v, 1, 0, 3, 2));
  return i32x4.extract_lane(v, 0);
}

export function prepareAK(src: usize, dst: usize, nb: i32): void {
  for (let b = 0; b < nb; b++, src += 292, dst += AK_BYTES) {
    for (let j = 0; j < 256; j += 16) {
      const q = v128.load(src + 4 + <usize>j);
      v128.store(dst + (<usize>j << 1), i16x8.shr_s(i16x8.shl(q, 8), 8)); // even elements of the 16
      v128.store(dst + (<usize>j << 1), i16x8.shr_s(q, 8), 16); // odd elements
    }
    store<f32>(dst, load<f32>(src), 512);
    const b0 = v128.load(src + 260), b1 = v128.load(src + 276);
    v128.store(dst + 528, b0);
    v128.store(dst + 544, b1);
    // pair sums: adjacent i16 lanes added (|pair| <= 32*127, fits i16)
    const p0 = i32x4.extadd_pairwise_i16x8_s(b0), p1 = i32x4.extadd_pairwise_i16x8_s(b1);
    v128.store(dst + 560, i16x8.narrow_i32x4_s(p0, p1));
  }
}

/**
 * Convert nTok rows of n f32 (row stride xStride floats) for a weight whose vec_dot_type is
 * kind (0 Q8_0, 1 Q8_1, 2 Q8_K) into prepared rows at dst (dstStride bytes), using blk as a
 * one-row scratch for the ggml block format; the rows are tokens t0.. of the A8 scale table sd
 * (tP columns).
 */
export function prepareActivations(x: usize, nTok: i32, n: i32, kind: i32, blk: usize, dst: usize, dstStride: usize, sd: usize, tP: i32, t0: i32): void {
  for (let t = 0; t < nTok; t++) {
    const src = x + ((<usize>t * <usize>n) << 2);
    const d = dst + <usize>t * dstStride;
    if (kind == 0) { quantizeRowQ8_0(src, blk, n); prepareA8(blk, d, n >> 5, 0, sd, tP, t0 + t); }
    else if (kind == 1) { quantizeRowQ8_1(src, blk, n); prepareA8(blk, d, n >> 5, 1, sd, tP, t0 + t); }
    else { quantizeRowQ8_K(src, blk, n); prepareAK(blk, d, n >> 8); }
  }
}

/**
 * Float activations: kind 3 F32 -> f64 (promoted once, for the F32 kernels and the AMX F16
 * kernel), 4 F16 (RNE to fp16, widened to f64: the CPU path's tinyBLAS<fp16>), 5 BF16 (RNE to
 * bf16, DAZ as VDPBF16PS reads it: exponent 0 -> +0, widened to f32).
 */
export function prepareFloatActivations(x: usize, count: i32, kind: i32, dst: usize): void {
  for (let i = 0; i < count; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (kind == 3) store<f64>(dst + (<usize>i << 3), <f64>v);
    else if (kind == 4) store<f64>(dst + (<usize>i << 3), <f64>f16(f32ToFp16(v)));
    else {
      const h = f32ToBf16(v);
      store<f32>(dst + (<usize>i << 2), (h & 0x7f80) == 0 ? 0 : reinterpret<f32>(h << 16));
    }
  }
}

/**
 * Thread-split activation preparation: token rows [t0, t1) of x (n f32 each) into prepared rows
 * at dst (dstStride bytes): kinds 0-2 through prepareActivations with this thread's block
 * scratch (blk + thread·blkStride; A8 scales also go to the table sd of tP columns), kinds 3-5
 * through prepareFloatActivations.
 */
export function prepareRows(x: usize, t0: i32, t1: i32, n: i32, kind: i32, blk: usize, blkStride: usize, dst: usize, dstStride: usize, sd: usize, tP: i32, thread: i32): void {
  const src = x + ((<usize>t0 * <usize>n) << 2), d = dst + <usize>t0 * dstStride;
  if (kind >= 3) prepareFloatActivations(src, (t1 - t0) * n, kind, d);
  else prepareActivations(src, t1 - t0, n, kind, blk + <usize>thread * blkStride, d, dstStride, sd, tP, t0);
}
