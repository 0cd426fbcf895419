// AssemblyScript. K-quant kernels of the non-AMX profiles against the AK activation (quantize.as),
// each generic over the f32 fma: ExactFma here (fma.as emulation), RelaxedFma in relaxed-k.as.
//   lanes<type>   ggml_vec_dot_<type>_q8_K, x86 __AVX2__ (vec-dot-k.ts): per output 8 f32 lanes,
//                 lane l owning elements 4l..4l+3 of every 32 (AK's even/odd i16 order puts them in
//                 i32 lane l of a dot over one half); per super-block lane = fma(d, f32(isum_l), lane),
//                 Q2_K first lane = fma(dmin, f32(mins·bsums)_l, lane), Q6_K isum_l −= 32·(sc·bsums)_l,
//                 Q4_K a 4-lane min accumulator, Q5_K a scalar one; hsum8 at the end.
//   repack<type>  CPU_REPACK q4_K / q2_K 8x8 gemm (matmul-repack.ts): per output acc / accM chains,
//                 one fma pair per group (Q4_K 64, Q2_K 128 elements); <type>V: the gemv (256).
// Integer sums are exact: weights × sub-block scale fit i16 (|q·sc| <= 8064), i32 lanes never overflow.
// Tiles: 1 weight row × 4 tokens (common.as drive1x4; `four` false: a last group of 1 or 2 tokens, whose
// lanes 2, 3 are not computed); f32 accumulators as f32x4 (exact f32 values).
import { AK_BYTES, drive1x4, f16, hsum4 } from "./common";
import { fma2, hi64, hsum8, lo64, pack4 } from "./fma";
import { even16, odd16 } from "./legacy";

const AK = AK_BYTES; // q i16[256] even/odd per 16 @0, d f32 @512, bsums i16[16] @528, pair sums i16[8] @560

/** fma32(x, y, c) on 4 f32 lanes, exactly (fma.as fma2 on two f64x2 halves). */
export class ExactFma { // @ts-ignore: decorator
  @inline fma4(x: v128, y: v128, c: v128): v128 {
    return pack4(fma2(f64x2.mul(lo64(x), lo64(y)), lo64(c)), fma2(f64x2.mul(hi64(x), hi64(y)), hi64(c)));
  } // @ts-ignore: decorator
  /** true: a chain may keep its accumulators as two f64x2 (fma.as fmaLo / fmaHi) instead of converting per step. */
  @inline exact(): bool { return true; }
}

// @ts-ignore: decorator
@inline function da4(a0: usize, a1: usize, a2: usize, a3: usize): v128 {
  return f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(load<f32>(a0, 512)), 1, load<f32>(a1, 512)), 2, load<f32>(a2, 512)), 3, load<f32>(a3, 512));
}

// @ts-ignore: decorator
@inline function lane(v: v128, t: i32): v128 { // lane t (0..3) of an f32x4, splat
  return t == 0 ? i32x4.shuffle(v, v, 0, 0, 0, 0) : t == 1 ? i32x4.shuffle(v, v, 1, 1, 1, 1) : t == 2 ? i32x4.shuffle(v, v, 2, 2, 2, 2) : i32x4.shuffle(v, v, 3, 3, 3, 3);
}

/** Σ over one 32-element chunk of x (even lo, odd lo, even hi, odd hi) · the activation at a: lanes 0..3 of elements 0..15. */
// @ts-ignore: decorator
@inline function dotL(x0: v128, x1: v128, a: usize): v128 { return i32x4.add(i32x4.dot_i16x8_s(x0, v128.load(a)), i32x4.dot_i16x8_s(x1, v128.load(a, 16))); }
// @ts-ignore: decorator
@inline function dotH(x2: v128, x3: v128, a: usize): v128 { return i32x4.add(i32x4.dot_i16x8_s(x2, v128.load(a, 32)), i32x4.dot_i16x8_s(x3, v128.load(a, 48))); }

