/**
 * The scale searches behind ggml's K-quant reference quantizers: make_qx_quants,
 * make_q3_quants and make_qkx2_quants. ref: ggml/src/ggml-quants.c (llama.cpp 01243c58).
 *
 * Bit-exact emulation (verified against libggml-base): one Math.fround (F) per C float
 * operation, in the C association order (a += w*x*l is a = F(a + F(F(w*x)*l))), loops in C
 * order, nearest_int as ggml's magic-number rounding. No FMA contraction (ggml-base has none).
 */
import { nearestInt } from "./f16.js";

const F = Math.fround;
const GROUP_MAX_EPS = F(1e-15);

// ---------------------------------------------------------------------------- make_qx_quants

/**
 * make_qx_quants(n, nmax, x, L, rmse_type = 1, qw = NULL), the only form the ref quantizers use
 * (Q6_K): signed levels l in [-nmax, nmax-1] stored as l + nmax, weights w = x², then a search
 * over 18 nearby inverse scales keeping the best weighted least-squares fit. Returns the scale.
 */
export function makeQxQuants(n: number, nmax: number, x: Float32Array, xo: number, L: Uint8Array, lo: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i]!);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i]!;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  let iscale = F(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    let l = nearestInt(F(iscale * xi));
    l = Math.max(-nmax, Math.min(nmax - 1, l));
    L[lo + i] = l + nmax;
    const w = F(xi * xi);
    sumlx = F(sumlx + F(F(w * xi) * l));
    suml2 = F(suml2 + F(F(w * l) * l));
  }
  let scale = suml2 !== 0 ? F(sumlx / suml2) : 0;
  let best = F(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = F(-F(nmax + F(F(0.1) * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      let l = nearestInt(F(iscale * xi));
      l = Math.max(-nmax, Math.min(nmax - 1, l));
      const w = F(xi * xi);
      sumlx = F(sumlx + F(F(w * xi) * l));
      suml2 = F(suml2 + F(F(w * l) * l));
    }
    if (suml2 > 0 && F(sumlx * sumlx) > F(best * suml2)) {
      for (let i = 0; i < n; i++) {
        const l = nearestInt(F(iscale * x[xo + i]!));
        L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
      }
      scale = F(sumlx / suml2);
      best = F(scale * sumlx);
    }
  }
  return scale;
}

// ---------------------------------------------------------------------------- make_q3_quants

const q3L = new Int8Array(16);

/**
 * make_q3_quants(n = 16, nmax = 4, x, L, do_rmse = true): start from l = round(-4x/max), then up
 * to 5 passes of coordinate descent on the weighted (w = x²) least-squares scale. L gets l + 4.
 */
export function makeQ3Quants(x: Float32Array, xo: number, L: Uint8Array, lo: number): number {
  const n = 16;
  const nmax = 4;
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i]!);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i]!;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  const iscale = F(-nmax / max);
  const Ls = q3L;
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    let l = nearestInt(F(iscale * xi));
    l = Math.max(-nmax, Math.min(nmax - 1, l));
    Ls[i] = l;
    const w = F(xi * xi);
    sumlx = F(sumlx + F(F(w * xi) * l));
    suml2 = F(suml2 + F(F(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let nChanged = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      const w = F(xi * xi);
      let slx = F(sumlx - F(F(w * xi) * Ls[i]!));
      if (slx > 0) {
        let sl2 = F(suml2 - F(F(w * Ls[i]!) * Ls[i]!));
        let newL = nearestInt(F(F(xi * sl2) / slx));
        newL = Math.max(-nmax, Math.min(nmax - 1, newL));
        if (newL !== Ls[i]) {
          slx = F(slx + F(F(w * xi) * newL));
          sl2 = F(sl2 + F(F(w * newL) * newL));
          if (sl2 > 0 && F(F(slx * slx) * suml2) > F(F(sumlx * sumlx) * sl2)) {
            Ls[i] = newL;
            sumlx = slx;
            suml2 = sl2;
            nChanged++;
          }
        }
      }
    }
    if (nChanged === 0) break;
  }
  for (let i = 0; i < n; i++) L[lo + i] = Ls[i]! + nmax;
  return suml2 > 0 ? F(sumlx / suml2) : 0;
}

// -------------------------------------------------------------------------- make_qkx2_quants

const qkxAux = new Uint8Array(32);
const qkxXm = new Float32Array(32);
const qkxLevel = new Float64Array(32);
let qkxMin = 0; // *the_min output of the last makeQkx2Quants call

