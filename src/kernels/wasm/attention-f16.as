// AssemblyScript. Causal attention through llama.cpp's f16 KV cache (decoder models: Qwen3), bit for
// bit with src/kernels/attn-kv-f16.ts attentionKvF16 (the reference; docs/architectures/qwen3.md
// "Attention"), for both tinyBLAS widths (kn 16: avx512 / amx profiles, kn 8: avx2):
//   attnF16Prep  K -> kc (T, nHeadKv·hd) and V -> vt (nHeadKv·hd, Tp), f16-rounded f32, vt zero past T
//   attnF16Rows  per (head, query) row: f16(q), scores over keys j <= i (tinyBLAS, or ggml_vec_dot_f16
//                when hd % kn != 0 or T == 1), f32(s·scale), -inf up to pad16(i + 1), the profile's
//                softmax (softmax.as softmaxRow for 16 lanes, softmax8 below for 8), f16(p), then
//                o[i, d] = tinyBLAS (or vec_dot) of vt row d and p over the pad16(i + 1) cells.
//                Queries go in pairs 2p, 2p + 1 (same pad16 length): their tinyBLAS dots run as
//                4 × 2 tiles (4 keys or 4 dims × the 2 queries), each output keeping its own lanes.
//
// Exactness without any fix-up: every factor is an f16 value (11 significant bits, exponent
// >= -24), so each product a·b has <= 22 significant bits and magnitude in [2^-48, 65504^2]: it is
// exact in f32 (f32x4.mul), including inf and NaN cases. A tinyBLAS FMA step fma(a, b, c) then
// rounds only once, in the add: fround(a·b + c) = f32x4.add(f32x4.mul(a, b), c), the same IEEE
// result whether fused or not. The reference computes F(a·b + c) in f64 (JS numbers): its sum is
// of two f32 values rounded to f64 (53 >= 2·24 + 1 bits) and then to f32, and that double rounding
// is innocuous for additions (Figueroa 1995, "When is double rounding innocuous?"), so both equal
// the correctly rounded f32 sum: the same bits. On the relaxed module madd is f32x4.relaxed_madd,
// which gives these bits fused or unfused (the product is exact). The vec path's tail adds f32
// products to an f64 sum as ggml_vec_dot_f16 does (ggml_float), and so does this file.
import { fma1, hsum8, reduce16 } from "./fma";
import { softmaxRow } from "./softmax";

/** f32 -> f16 -> f32 of 4 lanes, nearest even, overflow to ±inf, NaN kept (quant/f16.ts fp16FromF32Bits). */
// @ts-ignore: decorator
@inline function roundF16x4(x: v128): v128 {
  const sign = v128.and(x, i32x4.splat(<i32>0x80000000));
  const a = v128.and(x, i32x4.splat(0x7fffffff));
  // normal f16 range: keep 10 mantissa bits, the 13 dropped ones decide (nearest even); >= 65536 -> inf
  let r = v128.and(i32x4.add(i32x4.add(a, i32x4.splat(0xfff)), v128.and(i32x4.shr_u(a, 13), i32x4.splat(1))), i32x4.splat(<i32>0xffffe000));
  r = v128.bitselect(i32x4.splat(0x7f800000), r, i32x4.ge_s(r, i32x4.splat(0x47800000)));
  // below 2^-14: multiples of 2^-24; (|x| + 0.5) - 0.5 rounds there, nearest even (ulp(0.5) = 2^-24)
  const sub = f32x4.sub(f32x4.add(a, f32x4.splat(0.5)), f32x4.splat(0.5));
  r = v128.bitselect(sub, r, i32x4.lt_s(a, i32x4.splat(0x38800000)));
  r = v128.bitselect(a, r, i32x4.gt_s(a, i32x4.splat(0x7f800000))); // NaN stays NaN
  return v128.or(r, sign);
}

/** roundF16x4 of one value. */
// @ts-ignore: decorator
@inline function roundF16(x: f32): f32 {
  return f32x4.extract_lane(roundF16x4(f32x4.splat(x)), 0);
}

