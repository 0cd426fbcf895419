// AssemblyScript, relaxed-SIMD module only: the AMX chain order of legacy.as chainTile4 for Q8_0
// weights (per output c = fma32(f32(isum_b), fround(dw_b·da_b), c) over the blocks b in order, c
// from +0: src/kernels/matmul-amx.ts, from llama.cpp ggml/src/ggml-cpu/amx/mmq.cpp; docs/numerics.md), computed with the weight rows in the f32x4 lanes instead of the tokens, as
// onnxruntime's MLAS wasm kernel (qgemm_kernel_wasmsimd.cpp) lays out its int8 GEMM:
//   - 8 weight rows are widened to i16 once per call (a "panel", in this thread's scratch) and
//     interleaved so that one i32 lane holds one row's pair of weights;
//   - per token and block, each of the token's 16 activation pairs is broadcast to all lanes and
//     one i32x4.dot_i16x8_s per 4 rows adds that pair's products: 32 dots give the 8 rows' exact
//     block sums (|isum| <= 32·128·127 < 2^24: the conversion to f32 is exact);
//   - the block's float step is one relaxed_madd per 4 rows (fused after selfCheck, so it IS the
//     reference's fma32), with fround(dw·da) as one f32x4 multiply of the 4 rows' scales by the
//     token's.
// Integer sums do not depend on the order of their terms, and every output keeps its own block
// order, so the result equals chainQ8_0 / chainQ8_0M bit for bit (panelCheck; the test suite).
// Fewer than PANEL_MIN_TOKENS tokens (the widening would not pay) and the rows of a range left
// after its last full panel go to chainQ8_0M. Measured: 1 thread, 768 × 1152, T = 64 (BENCHMARKS.md).
import { A8_BYTES, f16 } from "./common";
import { chainQ8_0, even16, odd16 } from "./legacy";
import { prepareActivations } from "./quantize";
import { chainQ8_0M } from "./relaxed-kernels";

const A8 = A8_BYTES;
/** Rows per panel (two f32x4 of outputs per token). */
const PANEL_ROWS = 8;
/** Below this many tokens the per-call widening does not pay (measured: equal speed at 4, 1.08x at 6, 1.17x at 10, 1.38x at 64). */
const PANEL_MIN_TOKENS = 6;
/** Panel bytes per block: 16 activation pairs × 8 rows × 2 i16, then the 8 rows' scales as f32. */
export const PANEL_BLOCK_BYTES: usize = 512 + 32;

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
 * Q8_0 rows r..r+7 at w (ws bytes apart), nb blocks -> panel at p: block b at p + b·512 holds,
 * for each activation pair (vector v, i32 lane j) in A8 order, 32 bytes = rows 0-3 then rows 4-7,
 * each row's i32 lane the same two elements as the activation's pair; the scales (f32, 8 per
 * block, exact: common.as f16) follow at p + nb·512.
 */
