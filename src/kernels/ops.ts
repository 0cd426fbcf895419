/**
 * Scalar reference ops (everything but matmul) with ggml-cpu's f32 numerics. These are the
 * oracle for any faster path. ref: docs/numerics.md §6; llama.cpp ggml/src/ggml-cpu/ops.cpp, vec.cpp.
 * `fround` marks every place where C rounds an intermediate to float.
 */
import { f32ToFp16, fp16FromF32Bits, fp16ToF32 } from "../quant/f16.js";
import { f32DotFor, f32Kernels } from "./f32-kernels.js";
import type { Numerics } from "./numerics.js";
import { sincosf } from "./libm-sincosf.js";

const fround = Math.fround;

/**
 * In-place RMSNorm of `nRows` rows of length n, times weight g (may be shorter than a row's stride?
 * no: g has length n). ggml: sum of f32 squares accumulated in double; mean = (float)(sum/n);
 * scale = 1.0f/sqrtf(mean + eps); y = x*scale (f32); the weight multiply is a separate f32 op.
 */
export function rmsNorm(x: Float32Array, xOff: number, out: Float32Array, outOff: number, n: number, g: Float32Array, eps: number): void {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i];
    sum += fround(v * v);
  }
  scaleRow(x, xOff, out, outOff, n, g, sum, eps);
}

/**
 * rmsNorm of `rows` contiguous rows of length n (x from xOff, out from outOff; in place allowed),
 * bit for bit rmsNorm row by row. Each row's sum of squares is a sequential chain of f64 adds
 * (ggml's order), so one row at a time runs at the add latency; four rows' chains interleaved
 * run ~3x faster with every row's operations and order unchanged.
 */
export function rmsNormRows(
  x: Float32Array,
  xOff: number,
  out: Float32Array,
  outOff: number,
  n: number,
  rows: number,
  g: Float32Array,
  eps: number,
): void {
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const a = xOff + r * n,
      b = a + n,
      c = b + n,
      d = c + n;
    let sa = 0,
      sb = 0,
      sc = 0,
      sd = 0;
    for (let i = 0; i < n; i++) {
      const va = x[a + i],
        vb = x[b + i],
        vc = x[c + i],
        vd = x[d + i];
      sa += fround(va * va);
      sb += fround(vb * vb);
      sc += fround(vc * vc);
      sd += fround(vd * vd);
    }
    scaleRow(x, a, out, outOff + r * n, n, g, sa, eps);
    scaleRow(x, b, out, outOff + (r + 1) * n, n, g, sb, eps);
    scaleRow(x, c, out, outOff + (r + 2) * n, n, g, sc, eps);
    scaleRow(x, d, out, outOff + (r + 3) * n, n, g, sd, eps);
  }
  for (; r < rows; r++) rmsNorm(x, xOff + r * n, out, outOff + r * n, n, g, eps);
}

/** rmsNorm's second half for a row whose sum of squares is `sum`. */
function scaleRow(
  x: Float32Array,
  xOff: number,
  out: Float32Array,
  outOff: number,
  n: number,
  g: Float32Array,
  sum: number,
  eps: number,
): void {
  const mean = fround(sum / n);
  const scale = fround(1 / fround(Math.sqrt(fround(mean + eps))));
  for (let i = 0; i < n; i++) out[outOff + i] = fround(fround(x[xOff + i] * scale) * g[i]);
}

/**
 * cos/sin cache for NEOX RoPE at one position: theta_0 = p, theta_{i+1} = theta_i * theta_scale
 * (iterative f32 product, as ggml's rope cache), theta_scale = powf(base, -2/nRot).
 */
export function ropeCache(pos: number, nRot: number, base: number, cos: Float32Array, sin: Float32Array): void {
  const thetaScale = fround(Math.pow(base, -2 / nRot));
  let theta = fround(pos);
  for (let i = 0; i < nRot / 2; i++) {
    [sin[i], cos[i]] = sincosf(theta); // glibc's bits, as ggml's rope cache (cosf/sinf)
    theta = fround(theta * thetaScale);
  }
}

/** NEOX rotation in place: element i pairs with i + nRot/2; angles cos[csOff + i], sin[csOff + i]. */
export function ropeNeox(x: Float32Array, off: number, nRot: number, cos: Float32Array, sin: Float32Array, csOff = 0): void {
  const half = nRot / 2;
  for (let i = 0; i < half; i++) {
    const x0 = x[off + i],
      x1 = x[off + i + half],
      c = cos[csOff + i],
      s = sin[csOff + i];
    // The shipped binary contracts "x0*cos - x1*sin" and "x0*sin + x1*cos" into FMAs with the
    // second product rounded first (vfmsub231ss / vfmadd132ss in its rotate_pairs).
    x[off + i] = fround(x0 * c - fround(x1 * s));
    x[off + i + half] = fround(x0 * s + fround(x1 * c));
  }
}

let geluTable: Float32Array | undefined;

/**
 * gelu_f32 as ggml evaluates it in f32 when building its fp16 table:
 * 0.5f*x*(1.0f + tanhf(SQRT_2_OVER_PI*x*(1.0f + GELU_COEF_A*x*x))), f32 constants, left to right.
 */
