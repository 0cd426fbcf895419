// AssemblyScript, relaxed-SIMD module only: k-lanes.as's K-quant kernels (vec_dot lanes and the
// q4_K / q2_K repack chains) and k-quants.as's AMX chains, with each f32 step as one
// f32x4.relaxed_madd, used only after relaxed-check.as selfCheck() shows it fused (then it IS the
// reference's fma32 on 4 lanes).
import { drive1x4 } from "./common";
import { G2, G4, G8, KD2, KD3, KD4, KD5, KD6, KDX, lanesK, repackK } from "./k-lanes";
import { KIQ4_XS, KQ4_K, KQ5_K, KQ6_K } from "./k-quants";

export class RelaxedFma { // @ts-ignore: decorator
  @inline fma4(x: v128, y: v128, c: v128): v128 { return f32x4.relaxed_madd(x, y, c); } // @ts-ignore: decorator
  @inline exact(): bool { return false; }
}

// MATMUL family (wasm-calls.ts), as k-lanes.as.
export function lanesQ2_KM(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { lanesK<KD2, RelaxedFma>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function lanesQ3_KM(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { lanesK<KD3, RelaxedFma>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function lanesQ4_KM(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { lanesK<KD4, RelaxedFma>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function lanesQ5_KM(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { lanesK<KD5, RelaxedFma>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function lanesQ6_KM(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { lanesK<KD6, RelaxedFma>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function lanesIQ4_XSM(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { lanesK<KDX, RelaxedFma>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function repackQ4_KM(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { repackK<KD4, RelaxedFma, G2>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function repackQ4_KVM(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { repackK<KD4, RelaxedFma, G8>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function repackQ2_KM(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { repackK<KD2, RelaxedFma, G4>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function repackQ2_KVM(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32, sd: usize, tP: i32, scr: usize, scrStride: usize, thread: i32): void { repackK<KD2, RelaxedFma, G8>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
// (w, wStride, r0, r1, a, aStride, nTok, out, ne1, nb[, sd, tP: unused]): k-quants.as's AMX chains.
export function chainQ4_KM(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive1x4<KQ4_K<RelaxedFma>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, 0, 0, 0); }
export function chainQ5_KM(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive1x4<KQ5_K<RelaxedFma>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, 0, 0, 0); }
export function chainQ6_KM(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive1x4<KQ6_K<RelaxedFma>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, 0, 0, 0); }
export function chainIQ4_XSM(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive1x4<KIQ4_XS<RelaxedFma>>(w, ws, r0, r1, a, as, nTok, out, ne1, nb, 0, 0, 0); }