/** dst[0 .. n) = f16(src[0 .. n)) (f32 values). */
function roundRow(src: usize, dst: usize, n: i32): void {
  let e = 0;
  for (; e + 4 <= n; e += 4) v128.store(dst + (<usize>e << 2), roundF16x4(v128.load(src + (<usize>e << 2))));
  for (; e < n; e++) store<f32>(dst + (<usize>e << 2), roundF16(load<f32>(src + (<usize>e << 2))));
}

/**
 * Rows [j0, j1) of 0 .. Tp: k (T, nHeadKv·hd) -> kc (T, nHeadKv·hd), v (T, nHeadKv·hd) -> vt (nHeadKv·hd, Tp),
 * both f16-rounded; vt columns j >= T are zero (the empty cache cells).
 */
export function attnF16Prep(k: usize, v: usize, kc: usize, vt: usize, j0: i32, j1: i32, T: i32, Tp: i32, nHeadKv: i32, hd: i32): void {
  const nKV = nHeadKv * hd;
  for (let j = j0; j < j1; j++) {
    const col = vt + (<usize>j << 2), tp = <usize>Tp << 2;
    if (j >= T) {
      for (let c = 0; c < nKV; c++) store<f32>(col + <usize>c * tp, 0);
      continue;
    }
    const src = <usize>(j * nKV) << 2;
    roundRow(k + src, kc + src, nKV);
    let c = 0;
    for (; c + 4 <= nKV; c += 4) {
      const r = roundF16x4(v128.load(v + src + (<usize>c << 2)));
      const p = col + <usize>c * tp;
      store<f32>(p, f32x4.extract_lane(r, 0));
      store<f32>(p + tp, f32x4.extract_lane(r, 1));
      store<f32>(p + 2 * tp, f32x4.extract_lane(r, 2));
      store<f32>(p + 3 * tp, f32x4.extract_lane(r, 3));
    }
    for (; c < nKV; c++) store<f32>(col + <usize>c * tp, roundF16(load<f32>(v + src + (<usize>c << 2))));
  }
}

// @ts-ignore: decorator
@inline function madd(acc: v128, x: v128, y: v128): v128 {
  // exact product, one rounding (header); fused or not, relaxed_madd gives these same bits
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, y, acc);
  return f32x4.add(f32x4.mul(x, y), acc);
}

/** tinyBLAS<16, fp16, fp16> of two rows x, x + xs against y over k (k % 16 == 0): 16 lanes each, reduce_add_ps; to out[0], out[1]. */
function tiny16x2(x: usize, xs: usize, y: usize, k: i32, out: usize): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  const x1 = x + xs;
  for (let e = 0; e < k; e += 16) {
    const o = <usize>e << 2;
    const y0 = v128.load(y + o), y1 = v128.load(y + o, 16), y2 = v128.load(y + o, 32), y3 = v128.load(y + o, 48);
    a0 = madd(a0, v128.load(x + o), y0); a1 = madd(a1, v128.load(x + o, 16), y1);
    a2 = madd(a2, v128.load(x + o, 32), y2); a3 = madd(a3, v128.load(x + o, 48), y3);
    b0 = madd(b0, v128.load(x1 + o), y0); b1 = madd(b1, v128.load(x1 + o, 16), y1);
    b2 = madd(b2, v128.load(x1 + o, 32), y2); b3 = madd(b3, v128.load(x1 + o, 48), y3);
  }
  store<f32>(out, reduce16(a0, a1, a2, a3));
  store<f32>(out, reduce16(b0, b1, b2, b3), 4);
}

/** tinyBLAS<8, fp16, fp16> of two rows x, x + xs against y over k (k % 8 == 0): 8 lanes each, hsum(__m256); to out[0], out[1]. */
function tiny8x2(x: usize, xs: usize, y: usize, k: i32, out: usize): void {
  let a0 = f32x4.splat(0), a1 = a0, b0 = a0, b1 = a0;
  const x1 = x + xs;
  for (let e = 0; e < k; e += 8) {
    const o = <usize>e << 2;
    const y0 = v128.load(y + o), y1 = v128.load(y + o, 16);
    a0 = madd(a0, v128.load(x + o), y0); a1 = madd(a1, v128.load(x + o, 16), y1);
    b0 = madd(b0, v128.load(x1 + o), y0); b1 = madd(b1, v128.load(x1 + o, 16), y1);
  }
  store<f32>(out, hsum8(a0, a1));
  store<f32>(out, hsum8(b0, b1), 4);
}