/** 6-bit scale (low byte) and min (high byte) of Q4_K/Q5_K sub-block j (k-quants.ts getScaleMinK4); s: scales[12]. */
// @ts-ignore: decorator
@inline function scaleMinK4(j: i32, s: usize): i32 {
  if (j < 4) return (<i32>load<u8>(s + j) & 63) | ((<i32>load<u8>(s + j + 4) & 63) << 8);
  const b = <i32>load<u8>(s + j + 4);
  return ((b & 0xf) | ((<i32>load<u8>(s + j - 4) >> 6) << 4)) | (((b >> 4) | ((<i32>load<u8>(s + j) >> 6) << 4)) << 8);
}

/** The 8 mins of a Q4_K/Q5_K super-block as i16x8. */
// @ts-ignore: decorator
@inline function minsK4(s: usize): v128 {
  const u0 = load<u32>(s), u1 = load<u32>(s, 4), u2 = load<u32>(s, 8);
  const mLo = u1 & 0x3f3f3f3f, mHi = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
  return i16x8.extend_low_i8x16_u(i64x2.splat(<i64>mLo | (<i64>mHi << 32)));
}

// Weight decoders, one per type: per 32-element chunk c (0..7) of a super-block, lo(w, c) / hi(w, c)
// = elements 0..15 / 16..31 as i8x16, sLo / sHi their sub-block scales; d / dmin the f16 scales'
// byte offsets (dmin < 0: none). kind: 2 Q2_K, 3 Q3_K, 4 Q4_K, 5 Q5_K, 6 Q6_K, 0 IQ4_XS.
export class KD2 { // 84 B: scales[16] (sc | m << 4) | qs[64] | d | dmin; e = 128h + 32j + l: bits 2j of qs[32h + l]
  // @ts-ignore: decorator
  @inline kind(): i32 { return 2; } // @ts-ignore: decorator
  @inline bytes(): usize { return 84; } // @ts-ignore: decorator
  @inline dOff(): usize { return 80; } // @ts-ignore: decorator
  @inline lo(w: usize, c: i32): v128 { return v128.and(i8x16.shr_u(v128.load(w + 16 + (<usize>(c >> 2) << 5)), <u32>(c & 3) << 1), i8x16.splat(3)); } // @ts-ignore: decorator
  @inline hi(w: usize, c: i32): v128 { return v128.and(i8x16.shr_u(v128.load(w + 32 + (<usize>(c >> 2) << 5)), <u32>(c & 3) << 1), i8x16.splat(3)); } // @ts-ignore: decorator
  @inline sLo(w: usize, c: i32): i32 { return <i32>load<u8>(w + (<usize>c << 1)) & 15; } // @ts-ignore: decorator
  @inline sHi(w: usize, c: i32): i32 { return <i32>load<u8>(w + (<usize>c << 1) + 1) & 15; }
}
export class KD3 { // 110 B: hmask[32] | qs[64] | scales[12] | d; q = bits 2j of qs[32h + l] − (hmask[l] bit 4h+j ? 0 : 4)
  // @ts-ignore: decorator
  @inline kind(): i32 { return 3; } // @ts-ignore: decorator
  @inline bytes(): usize { return 110; } // @ts-ignore: decorator
  @inline dOff(): usize { return 108; } // @ts-ignore: decorator
  @inline lo(w: usize, c: i32): v128 { return q3(w, c, 0); } // @ts-ignore: decorator
  @inline hi(w: usize, c: i32): v128 { return q3(w, c, 16); } // @ts-ignore: decorator
  @inline sLo(w: usize, c: i32): i32 { return q3Scale(w + 96, c << 1); } // @ts-ignore: decorator
  @inline sHi(w: usize, c: i32): i32 { return q3Scale(w + 96, (c << 1) + 1); }
}
// @ts-ignore: decorator
@inline function q3(w: usize, c: i32, half: usize): v128 {
  const q2 = v128.and(i8x16.shr_u(v128.load(w + 32 + (<usize>(c >> 2) << 5) + half), <u32>(c & 3) << 1), i8x16.splat(3));
  const m = i8x16.splat(<i8>(<i32>1 << c));
  const hb = v128.and(i8x16.eq(v128.and(v128.load(w + half), m), m), i8x16.splat(4));
  return i8x16.sub(v128.or(q2, hb), i8x16.splat(4));
}
/** Q3_K's signed 6-bit scale of sub-block j (k-quants.ts q3kScale). */
// @ts-ignore: decorator
@inline function q3Scale(s: usize, j: i32): i32 {
  const lo4 = j < 8 ? <i32>load<u8>(s + j) & 15 : <i32>load<u8>(s + j - 8) >> 4;
  return (lo4 | (((<i32>load<u8>(s + 8 + (j & 3)) >> ((j >> 2) << 1)) & 3) << 4)) - 32;
}
export class KD4 { // 144 B: d | dmin | scales[12] | qs[128]; chunk c = nibbles (c & 1) of qs[32(c >> 1) ..]
  // @ts-ignore: decorator
  @inline kind(): i32 { return 4; } // @ts-ignore: decorator
  @inline bytes(): usize { return 144; } // @ts-ignore: decorator
  @inline dOff(): usize { return 0; } // @ts-ignore: decorator
  @inline lo(w: usize, c: i32): v128 { return v128.and(i8x16.shr_u(v128.load(w + 16 + (<usize>(c >> 1) << 5)), <u32>(c & 1) << 2), i8x16.splat(15)); } // @ts-ignore: decorator
  @inline hi(w: usize, c: i32): v128 { return v128.and(i8x16.shr_u(v128.load(w + 32 + (<usize>(c >> 1) << 5)), <u32>(c & 1) << 2), i8x16.splat(15)); } // @ts-ignore: decorator
  @inline sLo(w: usize, c: i32): i32 { return scaleMinK4(c, w + 4) & 63; } // @ts-ignore: decorator
  @inline sHi(w: usize, c: i32): i32 { return scaleMinK4(c, w + 4) & 63; }
}
export class KD5 { // 176 B: d | dmin | scales[12] | qh[32] | qs[128]; + 16 where bit c of qh[l]
  // @ts-ignore: decorator
  @inline kind(): i32 { return 5; } // @ts-ignore: decorator
  @inline bytes(): usize { return 176; } // @ts-ignore: decorator
  @inline dOff(): usize { return 0; } // @ts-ignore: decorator
  @inline lo(w: usize, c: i32): v128 { return q5(w, c, 0); } // @ts-ignore: decorator
  @inline hi(w: usize, c: i32): v128 { return q5(w, c, 16); } // @ts-ignore: decorator
  @inline sLo(w: usize, c: i32): i32 { return scaleMinK4(c, w + 4) & 63; } // @ts-ignore: decorator
  @inline sHi(w: usize, c: i32): i32 { return scaleMinK4(c, w + 4) & 63; }
}
// @ts-ignore: decorator
@inline function q5(w: usize, c: i32, half: usize): v128 {
  const q = v128.and(i8x16.shr_u(v128.load(w + 48 + (<usize>(c >> 1) << 5) + half), <u32>(c & 1) << 2), i8x16.splat(15));
  const m = i8x16.splat(<i8>(<i32>1 << c));
  return v128.or(q, v128.and(i8x16.eq(v128.and(v128.load(w + 16 + half), m), m), i8x16.splat(16)));
}
export class KD6 { // 210 B: ql[128] | qh[64] | scales[16] int8 | d; chunk c = 4h + m: unsigned 6-bit q (the −32 goes per lane)
  // @ts-ignore: decorator
  @inline kind(): i32 { return 6; } // @ts-ignore: decorator
  @inline bytes(): usize { return 210; } // @ts-ignore: decorator
  @inline dOff(): usize { return 208; } // @ts-ignore: decorator
  @inline lo(w: usize, c: i32): v128 { return q6(w, c, 0); } // @ts-ignore: decorator
  @inline hi(w: usize, c: i32): v128 { return q6(w, c, 16); } // @ts-ignore: decorator
  @inline sLo(w: usize, c: i32): i32 { return <i32>load<i8>(w + 192 + (<usize>c << 1)); } // @ts-ignore: decorator
  @inline sHi(w: usize, c: i32): i32 { return <i32>load<i8>(w + 193 + (<usize>c << 1)); }
}
// @ts-ignore: decorator
@inline function q6(w: usize, c: i32, half: usize): v128 {
  const h = c >> 2, m = c & 3;
  const ql = v128.load(w + (<usize>h << 6) + (<usize>(m & 1) << 5) + half), qh = v128.load(w + 128 + (<usize>h << 5) + half);
  return v128.or(v128.and(i8x16.shr_u(ql, <u32>(m >> 1) << 2), i8x16.splat(15)), i8x16.shl(v128.and(i8x16.shr_u(qh, <u32>m << 1), i8x16.splat(3)), 4));
}
export class KDX { // IQ4_XS 136 B: d | scales_h u16 | scales_l[4] | qs[128]; chunk c: factor ls − 32, levels K[q]
  // @ts-ignore: decorator
  @inline kind(): i32 { return 0; } // @ts-ignore: decorator
  @inline bytes(): usize { return 136; } // @ts-ignore: decorator
  @inline dOff(): usize { return 0; } // @ts-ignore: decorator
  @inline lo(w: usize, c: i32): v128 { return i8x16.swizzle(kvalues(), v128.and(v128.load(w + 8 + (<usize>c << 4)), i8x16.splat(15))); } // @ts-ignore: decorator
  @inline hi(w: usize, c: i32): v128 { return i8x16.swizzle(kvalues(), i8x16.shr_u(v128.load(w + 8 + (<usize>c << 4)), 4)); } // @ts-ignore: decorator
  @inline sLo(w: usize, c: i32): i32 { return xsScale(w, c); } // @ts-ignore: decorator
  @inline sHi(w: usize, c: i32): i32 { return xsScale(w, c); }
}
// @ts-ignore: decorator
@inline function kvalues(): v128 { return i8x16(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113); }
// @ts-ignore: decorator
@inline function xsScale(w: usize, c: i32): i32 {
  return (((<i32>load<u8>(w + 4 + (c >> 1)) >> ((c & 1) << 2)) & 15) | (((<i32>load<u16>(w, 2) >> (c << 1)) & 3) << 4)) - 32;
}