// @ts-ignore: decorator
@inline function widenPanel(w: usize, ws: usize, nb: i32, p: usize): void {
  const sc = p + (<usize>nb << 9);
  for (let b = 0; b < nb; b++, w += 34) {
    const q = p + (<usize>b << 9);
    for (let h = 0; h < 2; h++) {
      const w0 = w + <usize>(4 * h) * ws, w1 = w0 + ws, w2 = w1 + ws, w3 = w2 + ws;
      // the A8 order of each row's block (legacy.as even16 / odd16 of its two halves)
      const l0 = v128.load(w0, 2), l1 = v128.load(w1, 2), l2 = v128.load(w2, 2), l3 = v128.load(w3, 2);
      const h0 = v128.load(w0, 18), h1 = v128.load(w1, 18), h2 = v128.load(w2, 18), h3 = v128.load(w3, 18);
      const o = q + (<usize>h << 4);
      store4(o, even16(l0), even16(l1), even16(l2), even16(l3));
      store4(o + 128, odd16(l0), odd16(l1), odd16(l2), odd16(l3));
      store4(o + 256, even16(h0), even16(h1), even16(h2), even16(h3));
      store4(o + 384, odd16(h0), odd16(h1), odd16(h2), odd16(h3));
    }
    for (let r = 0; r < PANEL_ROWS; r++) store<f32>(sc + (<usize>b << 5) + (<usize>r << 2), f16(load<u16>(w + <usize>r * ws)));
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
 * of the scale table (tP columns), p = the panel.
 */
// @ts-ignore: decorator
@inline function panelToken(p: usize, a: usize, sd: usize, tP: i32, nb: i32, o: usize): void {
  const step = <usize>tP << 2, sc = p + (<usize>nb << 9);
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
  }
  v128.store(o, c0);
  v128.store(o, c1, 16);
}

// (w, wStride, r0, r1, a, aStride, nTok, out, ne1, nb, sd, tP, scr, scrStride, thread): legacy.as's
// chain kernels; scrStride >= nb·PANEL_BLOCK_BYTES (wasm.ts sizes it for this kernel).
export function chainQ8_0P(
  w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32,
  sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32,
): void {
  let r = r0;
  if (nTok >= PANEL_MIN_TOKENS) {
    const p = scr + <usize>thread * scrStride;
    for (; r + PANEL_ROWS <= r1; r += PANEL_ROWS) {
      widenPanel(w + <usize>r * ws, ws, nb, p);
      for (let t = 0; t < nTok; t++) panelToken(p, a + <usize>t * as, sd + (<usize>t << 2), tP, nb, out + ((<usize>t * <usize>ne1 + <usize>r) << 2));
    }
  }
  if (r < r1) chainQ8_0M(w, ws, r, r1, a, as, nTok, out, ne1, nb, sd, tP, scr, scrStride, thread);
}

/**
 * chainQ8_0P against chainQ8_0 (the exact baseline kernel) at `p` (~64 KiB): 2 panels and 3 rows
 * over 20 tokens × 256 elements, weights hitting −128 and 127, activations hitting ±127. Returns
 * the number of differing outputs (0 = usable). Run with selfCheck by wasm-relaxed.ts.
 */
export function panelCheck(p: usize): i32 {
  const n = 256, rows = 19, toks = 20, nb = n >> 5, tP = 20;
  const x = p, blk = x + 4 * n * toks, act = blk + 1024, w = act + A8 * nb * toks;
  const o1 = w + 34 * nb * rows + 64, o2 = o1 + 4 * rows * toks, sd = o2 + 4 * rows * toks + 64;
  const scr = sd + 8 * nb * tP + 64;
  let s: u32 = 4242;
  for (let i = 0; i < n * toks; i++) {
    s = s * 1103515245 + 12345;
    let v = <f32>((s >>> 8) & 0xffff) / 32768 - 1;
    if ((i & 31) == 9) v = (i & 64) ? 4 : -4; // block extremes -> ±127
    store<f32>(x + (<usize>i << 2), v);
  }
  for (let i = 0; i < 34 * nb * rows; i++) {
    s = s * 1103515245 + 12345;
    store<u8>(w + i, <u8>((i & 7) == 3 ? 0x80 : (i & 7) == 4 ? 0x7f : s >>> 24));
  }
  for (let r = 0; r < rows * nb; r++) store<u16>(w + 34 * r, 0x3800 + <u16>(r & 0xff));
  prepareActivations(x, toks, n, 0, blk, act, A8 * nb, sd, tP, 0);
  const ws: usize = 34 * <usize>nb;
  chainQ8_0(w, ws, 0, rows, act, A8 * nb, toks, o1, rows, nb, sd, tP, scr, 0, 0);
  chainQ8_0P(w, ws, 0, rows, act, A8 * nb, toks, o2, rows, nb, sd, tP, scr, 0, 0);
  let bad = 0;
  for (let i = 0; i < rows * toks; i++) if (load<u32>(o1 + 4 * i) != load<u32>(o2 + 4 * i)) bad++;
  return bad;
}