/**
 * tinyBLAS<kn> (kn 16 or 8) of the 4 × 2 outputs x_r · y_c (x rows x + r·xs, y rows y + c·ys) over k
 * (k % kn == 0), each output with tiny16x2's / tiny8x2's lanes and horizontal sum: x_r · y_c to
 * out_c[r]. One pass per group of 4 lanes (kn / 4 passes), 8 accumulators each, the groups parked
 * in fold (kn · 8 f32), then reduce16 or hsum8. Loads per 8 fused steps: 6, against tiny16x2's 12.
 */
function tile4x2(kn: i32, x: usize, xs: usize, y: usize, ys: usize, k: i32, out0: usize, out1: usize, fold: usize): void {
  const x1 = x + xs, x2 = x1 + xs, x3 = x2 + xs, y1 = y + ys, st = <usize>kn << 2;
  for (let g = 0; g < kn >> 2; g++) {
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    for (let o = <usize>g << 4, end = <usize>k << 2; o < end; o += st) {
      const ya = v128.load(y + o), yb = v128.load(y1 + o);
      let xr = v128.load(x + o);
      a0 = madd(a0, xr, ya); b0 = madd(b0, xr, yb);
      xr = v128.load(x1 + o);
      a1 = madd(a1, xr, ya); b1 = madd(b1, xr, yb);
      xr = v128.load(x2 + o);
      a2 = madd(a2, xr, ya); b2 = madd(b2, xr, yb);
      xr = v128.load(x3 + o);
      a3 = madd(a3, xr, ya); b3 = madd(b3, xr, yb);
    }
    const f = fold + (<usize>g << 7); // group g: the 8 outputs' lanes, 16 bytes each
    v128.store(f, a0); v128.store(f, a1, 16); v128.store(f, a2, 32); v128.store(f, a3, 48);
    v128.store(f, b0, 64); v128.store(f, b1, 80); v128.store(f, b2, 96); v128.store(f, b3, 112);
  }
  for (let r = 0; r < 8; r++) { // output r: x row r & 3 against y row r >> 2
    const f = fold + (<usize>r << 4);
    const v = kn == 16
      ? reduce16(v128.load(f), v128.load(f, 128), v128.load(f, 256), v128.load(f, 384))
      : hsum8(v128.load(f), v128.load(f, 128));
    store<f32>((r < 4 ? out0 : out1) + (<usize>(r & 3) << 2), v);
  }
}

/** tinyBLAS for one row (kn 16 or 8), to out[0]. */
function tiny1(kn: i32, x: usize, y: usize, k: i32, out: usize): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (let e = 0; e < k; e += kn) {
    const o = <usize>e << 2;
    a0 = madd(a0, v128.load(x + o), v128.load(y + o)); a1 = madd(a1, v128.load(x + o, 16), v128.load(y + o, 16));
    if (kn == 16) { a2 = madd(a2, v128.load(x + o, 32), v128.load(y + o, 32)); a3 = madd(a3, v128.load(x + o, 48), v128.load(y + o, 48)); }
  }
  store<f32>(out, kn == 16 ? reduce16(a0, a1, a2, a3) : hsum8(a0, a1));
}

/**
 * ggml_vec_dot_f16 (attn-kv-f16.ts dotVecF16) of x, y over n, where only the first L elements
 * can be non-zero products (the rest are skipped: a +0 product leaves a lane unchanged): 4·kn
 * lanes over the n - n % 4kn elements of whole steps, folded (0+2, 1+3, 0+1), reduced
 * (reduce_add_ps, or the AVX2 hadd order), then the rest added in f64. lanes: 64 f32 scratch.
 */
