// AssemblyScript, relaxed-SIMD module only: Q8_0 kernels whose integer part is the relaxed
// unsigned × signed dot, i32x4.relaxed_dot_i8x16_i7x16_add_s(w, a', c): per i32 lane, c plus the
// sum of 4 adjacent byte products. It is an exact s8 × u8 dot only where the engine lowers it to
// VPDPBUSD (V8 on x64 with AVX-VNNI; measured: Node 24); other lowerings saturate pairs at int16 or
// lose c, so these kernels run only after usdotCheck() (and wasm-usdot.ts's probe) pass.
// Exactness: Q8_0 activations are in [−127, 127]; a' = a + 128 = a XOR 0x80 is in [1, 255] (the
// unsigned operand), and Σ w·a' = Σ w·a + 128·Σ w per quad, so c = −128·(quad sums of w) gives
// Σ w·a exactly (|Σ| ≤ 4·128·255: no overflow). The quad sums are exactly the 8 lanes of the vec_dot
// order (lane l = elements 4l..4l+3), so each block's float step is the relaxed_madd of
// relaxed-lanes.as.
import { A8_BYTES, drive1x4, hsum4 } from "./common";
import { chainQ8_0, rowScales, DQ8_0 } from "./legacy";
import { lanesQ8_0 } from "./lanes";
import { prepareActivations } from "./quantize";

const A8 = A8_BYTES;

/** −128 · the 4 quad sums of 16 signed weight bytes (the correction that makes the dot exact; −128 weights included). */
// @ts-ignore: decorator
@inline function negQuad128(w: v128): v128 {
  return i32x4.neg(i32x4.shl(i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(w)), 7));
}

// @ts-ignore: decorator
@inline function hsum8(a: v128, b: v128): f32 {
  const t = f32x4.add(a, b);
  const u = f32x4.add(t, i32x4.shuffle(t, t, 2, 3, 0, 1));
  return f32x4.extract_lane(u, 0) + f32x4.extract_lane(u, 1);
}

/** Exact quads of one token: lanes of elements 0..15 (lo) and 16..31 (hi) of the block at a. */
// @ts-ignore: decorator
@inline function qlo(w: v128, c: v128, a: usize): v128 { return i32x4.relaxed_dot_i8x16_i7x16_add_s(w, v128.xor(v128.load(a, 80), i8x16.splat(-128)), c); }
// @ts-ignore: decorator
@inline function qhi(w: v128, c: v128, a: usize): v128 { return i32x4.relaxed_dot_i8x16_i7x16_add_s(w, v128.xor(v128.load(a, 96), i8x16.splat(-128)), c); }

/** vec_dot order, 1 row × 4 tokens (relaxed-lanes.as lanesTile4 with the USDot integer part). */
// @ts-ignore: decorator
@inline function usLanesTile4(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 {
  const step = <usize>tP << 2;
  let l0 = f32x4.splat(0), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0;
  for (let b = 0; b < nb; b++, w += 34, a0 += A8, a1 += A8, a2 += A8, a3 += A8, sd += step, scr += 4) {
    const lo = v128.load(w, 2), hi = v128.load(w, 18);
    const cl = negQuad128(lo), ch = negQuad128(hi);
    const d = f32x4.mul(f32x4.splat(load<f32>(scr)), v128.load(sd)); // fround(dw·da) of the 4 tokens
    let s = i32x4.shuffle(d, d, 0, 0, 0, 0);
    l0 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(qlo(lo, cl, a0)), s, l0);
    h0 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(qhi(hi, ch, a0)), s, h0);
    s = i32x4.shuffle(d, d, 1, 1, 1, 1);
    l1 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(qlo(lo, cl, a1)), s, l1);
    h1 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(qhi(hi, ch, a1)), s, h1);
    s = i32x4.shuffle(d, d, 2, 2, 2, 2);
    l2 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(qlo(lo, cl, a2)), s, l2);
    h2 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(qhi(hi, ch, a2)), s, h2);
    s = i32x4.shuffle(d, d, 3, 3, 3, 3);
    l3 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(qlo(lo, cl, a3)), s, l3);
    h3 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(qhi(hi, ch, a3)), s, h3);
  }
  let r = f32x4.splat(hsum8(l0, h0));
  r = f32x4.replace_lane(r, 1, hsum8(l1, h1));
  r = f32x4.replace_lane(r, 2, hsum8(l2, h2));
  return f32x4.replace_lane(r, 3, hsum8(l3, h3));
}