/** Per-lane i16x8 factors for the lane corrections: Q2_K mins (sub-blocks 0..7 or 8..15), Q6_K int8 scales. */
// @ts-ignore: decorator
@inline function q2Mins(w: usize, hi: bool): v128 { return i16x8.shr_u(i16x8.extend_low_i8x16_u(v128.load64_zero(w + (hi ? 8 : 0))), 4); }
// @ts-ignore: decorator
@inline function q6Scales(w: usize, hi: bool): v128 { return i16x8.extend_low_i8x16_s(v128.load64_zero(w + (hi ? 200 : 192))); }

/**
 * vec_dot order, 1 weight row × 4 tokens; returns the 4 outputs as f32x4. Token t's 8 lanes live in
 * (fL, fH)[t]; per super-block the integer lanes (iL, iH)[t] are exact, then the type's fma steps.
 */
// @ts-ignore: decorator
@inline function lanesTile4<D, M>(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, nb: i32, four: bool): v128 {
  const dec = changetype<D>(0), fm = changetype<M>(0);
  const kind = dec.kind(), wb = dec.bytes();
  const z = f32x4.splat(0);
  let fL0 = z, fH0 = z, fL1 = z, fH1 = z, fL2 = z, fH2 = z, fL3 = z, fH3 = z;
  let m0 = z, m1 = z, m2 = z, m3 = z; // Q4_K: min lanes per token; Q5_K: m0 = summs of the 4 tokens
  for (let b = 0; b < nb; b++, w += wb, a0 += AK, a1 += AK, a2 += AK, a3 += AK) {
    let iL0 = i32x4.splat(0), iH0 = iL0, iL1 = iL0, iH1 = iL0, iL2 = iL0, iH2 = iL0, iL3 = iL0, iH3 = iL0;
    for (let c = 0; c < 8; c++) {
      const lo = dec.lo(w, c), hi = dec.hi(w, c);
      const sl = i16x8.splat(<i16>dec.sLo(w, c)), sh = i16x8.splat(<i16>dec.sHi(w, c));
      const x0 = i16x8.mul(even16(lo), sl), x1 = i16x8.mul(odd16(lo), sl), x2 = i16x8.mul(even16(hi), sh), x3 = i16x8.mul(odd16(hi), sh);
      const o = <usize>c << 6;
      iL0 = i32x4.add(iL0, dotL(x0, x1, a0 + o)); iH0 = i32x4.add(iH0, dotH(x2, x3, a0 + o));
      iL1 = i32x4.add(iL1, dotL(x0, x1, a1 + o)); iH1 = i32x4.add(iH1, dotH(x2, x3, a1 + o));
      if (four) { // tokens 2, 3 (a tile of 1 or 2 tokens skips them)
        iL2 = i32x4.add(iL2, dotL(x0, x1, a2 + o)); iH2 = i32x4.add(iH2, dotH(x2, x3, a2 + o));
        iL3 = i32x4.add(iL3, dotL(x0, x1, a3 + o)); iH3 = i32x4.add(iH3, dotH(x2, x3, a3 + o));
      }
    }
    const da = da4(a0, a1, a2, a3);
    const d = f32x4.mul(f32x4.splat(f16(load<u16>(w + dec.dOff()))), da);
    if (kind == 6) { // isum_l −= 32·(sc[2l]·bsums[2l] + sc[2l+1]·bsums[2l+1])
      const sl = q6Scales(w, false), sh = q6Scales(w, true);
      iL0 = i32x4.sub(iL0, i32x4.shl(i32x4.dot_i16x8_s(sl, v128.load(a0, 528)), 5)); iH0 = i32x4.sub(iH0, i32x4.shl(i32x4.dot_i16x8_s(sh, v128.load(a0, 544)), 5));
      iL1 = i32x4.sub(iL1, i32x4.shl(i32x4.dot_i16x8_s(sl, v128.load(a1, 528)), 5)); iH1 = i32x4.sub(iH1, i32x4.shl(i32x4.dot_i16x8_s(sh, v128.load(a1, 544)), 5));
      if (four) {
        iL2 = i32x4.sub(iL2, i32x4.shl(i32x4.dot_i16x8_s(sl, v128.load(a2, 528)), 5)); iH2 = i32x4.sub(iH2, i32x4.shl(i32x4.dot_i16x8_s(sh, v128.load(a2, 544)), 5));
        iL3 = i32x4.sub(iL3, i32x4.shl(i32x4.dot_i16x8_s(sl, v128.load(a3, 528)), 5)); iH3 = i32x4.sub(iH3, i32x4.shl(i32x4.dot_i16x8_s(sh, v128.load(a3, 544)), 5));
      }
    }
    if (kind == 2) { // lane = fma(dmin, f32(mins[2l]·bsums[2l] + mins[2l+1]·bsums[2l+1]), lane), before the d step
      const dm = f32x4.neg(f32x4.mul(f32x4.splat(f16(load<u16>(w, 82))), da));
      const ml = q2Mins(w, false), mh = q2Mins(w, true);
      let s = lane(dm, 0);
      fL0 = fm.fma4(f32x4.convert_i32x4_s(i32x4.dot_i16x8_s(ml, v128.load(a0, 528))), s, fL0); fH0 = fm.fma4(f32x4.convert_i32x4_s(i32x4.dot_i16x8_s(mh, v128.load(a0, 544))), s, fH0);
      s = lane(dm, 1);
      fL1 = fm.fma4(f32x4.convert_i32x4_s(i32x4.dot_i16x8_s(ml, v128.load(a1, 528))), s, fL1); fH1 = fm.fma4(f32x4.convert_i32x4_s(i32x4.dot_i16x8_s(mh, v128.load(a1, 544))), s, fH1);
      if (four) {
        s = lane(dm, 2);
        fL2 = fm.fma4(f32x4.convert_i32x4_s(i32x4.dot_i16x8_s(ml, v128.load(a2, 528))), s, fL2); fH2 = fm.fma4(f32x4.convert_i32x4_s(i32x4.dot_i16x8_s(mh, v128.load(a2, 544))), s, fH2);
        s = lane(dm, 3);
        fL3 = fm.fma4(f32x4.convert_i32x4_s(i32x4.dot_i16x8_s(ml, v128.load(a3, 528))), s, fL3); fH3 = fm.fma4(f32x4.convert_i32x4_s(i32x4.dot_i16x8_s(mh, v128.load(a3, 544))), s, fH3);
      }
    }
    if (kind == 4 || kind == 5) {
      const dm = f32x4.neg(f32x4.mul(f32x4.splat(f16(load<u16>(w, 2))), da));
      const mv = minsK4(w + 4); // lane j of dot(mins, pairs) = min[2j]·q8s[2j] + min[2j+1]·q8s[2j+1]
      const q0 = i32x4.dot_i16x8_s(mv, v128.load(a0, 560)), q1 = i32x4.dot_i16x8_s(mv, v128.load(a1, 560));
      const q2 = four ? i32x4.dot_i16x8_s(mv, v128.load(a2, 560)) : q0, q3 = four ? i32x4.dot_i16x8_s(mv, v128.load(a3, 560)) : q0;
      if (kind == 4) {
        m0 = fm.fma4(f32x4.convert_i32x4_s(q0), lane(dm, 0), m0); m1 = fm.fma4(f32x4.convert_i32x4_s(q1), lane(dm, 1), m1);
        if (four) { m2 = fm.fma4(f32x4.convert_i32x4_s(q2), lane(dm, 2), m2); m3 = fm.fma4(f32x4.convert_i32x4_s(q3), lane(dm, 3), m3); }
      } else { // summs = fma(f32(Σ_i min[i]·q8s[i]), dmin, summs), the 4 tokens in m0
        m0 = fm.fma4(f32x4.convert_i32x4_s(hsum4(q0, q1, q2, q3)), dm, m0);
      }
    }
    let s = lane(d, 0); // lane = fma(d, f32(isum_l), lane); |isum_l| < 2^24: exact conversions
    fL0 = fm.fma4(f32x4.convert_i32x4_s(iL0), s, fL0); fH0 = fm.fma4(f32x4.convert_i32x4_s(iH0), s, fH0);
    s = lane(d, 1);
    fL1 = fm.fma4(f32x4.convert_i32x4_s(iL1), s, fL1); fH1 = fm.fma4(f32x4.convert_i32x4_s(iH1), s, fH1);
    if (four) {
      s = lane(d, 2);
      fL2 = fm.fma4(f32x4.convert_i32x4_s(iL2), s, fL2); fH2 = fm.fma4(f32x4.convert_i32x4_s(iH2), s, fH2);
      s = lane(d, 3);
      fL3 = fm.fma4(f32x4.convert_i32x4_s(iL3), s, fL3); fH3 = fm.fma4(f32x4.convert_i32x4_s(iH3), s, fH3);
    }
  }
  let r = f32x4.splat(hsum8(fL0, fH0));
  r = f32x4.replace_lane(r, 1, hsum8(fL1, fH1));
  r = f32x4.replace_lane(r, 2, hsum8(fL2, fH2));
  r = f32x4.replace_lane(r, 3, hsum8(fL3, fH3));
  if (kind == 4) { // fround(hsum8 + ((m0 + m2) + (m1 + m3)))
    const m = f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(hsum4f(m0)), 1, hsum4f(m1)), 2, hsum4f(m2)), 3, hsum4f(m3));
    r = f32x4.add(r, m);
  }
  if (kind == 5) r = f32x4.add(r, m0);
  return r;
}

