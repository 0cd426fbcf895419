// AssemblyScript, relaxed-SIMD module only: the chain order of legacy.as chainTile4 for Q8_0,
// IQ4_NL and Q4_1 weights (per output c = fma32(f32(isum_b), fround(dw_b·da_b), c) over the blocks
// b in order, c from +0, Q4_1 then c = fma32(mw_b, sa_b, c): src/kernels/matmul-amx.ts and
// matmul-repack.ts, from llama.cpp ggml/src/ggml-cpu/amx/mmq.cpp and repack.cpp; docs/numerics.md), computed with the weight rows in the f32x4 lanes instead of the tokens, as
// onnxruntime's MLAS wasm kernel (qgemm_kernel_wasmsimd.cpp) lays out its int8 GEMM:
//   - 8 weight rows are widened to i16 once per call (a "panel", in this thread's scratch) and
//     interleaved so that one i32 lane holds one row's pair of weights;
//   - per token and block, each of the token's 16 activation pairs is broadcast to all lanes and
//     one i32x4.dot_i16x8_s per 4 rows adds that pair's products: 32 dots give the 8 rows' exact
//     block sums (|isum| <= 32·128·127 < 2^24: the conversion to f32 is exact);
//   - the block's float step is one relaxed_madd per 4 rows (fused after relaxed-check.as selfCheck, so it IS the
//     reference's fma32), with fround(dw·da) as one f32x4 multiply of the 4 rows' scales by the
//     token's.
// Integer sums do not depend on the order of their terms, and every output keeps its own block
// order, so the result equals chainQ8_0 / chainQ8_0M (and the IQ4_NL, Q4_1 twins) bit for bit
// (relaxed-check.as selfCheck; the test suite). Fewer than PANEL_MIN_TOKENS tokens (the widening would not pay) and
// the rows of a range left after its last full panel go to the 1 × 4 tile kernels
// (relaxed-kernels.as). Measured: 1 thread, 768 × 1152, T = 64 (BENCHMARKS.md).
import { A8_BYTES, f16 } from "./common";
import { DIQ4_NL, DQ4_1, DQ8_0, even16, odd16 } from "./legacy";
import { chainIQ4_NLM, chainQ4_1M, chainQ8_0M } from "./relaxed-kernels";

const A8 = A8_BYTES;
/** Rows per panel (two f32x4 of outputs per token). */
const PANEL_ROWS = 8;
/** Below this many tokens the per-call widening does not pay (measured: equal speed at 4, 1.08x at 6, 1.17x at 10, 1.38x at 64). */
const PANEL_MIN_TOKENS = 6;
/** Panel bytes per block: 16 activation pairs × 8 rows × 2 i16, then the 8 rows' scales and (Q4_1) mins as f32. */
export const PANEL_BLOCK_BYTES: usize = 512 + 32 + 32;

/** 4×4 transpose of i32 lanes: returns lane j of a, b, c, d as one vector (j = 0..3). */
// @ts-ignore: decorator
@inline function lane4(a: v128, b: v128, c: v128, d: v128, j: i32): v128 {
  const lo = j < 2;
  const ab = lo ? i32x4.shuffle(a, b, 0, 4, 1, 5) : i32x4.shuffle(a, b, 2, 6, 3, 7);
  const cd = lo ? i32x4.shuffle(c, d, 0, 4, 1, 5) : i32x4.shuffle(c, d, 2, 6, 3, 7);
  return (j & 1) == 0 ? i32x4.shuffle(ab, cd, 0, 1, 4, 5) : i32x4.shuffle(ab, cd, 2, 3, 6, 7);
}

/** The four transposed vectors of a, b, c, d (one A8-order vector of 4 rows) at o, o + 32, o + 64, o + 96. */
// @ts-ignore: decorator
@inline function store4(o: usize, a: v128, b: v128, c: v128, d: v128): void {
  v128.store(o, lane4(a, b, c, d, 0));
  v128.store(o, lane4(a, b, c, d, 1), 32);
  v128.store(o, lane4(a, b, c, d, 2), 64);
  v128.store(o, lane4(a, b, c, d, 3), 96);
}

/**
 * Rows r..r+7 at w (ws bytes apart) of blocks decoded by D (legacy.as), nb blocks -> panel at p:
 * block b at p + b·512 holds, for each activation pair (vector v, i32 lane j) in A8 order, 32
 * bytes = rows 0-3 then rows 4-7, each row's i32 lane the same two elements as the activation's
 * pair; the scales (f32, 8 per block, exact: common.as f16) follow at p + nb·512, the mins of a
 * type with them at p + nb·544.
 */
