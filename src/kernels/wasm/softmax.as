// AssemblyScript. ggml's softmax numerics, bit for bit with src/kernels/ggml-order.ts softmaxGgml:
// blocks of 16 use ggml_v_expf and add their _mm512_reduce_add_ps sum to an f64 total; the last
// (n mod 16) values use glibc's expf (libm-expf.ts, ported op for op); then every value is
// multiplied by (float)(1/sum). ggml_v_expf (vexp4, also SwiGLU's in norm.as) is compiled two ways:
// in the baseline module one lane per f64 lane with fma32 emulated exactly (fma.as); in the relaxed
// module on f32x4 lanes with each fma32 one f32x4.relaxed_madd, which that module only runs once
// relaxed-check.as selfCheck has shown it fused (then it IS fma32).
import { fma2, pack4, reduce16, round2 } from "./fma";

// ------------------------------------------------------------------ glibc expf (libm-expf.ts)

/** 2^(i/32) as glibc's table bits plus (i << 47) (libm-expf.ts POW2). */
const POW2 = memory.data<u64>([
  0x3ff0000000000000, 0x3ff059b0d3158574, 0x3ff0b5586cf9890f, 0x3ff11301d0125b51,
  0x3ff172b83c7d517b, 0x3ff1d4873168b9aa, 0x3ff2387a6e756238, 0x3ff29e9df51fdee1,
  0x3ff306fe0a31b715, 0x3ff371a7373aa9cb, 0x3ff3dea64c123422, 0x3ff44e086061892d,
  0x3ff4bfdad5362a27, 0x3ff5342b569d4f82, 0x3ff5ab07dd485429, 0x3ff6247eb03a5585,
  0x3ff6a09e667f3bcd, 0x3ff71f75e8ec5f74, 0x3ff7a11473eb0187, 0x3ff82589994cce13,
  0x3ff8ace5422aa0db, 0x3ff93737b0cdc5e5, 0x3ff9c49182a3f090, 0x3ffa5503b23e255d,
  0x3ffae89f995ad3ad, 0x3ffb7f76f2fb5e47, 0x3ffc199bdd85529c, 0x3ffcb720dcef9069,
  0x3ffd5818dcfba487, 0x3ffdfc97337b9b5f, 0x3ffea4afa2a490da, 0x3fff50765b6e4540,
]);

/** 2^e for an integer e in the f64 normal range, exact. */
// @ts-ignore: decorator
@inline function pow2(e: i64): f64 {
  return reinterpret<f64>((e + 1023) << 52);
}

/** expf(x) as glibc computes it (libm-expf.ts expf). */
export function expfGlibc(x: f32): f32 {
  if (x != x) return x;
  if (<f64>x < -103.97207641601562) return 0; // below log(2^-150): underflows to +0
  if (<f64>x > 88.72283172607422) return Infinity;
  const z = reinterpret<f64>(0x40471547652b82fe) * <f64>x; // INV_LN2_N
  const SHIFT = reinterpret<f64>(0x4338000000000000);
  const k = z + SHIFT - SHIFT;
  const r = z - k;
  const ki = <i64>k;
  const s = load<f64>(POW2 + (<usize>(ki & 31) << 3)) * pow2(<i64>Math.floor(k / 32));
  const y = (reinterpret<f64>(0x3ebc6af84b912394) * r + reinterpret<f64>(0x3f2ebfce50fac4f3)) * (r * r) + (reinterpret<f64>(0x3f962e42ff0c52d6) * r + 1);
  return <f32>(y * s);
}

// --------------------------------------------------------------- ggml_v_expf (ggml-order.ts vExpf)

// @ts-ignore: decorator
@inline function c32(bits: u32): v128 { return f64x2.splat(<f64>reinterpret<f32>(bits)); }

/** vExpf on two lanes (f32 values held as f64). */
// @ts-ignore: decorator
@inline function vexp2(x: v128): v128 {
  const R = c32(0x4b400000);
  const z = fma2(f64x2.mul(x, c32(0x3fb8aa3b)), R); // fma(x, log2e, 0x1.8p23)
  const n = round2(f64x2.sub(z, R));
  const hi = round2(f64x2.add(f64x2.neg(f64x2.mul(n, c32(0x3f317200))), x));
  const b = round2(f64x2.add(f64x2.neg(f64x2.mul(n, c32(0x35bfbe8e))), hi));
  const u = round2(f64x2.mul(b, b));
  const t1 = fma2(f64x2.mul(c32(0x3c072010), b), c32(0x3d2b9f17)); // fma(C5, b, C4)
  const t2 = fma2(f64x2.mul(c32(0x3e2aaf33), b), c32(0x3efffedb)); // fma(C3, b, C2)
  const t4 = fma2(f64x2.mul(c32(0x3f7ffff6), b), f64x2.splat(1)); // fma(C1, b, 1)
  const j = fma2(f64x2.mul(fma2(f64x2.mul(t1, u), t2), u), t4);
  // 2^n from its bits (|n| <= 192 here; other lanes are replaced below)
  const e = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(n));
  const p = round2(f64x2.mul(j, i64x2.shl(i64x2.add(e, i64x2.splat(1023)), 52)));
  const big = f64x2.gt(f64x2.abs(n), f64x2.splat(192));
  const sat = v128.and(f64x2.splat(Infinity), f64x2.gt(n, f64x2.splat(0))); // n <= 0 ? 0 : inf
  return v128.bitselect(sat, p, big);
}

// @ts-ignore: decorator
@inline function c4(bits: u32): v128 { return f32x4.splat(reinterpret<f32>(bits)); }