/** (v0 + v2) + (v1 + v3) of an f32x4, in f32. */
// @ts-ignore: decorator
@inline function hsum4f(v: v128): f32 {
  const u = f32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(u, 0) + f32x4.extract_lane(u, 1);
}

/**
 * Repack order (q4_K / q2_K 8x8), 1 weight row × 4 tokens: acc = fma(f32(isum_g), d, acc) and
 * accM = fma(f32(msum_g), dmin, accM) per group of `group` 32-element chunks; fround(acc − accM).
 */
// @ts-ignore: decorator
@inline function repackTile4<D, M>(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, nb: i32, group: i32, four: bool): v128 {
  const dec = changetype<D>(0), fm = changetype<M>(0);
  const kind = dec.kind(), wb = dec.bytes();
  let acc = f32x4.splat(0), accM = acc;
  for (let b = 0; b < nb; b++, w += wb, a0 += AK, a1 += AK, a2 += AK, a3 += AK) {
    const da = da4(a0, a1, a2, a3);
    const d = f32x4.mul(f32x4.splat(f16(load<u16>(w + dec.dOff()))), da), dm = f32x4.mul(f32x4.splat(f16(load<u16>(w + dec.dOff() + 2))), da);
    // per token, the msum of each chunk pair (Q4_K: sub-blocks 2j, 2j+1) or chunk (Q2_K lanes 0..3 / 4..7)
    let mA0 = i32x4.splat(0), mA1 = mA0, mA2 = mA0, mA3 = mA0, mB0 = mA0, mB1 = mA0, mB2 = mA0, mB3 = mA0;
    if (kind == 4) {
      const mv = minsK4(w + 4);
      mA0 = i32x4.dot_i16x8_s(mv, v128.load(a0, 560)); mA1 = i32x4.dot_i16x8_s(mv, v128.load(a1, 560));
      if (four) { mA2 = i32x4.dot_i16x8_s(mv, v128.load(a2, 560)); mA3 = i32x4.dot_i16x8_s(mv, v128.load(a3, 560)); }
    } else {
      const ml = q2Mins(w, false), mh = q2Mins(w, true);
      mA0 = i32x4.dot_i16x8_s(ml, v128.load(a0, 528)); mB0 = i32x4.dot_i16x8_s(mh, v128.load(a0, 544));
      mA1 = i32x4.dot_i16x8_s(ml, v128.load(a1, 528)); mB1 = i32x4.dot_i16x8_s(mh, v128.load(a1, 544));
      if (four) {
        mA2 = i32x4.dot_i16x8_s(ml, v128.load(a2, 528)); mB2 = i32x4.dot_i16x8_s(mh, v128.load(a2, 544));
        mA3 = i32x4.dot_i16x8_s(ml, v128.load(a3, 528)); mB3 = i32x4.dot_i16x8_s(mh, v128.load(a3, 544));
      }
    }
    let s0 = i32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
    for (let c = 0; c < 8; c++) {
      const lo = dec.lo(w, c), hi = dec.hi(w, c);
      const sl = i16x8.splat(<i16>dec.sLo(w, c)), sh = i16x8.splat(<i16>dec.sHi(w, c));
      const x0 = i16x8.mul(even16(lo), sl), x1 = i16x8.mul(odd16(lo), sl), x2 = i16x8.mul(even16(hi), sh), x3 = i16x8.mul(odd16(hi), sh);
      const o = <usize>c << 6;
      s0 = i32x4.add(s0, i32x4.add(dotL(x0, x1, a0 + o), dotH(x2, x3, a0 + o)));
      s1 = i32x4.add(s1, i32x4.add(dotL(x0, x1, a1 + o), dotH(x2, x3, a1 + o)));
      if (four) { // tokens 2, 3 (a tile of 1 or 2 tokens skips them)
        s2 = i32x4.add(s2, i32x4.add(dotL(x0, x1, a2 + o), dotH(x2, x3, a2 + o)));
        s3 = i32x4.add(s3, i32x4.add(dotL(x0, x1, a3 + o), dotH(x2, x3, a3 + o)));
      }
      if ((c + 1) % group == 0) {
        acc = fm.fma4(f32x4.convert_i32x4_s(hsum4(s0, s1, s2, s3)), d, acc);
        s0 = i32x4.splat(0); s1 = s0; s2 = s0; s3 = s0;
        // this group's msum, the 4 tokens
        let ms: v128;
        if (group == 8) ms = hsum4(i32x4.add(mA0, mB0), i32x4.add(mA1, mB1), i32x4.add(mA2, mB2), i32x4.add(mA3, mB3));
        else if (kind == 2) ms = c < 4 ? hsum4(mA0, mA1, mA2, mA3) : hsum4(mB0, mB1, mB2, mB3); // halves of 128
        else ms = laneOf4(mA0, mA1, mA2, mA3, c >> 1); // Q4_K groups of 64: lane j of each token's dot
        accM = fm.fma4(f32x4.convert_i32x4_s(ms), dm, accM);
      }
    }
  }
  return f32x4.sub(acc, accM);
}