function vecF16(kn: i32, x: usize, y: usize, n: i32, L: i32, lanes: usize): f32 {
  const step = 4 * kn, np = n - n % step;
  for (let g = 0; g < 16; g++) v128.store(lanes + (<usize>g << 4), f32x4.splat(0));
  const end = min(np, L);
  let e = 0;
  for (; e + 4 <= end; e += 4) {
    const l = lanes + (<usize>(e % step) << 2);
    v128.store(l, madd(v128.load(l), v128.load(x + (<usize>e << 2)), v128.load(y + (<usize>e << 2))));
  }
  for (; e < end; e++) { // hd not a multiple of 4 (never with L a multiple of 16)
    const l = lanes + (<usize>(e % step) << 2);
    store<f32>(l, load<f32>(l) + load<f32>(x + (<usize>e << 2)) * load<f32>(y + (<usize>e << 2)));
  }
  let sum: f64;
  if (kn == 16) {
    // folded lanes 4g..4g+3 = (A[g] + A[g+8]) + (A[g+4] + A[g+12]), A[m] = lanes 4m..4m+3
    const f0 = f32x4.add(f32x4.add(v128.load(lanes), v128.load(lanes, 128)), f32x4.add(v128.load(lanes, 64), v128.load(lanes, 192)));
    const f1 = f32x4.add(f32x4.add(v128.load(lanes, 16), v128.load(lanes, 144)), f32x4.add(v128.load(lanes, 80), v128.load(lanes, 208)));
    const f2 = f32x4.add(f32x4.add(v128.load(lanes, 32), v128.load(lanes, 160)), f32x4.add(v128.load(lanes, 96), v128.load(lanes, 224)));
    const f3 = f32x4.add(f32x4.add(v128.load(lanes, 48), v128.load(lanes, 176)), f32x4.add(v128.load(lanes, 112), v128.load(lanes, 240)));
    sum = <f64>reduce16(f0, f1, f2, f3);
  } else {
    // 32 lanes: (A[g] + A[g+4]) + (A[g+2] + A[g+6]); then GGML_F32x8_REDUCE's hadd: t = l_i + l_{i+4}, (t0 + t1) + (t2 + t3)
    const f0 = f32x4.add(f32x4.add(v128.load(lanes), v128.load(lanes, 64)), f32x4.add(v128.load(lanes, 32), v128.load(lanes, 96)));
    const f1 = f32x4.add(f32x4.add(v128.load(lanes, 16), v128.load(lanes, 80)), f32x4.add(v128.load(lanes, 48), v128.load(lanes, 112)));
    const t = f32x4.add(f0, f1);
    sum = <f64>((f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1)) + (f32x4.extract_lane(t, 2) + f32x4.extract_lane(t, 3)));
  }
  for (let i = np; i < min(n, L); i++) sum += <f64>(load<f32>(x + (<usize>i << 2)) * load<f32>(y + (<usize>i << 2)));
  return <f32>sum;
}

// ggml_v_expf(__m256) constants (ggml-order-avx2.ts), f32 bits
// @ts-ignore: decorator
@inline function k32(bits: u32): f32 { return reinterpret<f32>(bits); }

/** One lane of ggml_v_expf(__m256) (ggml-order-avx2.ts vExpf8), every fma exact (fma.as fma1). */
function vExpf8(x: f32): f32 {
  const R = k32(0x4b400000);
  const z = fma1(<f64>x, <f64>k32(0x3fb8aa3b), <f64>R);
  const n = z - R;
  const hi = <f32>(-(<f64>n * <f64>k32(0x3f317200)) + <f64>x);
  const b = <f32>(-(<f64>n * <f64>k32(0x35bfbe8e)) + <f64>hi);
  const e = reinterpret<i32>(z) << 23;
  const k = reinterpret<f32>(e + 0x3f800000);
  const u = b * b;
  const t1 = fma1(<f64>k32(0x3c072010), <f64>b, <f64>k32(0x3d2b9f17)); // fma(C5, b, C4)
  const t2 = fma1(<f64>k32(0x3e2aaf33), <f64>b, <f64>k32(0x3efffedb)); // fma(C3, b, C2)
  const j = fma1(<f64>fma1(<f64>t1, <f64>u, <f64>t2), <f64>u, <f64>(k32(0x3f7ffff6) * b)); // ... + C1·b
  const an = abs(n);
  if (!(an > 126)) return fma1(<f64>j, <f64>k, <f64>k);
  const g: i32 = n <= 0 ? <i32>0x82000000 : 0;
  const s1 = reinterpret<f32>(g + 0x7f000000);
  const s2 = reinterpret<f32>(e - g);
  if (an > 192) return s1 * s1;
  return fma1(<f64>s2, <f64>j, <f64>s2) * s1;
}