const GELU_COEF_A = fround(0.044715);
// biome-ignore lint/correctness/noPrecisionLoss: ggml's literal (GELU_COEF_B's neighbour SQRT_2_OVER_PI), kept as upstream writes it
const SQRT_2_OVER_PI = fround(0.79788456080286535587989211986876);
function geluF32(x: number): number {
  // The shipped binary contracts "1.0f + GELU_COEF_A*x*x" into fma(A*x, x, 1); with that, all
  // 65536 entries equal ggml's ggml_table_gelu_f16 (checked against the library's own table).
  const inner = fround(fround(SQRT_2_OVER_PI * x) * fround(fround(GELU_COEF_A * x) * x + 1));
  return fround(fround(0.5 * x) * fround(1 + fround(Math.tanh(inner))));
}

/** table[h] = fp16(gelu(f32(h))) for every fp16 bit pattern, as ggml-cpu's GGML_GELU_FP16 table. */
export function geluFp16Table(): Float32Array {
  if (!geluTable) {
    geluTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) geluTable[h] = fp16ToF32(f32ToFp16(geluF32(fp16ToF32(h))));
  }
  return geluTable;
}

/**
 * GEGLU as ggml-cpu computes it: out = gelu(g)·u, where gelu goes through the fp16 table for
 * -10 < g < 10, is 0 at or below -10 and g at or above 10. ref: gemma-embedding.md §5.6.
 */
export function geglu(gate: Float32Array, up: Float32Array, out: Float32Array, n: number): void {
  const table = geluFp16Table();
  const bits = new Uint32Array(gate.buffer, gate.byteOffset, n); // gate's f32 bit patterns
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    let y: number;
    if (g <= -10) y = 0;
    else if (g >= 10) y = g;
    else y = table[fp16FromF32Bits(bits[i])];
    out[i] = fround(y * up[i]);
  }
}

/**
 * ggml_gelu on f32 (ggml_vec_gelu_f32 with GGML_GELU_FP16): y = 0 at or below -10, x at or above
 * 10, else the fp16 table at fp16(x). x (n) -> out (n); out may alias x.
 */
export function gelu(x: Float32Array, out: Float32Array, n: number): void {
  const table = geluFp16Table();
  const bits = new Uint32Array(x.buffer, x.byteOffset, n); // x's f32 bit patterns
  for (let i = 0; i < n; i++) {
    const g = x[i];
    out[i] = g <= -10 ? 0 : g >= 10 ? g : table[fp16FromF32Bits(bits[i])];
  }
}

/**
 * Attention for one sequence of T tokens as llama.cpp runs it with flash attention off
 * (llm_graph_context::build_attn_mha): kq = mul_mat(k, q) with q already scaled by 1/sqrt(hd);
 * soft_max_ext with the mask (scale 1) over the whole row of T keys, masked keys -inf; then
 * kqv = mul_mat(v transposed, kq). The f32 summation orders are profile nx's (f32-kernels.ts): kq
 * uses ggml_vec_dot_f32 (q is a permuted, non-contiguous view), kqv uses tinyBLAS when T % KN == 0.
 * Query head h uses kv head floor(h / (nHead / nHeadKv)). Keys with |i - j| > window are masked.
 * kqScale: soft_max_ext's scale, each score rounded as fround(kq·scale) before the softmax (BERT
 * passes kq_scale = 1/sqrt(hd) there; Gemma pre-scales q and passes 1).
 * q, o: (T, nHead*hd); k, v: (T, nHeadKv*hd).
 */
export function attention(
  nx: Numerics,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  o: Float32Array,
  T: number,
  nHead: number,
  nHeadKv: number,
  hd: number,
  window: number,
  kqScale = 1,
): void {
  const nQ = nHead * hd,
    nKV = nHeadKv * hd,
    group = nHead / nHeadKv;
  const kq = new Float32Array(T); // (T) one row of scores, then probabilities
  const vt = new Float32Array(hd * T); // (hd, T) v transposed for one kv head (ggml_cont(ggml_transpose(v)))
  const { vecDot, softmax } = f32Kernels(nx);
  const kqvDot = f32DotFor(nx, T, hd, T, true);
  for (let kvh = 0; kvh < nHeadKv; kvh++) {
    for (let j = 0; j < T; j++) for (let d = 0; d < hd; d++) vt[d * T + j] = v[j * nKV + kvh * hd + d];
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      for (let i = 0; i < T; i++) {
        const lo = Math.max(0, i - window),
          hi = Math.min(T, i + window + 1);
        const qOff = i * nQ + h * hd;
        kq.fill(-Infinity);
        for (let j = lo; j < hi; j++) kq[j] = vecDot(k, j * nKV + kvh * hd, q, qOff, hd);
        if (kqScale !== 1) for (let j = lo; j < hi; j++) kq[j] = fround(kq[j] * kqScale);
        softmax(kq, 0, T);
        for (let d = 0; d < hd; d++) o[qOff + d] = kqvDot(vt, d * T, kq, 0, T, lo, hi);
      }
    }
  }
}

/**
 * ggml_mul and ggml_add of broadcast rows, then ggml_add of a residual, in place: x (rows, n) =
 * ((x · w) + b) + res, each an f32 op applied only when its operand is given: w, b (n), res (rows, n).
 * A bias add is (b), LayerNorm's affine (w, b) (llama.cpp build_norm), a residual add (res).
 */
export function mulAddRows(x: Float32Array, rows: number, n: number, w?: Float32Array, b?: Float32Array, res?: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    for (let j = 0; j < n; j++) {
      let v = x[o + j]!;
      if (w) v = Math.fround(v * w[j]!);
      if (b) v = Math.fround(v + b[j]!);
      if (res) v = Math.fround(v + res[o + j]!);
      x[o + j] = v;
    }
  }
}