/** AMX chain order, 1 row × 4 tokens (relaxed-kernels.as maddTile4 with the USDot integer part). */
// @ts-ignore: decorator
@inline function usChainTile4(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 {
  const step = <usize>tP << 2;
  let c = f32x4.splat(0);
  for (let b = 0; b < nb; b++, w += 34, a0 += A8, a1 += A8, a2 += A8, a3 += A8, sd += step, scr += 4) {
    const lo = v128.load(w, 2), hi = v128.load(w, 18);
    const cl = negQuad128(lo), ch = negQuad128(hi);
    const is = hsum4(i32x4.add(qlo(lo, cl, a0), qhi(hi, ch, a0)), i32x4.add(qlo(lo, cl, a1), qhi(hi, ch, a1)),
      i32x4.add(qlo(lo, cl, a2), qhi(hi, ch, a2)), i32x4.add(qlo(lo, cl, a3), qhi(hi, ch, a3)));
    const d = f32x4.mul(f32x4.splat(load<f32>(scr)), v128.load(sd));
    c = f32x4.relaxed_madd(f32x4.convert_i32x4_s(is), d, c);
  }
  return c;
}

class UsLanes { // @ts-ignore: decorator
  @inline rowPrep(w: usize, nb: i32, scr: usize): void { rowScales<DQ8_0>(w, nb, scr); } // @ts-ignore: decorator
  @inline tile4(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return usLanesTile4(w, a0, a1, a2, a3, sd, tP, nb, scr); } // @ts-ignore: decorator
  @inline tile2(w: usize, a0: usize, a1: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return usLanesTile4(w, a0, a1, a0, a0, sd, tP, nb, scr); }
}
class UsChain { // @ts-ignore: decorator
  @inline rowPrep(w: usize, nb: i32, scr: usize): void { rowScales<DQ8_0>(w, nb, scr); } // @ts-ignore: decorator
  @inline tile4(w: usize, a0: usize, a1: usize, a2: usize, a3: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return usChainTile4(w, a0, a1, a2, a3, sd, tP, nb, scr); } // @ts-ignore: decorator
  @inline tile2(w: usize, a0: usize, a1: usize, sd: usize, tP: i32, nb: i32, scr: usize): v128 { return usChainTile4(w, a0, a1, a0, a0, sd, tP, nb, scr); }
}

// (w, wStride, r0, r1, a, aStride, nTok, out, ne1, nb, sd, tP, scr, scrStride, thread): as legacy.as's chain kernels.
export function lanesQ8_0U(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { drive1x4<UsLanes>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride); }
export function chainQ8_0U(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { drive1x4<UsChain>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride); }

/**
 * One relaxed dot on the probe's inputs (wasm-usdot.ts): op1 = −128 in lanes 0, 2 and 127 in
 * lanes 1, 3 (all 4 bytes of the lane), op2 = 255 everywhere, c = [c0, c1, c0, c1]. The exact
 * s8 × u8 result is c − 130560 / c + 129540; a saturating lowering gives c − 65536 / c + 65534.
 * Writes the 4 lanes to out.
 */
export function usdotProbe(c0: i32, c1: i32, out: usize): void {
  const w = i32x4(0x80808080, 0x7f7f7f7f, 0x80808080, 0x7f7f7f7f);
  v128.store(out, i32x4.relaxed_dot_i8x16_i7x16_add_s(w, i8x16.splat(-1), i32x4(c0, c1, c0, c1)));
}

/**
 * The USDot kernels against their exact twins (lanesQ8_0, chainQ8_0) at `p` (~64 KiB): 3 rows ×
 * 1..5 tokens × 256 elements, weights hitting −128 and 127, activations hitting ±127. Returns the
 * number of differing outputs (0 = usable). Run cold and after warm-up by wasm-usdot.ts.
 */
export function usdotCheck(p: usize): i32 {
  const n = 256, rows = 3, maxT = 5, nb = n >> 5, tP = 8;
  const x = p, blk = x + 4 * n * maxT, act = blk + 1024, w = act + A8 * nb * maxT;
  const o1 = w + 34 * nb * rows + 64, o2 = o1 + 4 * rows * maxT, sd = o2 + 4 * rows * maxT + 64;
  const scr = sd + 8 * nb * tP;
  let s: u32 = 777;
  for (let i = 0; i < n * maxT; i++) {
    s = s * 1103515245 + 12345;
    let v = <f32>((s >>> 8) & 0xffff) / 32768 - 1;
    if ((i & 31) == 5) v = (i & 64) ? 3 : -3; // block extremes -> ±127
    store<f32>(x + (<usize>i << 2), v);
  }
  for (let i = 0; i < 34 * nb * rows; i++) {
    s = s * 1103515245 + 12345;
    const r = s >>> 24;
    store<u8>(w + i, <u8>((i & 7) == 3 ? 0x80 : (i & 7) == 4 ? 0x7f : r)); // −128 and 127 weights
  }
  for (let r = 0; r < rows * nb; r++) store<u16>(w + 34 * r, 0x3800 + <u16>(r & 0xff));
  let bad = 0;
  const ws: usize = 34 * <usize>nb;
  for (let t = 1; t <= maxT; t++) {
    prepareActivations(x, t, n, 0, blk, act, A8 * nb, sd, tP, 0);
    lanesQ8_0(w, ws, 0, rows, act, A8 * nb, t, o1, rows, nb, sd, tP, scr, 0, 0); lanesQ8_0U(w, ws, 0, rows, act, A8 * nb, t, o2, rows, nb, sd, tP, scr, 0, 0);
    for (let i = 0; i < rows * t; i++) if (load<u32>(o1 + 4 * i) != load<u32>(o2 + 4 * i)) bad++;
    chainQ8_0(w, ws, 0, rows, act, A8 * nb, t, o1, rows, nb, sd, tP, scr, 0, 0); chainQ8_0U(w, ws, 0, rows, act, A8 * nb, t, o2, rows, nb, sd, tP, scr, 0, 0);
    for (let i = 0; i < rows * t; i++) if (load<u32>(o1 + 4 * i) != load<u32>(o2 + 4 * i)) bad++;
  }
  return bad;
}