/** ggml_vec_soft_max_f32 (AVX2) + the scale by (float)(1/sum) over row[0 .. n), n % 8 == 0 (ggml-order-avx2.ts softmaxGgml8). */
function softmax8(row: usize, n: i32): void {
  let mx: f32 = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = load<f32>(row + (<usize>j << 2));
    if (v > mx) mx = v;
  }
  let sum: f64 = 0;
  for (let b = 0; b < n; b += 8) {
    const p = row + (<usize>b << 2);
    for (let j = 0; j < 8; j++) store<f32>(p + (<usize>j << 2), vExpf8(load<f32>(p + (<usize>j << 2)) - mx));
    sum += <f64>hsum8(v128.load(p), v128.load(p, 16));
  }
  const inv = <f32>(1 / sum);
  for (let j = 0; j < n; j++) store<f32>(row + (<usize>j << 2), load<f32>(row + (<usize>j << 2)) * inv);
}

/**
 * Items [r0, r1) of nHead·nP, nP = ceil(T / 2): item r is head h = r / nP and the query pair
 * 2p, 2p + 1 (the second only if < T), p from m = r % nP taken from both ends (0, nP-1, 1, nP-2, ...),
 * so any contiguous range of items has about the same work. kc, vt from attnF16Prep; q, o
 * (T, nHead·hd); kn: tinyBLAS width (16 or 8); scale: the f64 whose bits are scaleHi:scaleLo.
 * Scratch of this thread at scr + thread·stride: qA, qB (hd f32 each, 16-byte rounded) | rowA,
 * rowB (Tp f32 each) | lanes (64 f32) | fold (128 f32).
 */