// @ts-ignore: decorator
@inline function widenPanel<D>(w: usize, ws: usize, nb: i32, p: usize): void {
  const dec = changetype<D>(0);
  const sc = p + (<usize>nb << 9), mn = sc + (<usize>nb << 5);
  for (let b = 0; b < nb; b++, w += dec.bytes()) {
    const q = p + (<usize>b << 9);
    for (let h = 0; h < 2; h++) {
      const w0 = w + <usize>(4 * h) * ws, w1 = w0 + ws, w2 = w1 + ws, w3 = w2 + ws;
      // the A8 order of each row's block (legacy.as even16 / odd16 of its two halves)
      const l0 = dec.lo(w0), l1 = dec.lo(w1), l2 = dec.lo(w2), l3 = dec.lo(w3);
      const h0 = dec.hi(w0), h1 = dec.hi(w1), h2 = dec.hi(w2), h3 = dec.hi(w3);
      const o = q + (<usize>h << 4);
      store4(o, even16(l0), even16(l1), even16(l2), even16(l3));
      store4(o + 128, odd16(l0), odd16(l1), odd16(l2), odd16(l3));
      store4(o + 256, even16(h0), even16(h1), even16(h2), even16(h3));
      store4(o + 384, odd16(h0), odd16(h1), odd16(h2), odd16(h3));
    }
    for (let r = 0; r < PANEL_ROWS; r++) {
      const wr = w + <usize>r * ws, o = (<usize>b << 5) + (<usize>r << 2);
      store<f32>(sc + o, f16(load<u16>(wr)));
      if (dec.hasMin()) store<f32>(mn + o, f16(load<u16>(wr, 2)));
    }
  }
}

/** The 4 dots of one activation vector (4 pairs) against both row halves of the panel, added to s0 (rows 0-3) and s1 (rows 4-7). */
// @ts-ignore: decorator
@inline function pairs4(av: v128, q: usize, s: v128, hi: bool): v128 {
  const o: usize = hi ? 16 : 0;
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.load(q + o), i32x4.shuffle(av, av, 0, 0, 0, 0)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.load(q + o, 32), i32x4.shuffle(av, av, 1, 1, 1, 1)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.load(q + o, 64), i32x4.shuffle(av, av, 2, 2, 2, 2)));
  return i32x4.add(s, i32x4.dot_i16x8_s(v128.load(q + o, 96), i32x4.shuffle(av, av, 3, 3, 3, 3)));
}

/**
 * Panel (8 rows) @ token t -> the 8 outputs at o: a = the token's prepared A8 row, sd = its column
 * of the scale table (tP columns: nb rows of da, then for Q8_1 activations nb rows of s), p = the panel.
 */
// @ts-ignore: decorator
@inline function panelToken(p: usize, a: usize, sd: usize, tP: i32, nb: i32, o: usize, withMin: bool): void {
  const step = <usize>tP << 2, sc = p + (<usize>nb << 9), mn = sc + (<usize>nb << 5), sOff = <usize>nb * step;
  let c0 = f32x4.splat(0), c1 = c0;
  for (let b = 0; b < nb; b++, p += 512, a += A8, sd += step) {
    let s0 = i32x4.splat(0), s1 = s0;
    for (let v = 0; v < 4; v++) {
      const av = v128.load(a + (<usize>v << 4));
      const q = p + (<usize>v << 7);
      s0 = pairs4(av, q, s0, false);
      s1 = pairs4(av, q, s1, true);
    }
    const da = f32x4.splat(load<f32>(sd)), ds = sc + (<usize>b << 5);
    c0 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(s0), f32x4.mul(v128.load(ds), da), c0); // fround(dw·da), rows 0-3
    c1 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(s1), f32x4.mul(v128.load(ds, 16), da), c1);
    if (withMin) { // c = fma32(mw, sa, c), as legacy.as chainTile4
      const sa = f32x4.splat(load<f32>(sd + sOff)), ms = mn + (<usize>b << 5);
      c0 = f32x4.relaxed_madd(v128.load(ms), sa, c0);
      c1 = f32x4.relaxed_madd(v128.load(ms, 16), sa, c1);
    }
  }
  v128.store(o, c0);
  v128.store(o, c1, 16);
}

/** Full 8-row panels of rows [r0, r1) when there are enough tokens; returns the first row left for the 1 × 4 tile kernel. */
// @ts-ignore: decorator
@inline function panels<D>(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, p: usize): i32 {
  let r = r0;
  if (nTok < PANEL_MIN_TOKENS) return r;
  const withMin = changetype<D>(0).hasMin();
  for (; r + PANEL_ROWS <= r1; r += PANEL_ROWS) {
    widenPanel<D>(w + <usize>r * ws, ws, nb, p);
    for (let t = 0; t < nTok; t++) panelToken(p, a + <usize>t * as, sd + (<usize>t << 2), tP, nb, out + ((<usize>t * <usize>ne1 + <usize>r) << 2), withMin);
  }
  return r;
}

// (w, wStride, r0, r1, a, aStride, nTok, out, ne1, nb, sd, tP, scr, scrStride, thread): legacy.as's
// chain kernels; scrStride >= nb·PANEL_BLOCK_BYTES (wasm.ts sizes it for these kernels).
export function chainQ8_0P(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void {
  const r = panels<DQ8_0>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride);
  if (r < r1) chainQ8_0M(w, ws, r, r1, a, as, nTok, out, ne1, nb, sd, tP, scr, scrStride, thread);
}
export function chainIQ4_NLP(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void {
  const r = panels<DIQ4_NL>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride);
  if (r < r1) chainIQ4_NLM(w, ws, r, r1, a, as, nTok, out, ne1, nb, sd, tP, scr, scrStride, thread);
}
export function chainQ4_1P(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void {
  const r = panels<DQ4_1>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, sd, tP, scr + <usize>thread * scrStride);
  if (r < r1) chainQ4_1M(w, ws, r, r1, a, as, nTok, out, ne1, nb, sd, tP, scr, scrStride, thread);
}