/** [x0[j], x1[j], x2[j], x3[j]] (i32 lanes). */
// @ts-ignore: decorator
@inline function laneOf4(x0: v128, x1: v128, x2: v128, x3: v128, j: i32): v128 {
  const m0 = i32x4.eq(i32x4(0, 1, 2, 3), i32x4.splat(j)); // each token's lane j alone, then hsum4
  return hsum4(v128.and(x0, m0), v128.and(x1, m0), v128.and(x2, m0), v128.and(x3, m0));
}

class LanesK<D, M> { // @ts-ignore: decorator
  @inline rowPrep(w: usize, nb: i32, scr: usize): void {} // @ts-ignore: decorator
  @inline tile4(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return lanesTile4<D, M>(w, a0, a1, a2, a3, nb, true); } // @ts-ignore: decorator
  @inline tile2(w: usize, a0: usize, a1: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return lanesTile4<D, M>(w, a0, a1, a0, a0, nb, false); }
}
class RepackK<D, M, G> { // G: a class whose group() is the chunks per fma group
  // @ts-ignore: decorator
  @inline rowPrep(w: usize, nb: i32, scr: usize): void {} // @ts-ignore: decorator
  @inline tile4(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return repackTile4<D, M>(w, a0, a1, a2, a3, nb, changetype<G>(0).group(), true); } // @ts-ignore: decorator
  @inline tile2(w: usize, a0: usize, a1: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return repackTile4<D, M>(w, a0, a1, a0, a0, nb, changetype<G>(0).group(), false); }
}
export class G2 { // @ts-ignore: decorator
  @inline group(): i32 { return 2; }
}
export class G4 { // @ts-ignore: decorator
  @inline group(): i32 { return 4; }
}
export class G8 { // @ts-ignore: decorator
  @inline group(): i32 { return 8; }
}