/** The min (≥ 0, to subtract) found by the last makeQkx2Quants call (ggml's *the_min). */
export function lastQkxMin(): number {
  return qkxMin;
}

/**
 * make_qkx2_quants: asymmetric levels l in [0, nmax] with x ≈ scale·l − the_min. Tries
 * iscale = (rmin + rdelta·is + nmax)/(max − min) for is = 0..nstep and keeps the candidate with
 * the smallest weighted error (|diff| if useMad, else diff²), solving scale and min by weighted
 * least squares each time. Returns the scale; the min (≥ 0) is left in qkxMin.
 */
export function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  weights: Float32Array,
  L: Uint8Array,
  lo: number,
  rmin: number,
  rdelta: number,
  nstep: number,
  useMad: boolean,
): number {
  let min = x[xo]!;
  let max = x[xo]!;
  let sumW = weights[0]!;
  let sumX = F(sumW * x[xo]!);
  for (let i = 1; i < n; i++) {
    const xi = x[xo + i]!;
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w = weights[i]!;
    sumW = F(sumW + w);
    sumX = F(sumX + F(w * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    qkxMin = -min;
    return 0;
  }
  let iscale = F(nmax / F(max - min));
  let scale = F(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = nearestInt(F(iscale * F(x[xo + i]! - min)));
    const li = Math.max(0, Math.min(nmax, l));
    L[lo + i] = li;
    let diff = F(F(F(scale * li) + min) - x[xo + i]!);
    diff = useMad ? Math.abs(diff) : F(diff * diff);
    bestError = F(bestError + F(weights[i]! * diff));
  }
  if (nstep < 1) {
    qkxMin = -min;
    return scale;
  }
  const Laux = qkxAux;
  const xm = qkxXm; // F(x - min) for the current min
  for (let i = 0; i < n; i++) xm[i] = F(x[xo + i]! - min);
  for (let is = 0; is <= nstep; is++) {
    // (max - min) and (x - min) use the *current best* min, which changes whenever a candidate
    // wins: ggml recomputes them from the updated variable, so we do too.
    iscale = F(F(F(rmin + F(rdelta * is)) + nmax) / F(max - min));
    let same = is > 0;
    for (let i = 0; i < n; i++) {
      let l = nearestInt(F(iscale * xm[i]!));
      l = l < 0 ? 0 : l > nmax ? nmax : l;
      if (Laux[i] !== l) {
        Laux[i] = l;
        same = false;
      }
    }
    // Speed-up, not in ggml: a candidate's outcome depends only on its levels (the sums use x,
    // not x - min) and on bestError. If the levels equal the previous candidate's, that one was
    // either rejected (bestError <= its error) or accepted (bestError == its error), so this
    // one is rejected too: skipping it changes nothing.
    if (same) continue;
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Laux[i]!;
      const wl = F(weights[i]! * l);
      sumL = F(sumL + wl);
      sumL2 = F(sumL2 + F(wl * l));
      sumXL = F(sumXL + F(wl * x[xo + i]!));
    }
    const D = F(F(sumW * sumL2) - F(sumL * sumL));
    if (D > 0) {
      let thisScale = F(F(F(sumW * sumXL) - F(sumX * sumL)) / D);
      let thisMin = F(F(F(sumL2 * sumX) - F(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = F(sumXL / sumL2);
      }
      // thisScale·l + thisMin depends only on the level: tabulate it (same f32 values as ggml).
      const v = qkxLevel;
      for (let l = 0; l <= nmax; l++) v[l] = F(F(thisScale * l) + thisMin);
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = F(v[Laux[i]!]! - x[xo + i]!);
        diff = useMad ? Math.abs(diff) : F(diff * diff);
        curError = F(curError + F(weights[i]! * diff));
        // Speed-up, not in ggml: every term is >= 0 (the ref quantizers' weights are |x| or
        // av_x + |x|) and f32 rounding is monotone, so once the partial sum reaches bestError
        // the candidate is certain to be rejected.
        if ((i & 7) === 7 && curError >= bestError) break;
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lo + i] = Laux[i]!;
        bestError = curError;
        scale = thisScale;
        min = thisMin;
        for (let i = 0; i < n; i++) xm[i] = F(x[xo + i]! - min);
      }
    }
  }
  qkxMin = -min;
  return scale;
}
