// AssemblyScript, relaxed-SIMD module only: the start-up self-check of every relaxed kernel that
// replaces a chain or lanes kernel (run by wasm-relaxed.ts; any nonzero result keeps the baseline
// module): relaxed_madd must be fused, then each relaxed kernel must equal its exact baseline twin.
import { A8_BYTES } from "./common";
import { chainIQ4_NL, chainQ4_0, chainQ4_1, chainQ8_0 } from "./legacy";
import { lanesQ4_1, lanesQ8_0 } from "./lanes";
import { prepareActivations } from "./quantize";
import { chainIQ4_NLM, chainQ4_0R, chainQ4_1M, chainQ8_0M } from "./relaxed-kernels";
import { lanesQ4_1M, lanesQ8_0M } from "./relaxed-lanes";
import { chainIQ4_NLP, chainQ4_1P, chainQ8_0P } from "./relaxed-panel";

const A8 = A8_BYTES;

/** Number of lanes where relaxed_madd(a, b, c) is not the fused result, on inputs where fused and
 *  unfused differ: a·b = 1 + 2^-11 + 2^-24 exactly; with c = -(1 + 2^-11) fused gives 2^-24,
 *  separate rounding gives 0 (and the other lanes variations of it). */
function maddCheck(): i32 {
  const e: f32 = 1 + <f32>Math.pow(2, -12);
  const a = f32x4(e, e, -e, 3 * e), b = f32x4(e, -e, e, e);
  const c = f32x4(-(1 + <f32>Math.pow(2, -11)), 1 + <f32>Math.pow(2, -11), 1 + <f32>Math.pow(2, -11), -3 * (1 + <f32>Math.pow(2, -11)));
  const want = f32x4(<f32>Math.pow(2, -24), -<f32>Math.pow(2, -24), -<f32>Math.pow(2, -24), 3 * <f32>Math.pow(2, -24));
  const got = f32x4.relaxed_madd(a, b, c);
  return i32x4.bitmask(v128.not(f32x4.eq(got, want))) != 0 ? 1 : 0;
}

/** Outputs of two (rows, toks) results at o1, o2 whose bits differ. */
// @ts-ignore: decorator
@inline function differ(o1: usize, o2: usize, n: i32): i32 {
  let bad = 0;
  for (let i = 0; i < n; i++) if (load<u32>(o1 + 4 * i) != load<u32>(o2 + 4 * i)) bad++;
  return bad;
}

/**
 * Exactness self-check at `p` (needs ~64 KiB): relaxed_madd must be fused; then every relaxed chain
 * kernel (relaxed-kernels.as 1 × 4 tiles, relaxed-panel.as 8-row panels) and the lanes kernels with
 * and without a min term, against their baseline twins in this module: 19 weight rows (2 panels and
 * a 3-row tail) × 20 tokens × 256 elements, activations hitting ±127, weights hitting −128, 127 and
 * every nibble. Returns the number of mismatches (0 = usable).
 */
export function selfCheck(p: usize): i32 {
  if (maddCheck() != 0) return 1 << 20;
  const n = 256, rows = 19, toks = 20, nb = n >> 5, tP = 20, nOut = rows * toks;
  const x = p, blk = x + 4 * n * toks, act = blk + 1024, w = act + A8 * nb * toks;
  const o1 = w + 34 * nb * rows + 64, o2 = o1 + 4 * nOut, sd = o2 + 4 * nOut + 64;
  const scr = sd + 8 * nb * tP + 64; // row scratch: scales, widened rows, a panel (576·nb bytes)
  let s: u32 = 12345;
  for (let i = 0; i < n * toks; i++) {
    s = s * 1103515245 + 12345;
    let v = <f32>((s >>> 8) & 0xffff) / 32768 - 1;
    if ((i & 31) == 7) v = (i & 64) ? 5 : -5; // block extremes -> ±127
    store<f32>(x + (<usize>i << 2), v);
  }
  let bad = 0;
  for (let k = 0; k < 4; k++) {
    const wb: usize = k == 0 ? 34 : k == 3 ? 20 : 18; // Q8_0, Q4_0, IQ4_NL, Q4_1 block bytes
    for (let i = 0; i < 34 * nb * rows; i++) {
      s = s * 1103515245 + 12345;
      store<u8>(w + i, <u8>((i & 7) == 3 ? 0x80 : (i & 7) == 4 ? 0x7f : s >>> 24));
    }
    for (let r = 0; r < rows * nb; r++) {
      store<u16>(w + wb * r, 0x3800 + <u16>(r & 0xff));
      if (k == 3) store<u16>(w + wb * r + 2, 0xb400 + <u16>(r & 0x7f));
    }
    prepareActivations(x, toks, n, k == 3 ? 1 : 0, blk, act, A8 * nb, sd, tP, 0);
    const ws = wb * <usize>nb, as = A8 * <usize>nb;
    // the baseline chain kernel into o1, then each relaxed twin into o2
    if (k == 0) chainQ8_0(w, ws, 0, rows, act, as, toks, o1, rows, nb, sd, tP, scr, 0, 0);
    if (k == 1) chainQ4_0(w, ws, 0, rows, act, as, toks, o1, rows, nb, sd, tP, scr, 0, 0);
    if (k == 2) chainIQ4_NL(w, ws, 0, rows, act, as, toks, o1, rows, nb, sd, tP, scr, 0, 0);
    if (k == 3) chainQ4_1(w, ws, 0, rows, act, as, toks, o1, rows, nb, sd, tP, scr, 0, 0);
    if (k == 0) chainQ8_0M(w, ws, 0, rows, act, as, toks, o2, rows, nb, sd, tP, scr, 0, 0);
    if (k == 1) chainQ4_0R(w, ws, 0, rows, act, as, toks, o2, rows, nb, sd, tP, scr, 0, 0);
    if (k == 2) chainIQ4_NLM(w, ws, 0, rows, act, as, toks, o2, rows, nb, sd, tP, scr, 0, 0);
    if (k == 3) chainQ4_1M(w, ws, 0, rows, act, as, toks, o2, rows, nb, sd, tP, scr, 0, 0);
    bad += differ(o1, o2, nOut);
    if (k != 1) { // the panels (Q4_0 has none)
      if (k == 0) chainQ8_0P(w, ws, 0, rows, act, as, toks, o2, rows, nb, sd, tP, scr, 0, 0);
      if (k == 2) chainIQ4_NLP(w, ws, 0, rows, act, as, toks, o2, rows, nb, sd, tP, scr, 0, 0);
      if (k == 3) chainQ4_1P(w, ws, 0, rows, act, as, toks, o2, rows, nb, sd, tP, scr, 0, 0);
      bad += differ(o1, o2, nOut);
    }
    if (k == 0 || k == 3) { // lanes order (relaxed-lanes.as), the two block kinds: with and without the min term
      if (k == 0) { lanesQ8_0(w, ws, 0, rows, act, as, toks, o1, rows, nb, sd, tP, scr, 0, 0); lanesQ8_0M(w, ws, 0, rows, act, as, toks, o2, rows, nb, sd, tP, scr, 0, 0); }
      else { lanesQ4_1(w, ws, 0, rows, act, as, toks, o1, rows, nb, sd, tP, scr, 0, 0); lanesQ4_1M(w, ws, 0, rows, act, as, toks, o2, rows, nb, sd, tP, scr, 0, 0); }
      bad += differ(o1, o2, nOut);
    }
  }
  return bad;
}