/** 2^k as f32 bits for integer lanes k in [-126, 127]. */
// @ts-ignore: decorator
@inline function pow2x4(k: v128): v128 { return i32x4.shl(i32x4.add(k, i32x4.splat(127)), 23); }

/**
 * vExpf on four f32 lanes with relaxed_madd (relaxed module only). scalef(j, n) = j·2^n rounded
 * once: n in [-126, 127] gives j·2^n (2^n a normal f32: one rounding); n < -126 gives
 * (j·2^(n+126))·2^-126 and n > 127 (j·2^(n-127))·2^127, where the first product only moves j's
 * exponent within the normal range (|n| <= 192 here, j in [0.7, 1.5]), so the second is the one
 * rounding. |n| > 192: 0 or +inf.
 */
// @ts-ignore: decorator
@inline function vexp4R(x: v128): v128 {
  const R = c4(0x4b400000); // 0x1.8p23
  const z = f32x4.relaxed_madd(x, c4(0x3fb8aa3b), R); // fma(x, log2e, R)
  const n = f32x4.sub(z, R);
  const nn = f32x4.neg(n);
  const hi = f32x4.relaxed_madd(nn, c4(0x3f317200), x); // fnmadd(n, ln2_hi, x)
  const b = f32x4.relaxed_madd(nn, c4(0x35bfbe8e), hi); // fnmadd(n, ln2_lo, ·)
  const u = f32x4.mul(b, b);
  const t1 = f32x4.relaxed_madd(c4(0x3c072010), b, c4(0x3d2b9f17)); // fma(C5, b, C4)
  const t2 = f32x4.relaxed_madd(c4(0x3e2aaf33), b, c4(0x3efffedb)); // fma(C3, b, C2)
  const t4 = f32x4.relaxed_madd(c4(0x3f7ffff6), b, f32x4.splat(1)); // fma(C1, b, 1)
  const j = f32x4.relaxed_madd(f32x4.relaxed_madd(t1, u, t2), u, t4);
  const k = i32x4.trunc_sat_f32x4_s(n);
  const lowK = i32x4.lt_s(k, i32x4.splat(-126)), highK = i32x4.gt_s(k, i32x4.splat(127));
  const e = v128.bitselect(i32x4.splat(-126), v128.bitselect(i32x4.splat(127), i32x4.splat(0), highK), lowK);
  const p = f32x4.mul(f32x4.mul(j, pow2x4(i32x4.sub(k, e))), pow2x4(e));
  const big = f32x4.gt(f32x4.abs(n), f32x4.splat(192));
  const sat = v128.and(f32x4.splat(Infinity), f32x4.gt(n, f32x4.splat(0))); // n <= 0 ? 0 : inf
  return v128.bitselect(sat, p, big);
}

/** ggml_v_expf of 4 f32 lanes, as f32x4: vexp4R in the relaxed module, two vexp2 otherwise. */
// @ts-ignore: decorator
@inline export function vexp4(x: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return vexp4R(x);
  return pack4(vexp2(f64x2.promote_low_f32x4(x)), vexp2(f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 0, 1))));
}

/**
 * softmaxGgml over row[0 .. n) (f32, masked entries -Infinity) in place, where every entry
 * outside [lo, hi) is masked. Blocks of 16 lying entirely outside [lo, hi) give exp = +0 and add
 * +0 to the sum, so they are just zeroed. Also writes the result widened to f64 into p64 unless
 * p64 is 0.
 */
export function softmaxRow(row: usize, p64: usize, n: i32, lo: i32, hi: i32): void {
  let mx: f32 = -Infinity;
  for (let j = lo; j < hi; j++) {
    const v = load<f32>(row + (<usize>j << 2));
    if (v > mx) mx = v;
  }
  const m = f32x4.splat(mx);
  let sum: f64 = 0;
  const n16 = n & ~15;
  for (let b = 0; b < n16; b += 16) {
    const p = row + (<usize>b << 2);
    if (b + 16 <= lo || b >= hi) {
      v128.store(p, i32x4.splat(0)); v128.store(p, i32x4.splat(0), 16);
      v128.store(p, i32x4.splat(0), 32); v128.store(p, i32x4.splat(0), 48);
      continue;
    }
    const x0 = f32x4.sub(v128.load(p), m), x1 = f32x4.sub(v128.load(p, 16), m);
    const x2 = f32x4.sub(v128.load(p, 32), m), x3 = f32x4.sub(v128.load(p, 48), m);
    const e0 = vexp4(x0), e1 = vexp4(x1), e2 = vexp4(x2), e3 = vexp4(x3);
    v128.store(p, e0); v128.store(p, e1, 16); v128.store(p, e2, 32); v128.store(p, e3, 48);
    sum += <f64>reduce16(e0, e1, e2, e3);
  }
  for (let j = n16; j < n; j++) {
    const e = expfGlibc(load<f32>(row + (<usize>j << 2)) - mx);
    store<f32>(row + (<usize>j << 2), e);
    sum += <f64>e;
  }
  const inv = <f32>(1 / sum);
  if (p64 == 0) {
    const iv = f32x4.splat(inv), n4 = n & ~3;
    for (let j = 0; j < n4; j += 4) v128.store(row + (<usize>j << 2), f32x4.mul(v128.load(row + (<usize>j << 2)), iv));
    for (let j = n4; j < n; j++) store<f32>(row + (<usize>j << 2), load<f32>(row + (<usize>j << 2)) * inv);
    return;
  }
  for (let j = 0; j < n; j++) {
    const v = load<f32>(row + (<usize>j << 2)) * inv;
    store<f32>(row + (<usize>j << 2), v);
    store<f64>(p64 + (<usize>j << 3), <f64>v);
  }
}