/** Kernel bodies for relaxed-k.as (the same with its fma). */
// @ts-ignore: decorator
@inline export function lanesK<D, M>(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive1x4<LanesK<D, M>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, 0, 0, 0); }
// @ts-ignore: decorator
@inline export function repackK<D, M, G>(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive1x4<RepackK<D, M, G>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, 0, 0, 0); }

// MATMUL family (wasm-calls.ts): (w, wStride, r0, r1, a, aStride, nTok, out, ne1, nb, sd, tP, scr, scrStride, thread); sd.. unused.
export function lanesQ2_K(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { lanesK<KD2, ExactFma>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function lanesQ3_K(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { lanesK<KD3, ExactFma>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function lanesQ4_K(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { lanesK<KD4, ExactFma>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function lanesQ5_K(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { lanesK<KD5, ExactFma>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function lanesQ6_K(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { lanesK<KD6, ExactFma>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function lanesIQ4_XS(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { lanesK<KDX, ExactFma>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function repackQ4_K(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { repackK<KD4, ExactFma, G2>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function repackQ4_KV(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { repackK<KD4, ExactFma, G8>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function repackQ2_K(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { repackK<KD2, ExactFma, G4>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function repackQ2_KV(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { repackK<KD2, ExactFma, G8>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