export function attnF16Rows(q: usize, kc: usize, vt: usize, o: usize, r0: i32, r1: i32, T: i32, Tp: i32, nHead: i32, nHeadKv: i32,
  hd: i32, kn: i32, scaleLo: i32, scaleHi: i32, scr: usize, stride: usize, thread: i32): void {
  const scale = reinterpret<f64>((<i64>scaleHi << 32) | (<i64>scaleLo & 0xffffffff));
  const hdB = (<usize>hd * 4 + 15) & ~15;
  const qA = scr + <usize>thread * stride, qB = qA + hdB;
  const rowA = qB + hdB, rowB = rowA + (<usize>Tp << 2);
  const lanes = rowB + (<usize>Tp << 2), fold = lanes + 256;
  const nQ = nHead * hd, nKV = nHeadKv * hd, group = nHead / nHeadKv, nP = (T + 1) >> 1;
  const kqTiny = T >= 2 && hd % kn == 0; // mul_mat(k, q): k = hd
  const kqvTiny = T >= 2 && (hd & 3) == 0; // mul_mat(v, kq): k = nKv (a multiple of 256)
  const ks = <usize>nKV << 2, vs = <usize>Tp << 2;
  for (let r = r0; r < r1; r++) {
    const h = r / nP, m = r % nP;
    const p = (m & 1) == 0 ? m >> 1 : nP - 1 - (m >> 1);
    const i = 2 * p, two = i + 1 < T; // queries i and (if two) i + 1
    const kvh = h / group;
    const qo = q + (<usize>(i * nQ + h * hd) << 2), oo = o + (<usize>(i * nQ + h * hd) << 2);
    const qn = <usize>nQ << 2; // query i + 1's row of q and o: one further
    roundRow(qo, qA, hd);
    if (two) roundRow(qo + qn, qB, hd);
    const L = (i + 16) & ~15; // pad16(i + 1) = pad16(i + 2) (i is even): cells past it add exact zeros
    // scores of keys 0 .. i (query i) and 0 .. i + 1 (query i + 1)
    const kh = kc + (<usize>(kvh * hd) << 2);
    if (kqTiny) {
      let j = 0;
      if (two) {
        for (; j + 4 <= i + 1; j += 4) {
          const jo = <usize>j << 2;
          tile4x2(kn, kh + <usize>j * ks, ks, qA, qB - qA, hd, rowA + jo, rowB + jo, fold);
        }
        if (j + 2 <= i + 1) { // keys j, j + 1 of both queries
          tinyRow(kn, kh + <usize>j * ks, ks, qA, hd, rowA + (<usize>j << 2));
          tinyRow(kn, kh + <usize>j * ks, ks, qB, hd, rowB + (<usize>j << 2));
          j += 2;
        }
        tinyRow(kn, kh + <usize>j * ks, ks, qB, hd, rowB + (<usize>j << 2)); // keys i, i + 1 of query i + 1
      } else {
        for (; j + 2 <= i + 1; j += 2) tinyRow(kn, kh + <usize>j * ks, ks, qA, hd, rowA + (<usize>j << 2));
      }
      tiny1(kn, kh + <usize>j * ks, qA, hd, rowA + (<usize>j << 2)); // key i of query i
    } else {
      for (let j = 0; j <= i; j++) store<f32>(rowA + (<usize>j << 2), vecF16(kn, kh + <usize>j * ks, qA, hd, hd, lanes));
      if (two) for (let j = 0; j <= i + 1; j++) store<f32>(rowB + (<usize>j << 2), vecF16(kn, kh + <usize>j * ks, qB, hd, hd, lanes));
    }
    probabilities(rowA, i, L, kn, scale);
    if (two) probabilities(rowB, i + 1, L, kn, scale);
    // outputs: vt rows d of this kv head against the probabilities, over the L cells
    const vh = vt + <usize>(kvh * hd) * vs;
    if (kqvTiny) {
      for (let d = 0; d < hd; d += two ? 4 : 2) { // hd % 4 == 0
        const vd = vh + <usize>d * vs, od = oo + (<usize>d << 2);
        if (two) tile4x2(kn, vd, vs, rowA, rowB - rowA, L, od, od + qn, fold);
        else tinyRow(kn, vd, vs, rowA, L, od);
      }
    } else {
      const n = (L + 4 * kn - 1) & ~(4 * kn - 1); // the padded row (<= nKv) in whole 4·kn steps
      for (let d = 0; d < hd; d++) {
        store<f32>(oo + (<usize>d << 2), vecF16(kn, vh + <usize>d * vs, rowA, n, L, lanes));
        if (two) store<f32>(oo + qn + (<usize>d << 2), vecF16(kn, vh + <usize>d * vs, rowB, n, L, lanes));
      }
    }
  }
}

/** tiny16x2 or tiny8x2 (the profile's width) of rows x, x + xs against y over k, to out[0], out[1]. */
// @ts-ignore: decorator
@inline function tinyRow(kn: i32, x: usize, xs: usize, y: usize, k: i32, out: usize): void {
  if (kn == 16) tiny16x2(x, xs, y, k, out);
  else tiny8x2(x, xs, y, k, out);
}

/** Scores of keys 0 .. i in row[0 .. i] -> f16 probabilities over row[0 .. L): f32(s·scale), -inf to L, the profile's softmax, f16(p). */
function probabilities(row: usize, i: i32, L: i32, kn: i32, scale: f64): void {
  for (let j = 0; j <= i; j++) store<f32>(row + (<usize>j << 2), <f32>(<f64>load<f32>(row + (<usize>j << 2)) * scale));
  for (let j = i + 1; j < L; j++) store<f32>(row + (<usize>j << 2), -Infinity);
  if (kn == 16) softmaxRow(row, 0, L, 0, i + 1); // no f64 copy: the f32 row is read
  else softmax8(row, L);
  roundRow(row, row, L);
}
