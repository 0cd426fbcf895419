/**
 * Causal self-attention of one sequence as llama.cpp runs it through its f16 KV cache with flash
 * attention off (decoder models such as Qwen3; docs/architectures/qwen3.md "Attention"):
 *   llama.cpp src/llama-graph.cpp build_attn (llm_graph_input_attn_kv) -> build_attn_mha,
 *   src/llama-kv-cache.cpp cpy_k / cpy_v (ggml_set_rows into an f16 cache: f32 -> f16, nearest
 *   even), get_k / get_v (V stored transposed), get_n_kv (the padded row length),
 *   ggml-cpu ggml-cpu.c ggml_compute_forward_mul_mat (src1 converted to vec_dot_type F16, then
 *   llamafile tinyBLAS<KN, fp16, fp16>), ops.cpp ggml_compute_forward_soft_max_f32.
 *
 * The steps, for query token i of head h (kv head h / (nHead / nHeadKv)):
 *   kq[j]  = dot(f16(K[j]), f16(q[i]))            tinyBLAS per output, for j < nKv
 *   w[j]   = f32(kq[j] · scale) + mask[j]          mask 0 for j <= i, -inf for j > i and unused cells
 *   p      = ggml_vec_soft_max_f32(w) · (float)(1/sum), over the whole row of nKv cells
 *   o[i,d] = dot(f16(V[:, d]), f16(p))             tinyBLAS per output, k = nKv
 * with nKv = max(256, pad(T, 256)): llama.cpp sizes the row by the cache, not by T, and unused
 * cells hold zero K and V. Cells past i contribute exact zeros to every lane and block (exp(-inf)
 * = 0, p = 0 times a finite V), so each row stops at pad16(i + 1) — the same bits, a fraction of
 * the work. f16·f16 products are exact in f32 (11 + 11 significant bits), so each FMA is one
 * rounding of the sum of two f32 values; fround(a·b + c) on JS numbers rounds that sum to f64 first,
 * a double rounding that is innocuous for additions (53 >= 2·24 + 1 bits: Figueroa 1995), so it is
 * the correctly rounded f32 sum (docs/architectures/qwen3.md "Why no FMA emulation is needed").
 * This is the reference and the js backend's path; the wasm backend runs wasm/attention-f16.as
 * (Backend.attentionKvF16), tested equal bit for bit by test/kernels/wasm-attn-kv-f16.test.ts.
 * tinyBLAS runs when there are >= 2 tokens and k % KN == 0 (llamafile_sgemm, tinyBLAS::matmul);
 * otherwise ggml_vec_dot_f16 (4 registers of KN lanes, folded, f64 tail). With one token the
 * softmax is exactly 1 and the output is f16(V) whichever order runs.
 */
import { f32ToFp16, fp16ToF32 } from "../quant/f16.js";
import { f32Kernels } from "./f32-kernels.js";
import { haddReduce8 } from "./ggml-order-avx2.js";
import { hsum8, reduceAdd16 } from "./ggml-order.js";
import type { Numerics } from "./numerics.js";

const F = Math.fround;

/** The row length llama.cpp's KV cache gives the scores of a T-token sequence (get_n_kv, n_pad 256). */
export function kvRowLength(T: number): number {
  return Math.max(256, Math.ceil(T / 256) * 256);
}

/** x rounded to f16 and back (GGML_CPU_FP32_TO_FP16, nearest even). */
export function roundF16(x: number): number {
  return fp16ToF32(f32ToFp16(x));
}

const lanes = new Float32Array(64);

/** tinyBLAS<kn, fp16, fp16> one output: a[ao..ao+k) · b[bo..bo+k) (f16 values), kn FMA lanes, then hsum. k % kn == 0. */
export function dotTinyF16(kn: 16 | 8, a: Float32Array, ao: number, b: Float32Array, bo: number, k: number): number {
  for (let l = 0; l < kn; l++) {
    let acc = 0;
    for (let e = l; e < k; e += kn) acc = F(a[ao + e]! * b[bo + e]! + acc);
    lanes[l] = acc;
  }
  return kn === 16 ? reduceAdd16(lanes) : hsum8(lanes);
}

/** ggml_vec_dot_f16 one output: 4 registers of kn lanes over 4·kn-element steps, folded (0+2, 1+3, 0+1), reduced, f64 tail. */
export function dotVecF16(kn: 16 | 8, a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  const step = 4 * kn,
    np = n - (n % step);
  for (let l = 0; l < step; l++) {
    let acc = 0;
    for (let e = l; e < np; e += step) acc = F(a[ao + e]! * b[bo + e]! + acc);
    lanes[l] = acc;
  }
  for (let l = 0; l < kn; l++) {
    lanes[l] = F(lanes[l]! + lanes[2 * kn + l]!);
    lanes[kn + l] = F(lanes[kn + l]! + lanes[3 * kn + l]!);
  }
  for (let l = 0; l < kn; l++) lanes[l] = F(lanes[l]! + lanes[kn + l]!);
  let sum = kn === 16 ? reduceAdd16(lanes) : haddReduce8(lanes);
  for (let e = np; e < n; e++) sum += F(a[ao + e]! * b[bo + e]!);
  return F(sum);
}

/**
 * Causal attention through the f16 KV cache for one sequence (see the header):
 * q, o: (T, nHead·hd); k, v: (T, nHeadKv·hd) f32 as the model produced them; scale: kq_scale.
 */
export function attentionKvF16(
  nx: Numerics,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  o: Float32Array,
  T: number,
  nHead: number,
  nHeadKv: number,
  hd: number,
  scale: number,
): void {
  const kn = nx.lanes;
  const nQ = nHead * hd,
    nKV = nHeadKv * hd,
    group = nHead / nHeadKv;
  const nKv = kvRowLength(T);
  const Tp = Math.min(nKv, Math.ceil(T / 16) * 16); // longest row computed (pad16(T) <= nKv)
  const kqTiny = T >= 2 && hd % kn === 0; // mul_mat(k, q): m = nKv (% 256), k = hd
  const kqvTiny = T >= 2 && nKv % kn === 0 && hd % 4 === 0; // mul_mat(v, kq): m = hd, k = nKv
  const { softmax } = f32Kernels(nx);
  const kc = new Float32Array(T * nKV); // (T, nHeadKv·hd) the K cache cells, f16 values
  for (let i = 0; i < kc.length; i++) kc[i] = roundF16(k[i]!);
  const vt = new Float32Array(hd * Tp); // (hd, Tp) one kv head's V cache, transposed, f16 values, zero past T
  const qh = new Float32Array(hd); // (hd) one query row, f16 values
  const row = new Float32Array(Tp); // (Tp) scores, then probabilities (f16 values)
  for (let kvh = 0; kvh < nHeadKv; kvh++) {
    for (let j = 0; j < T; j++) for (let d = 0; d < hd; d++) vt[d * Tp + j] = roundF16(v[j * nKV + kvh * hd + d]!);
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      for (let i = 0; i < T; i++) {
        const qOff = i * nQ + h * hd;
        for (let d = 0; d < hd; d++) qh[d] = roundF16(q[qOff + d]!);
        const L = Math.min(Tp, Math.ceil((i + 1) / 16) * 16); // cells 0..L-1; past i they are masked
        for (let j = 0; j <= i; j++) {
          const s = kqTiny ? dotTinyF16(kn, kc, j * nKV + kvh * hd, qh, 0, hd) : dotVecF16(kn, kc, j * nKV + kvh * hd, qh, 0, hd);
          row[j] = F(s * scale);
        }
        row.fill(-Infinity, i + 1, L);
        softmax(row, 0, L);
        for (let j = 0; j < L; j++) row[j] = roundF16(row[j]!);
        for (let d = 0; d < hd; d++) {
          // cells L..nKv-1 of the padded row add exact zeros; the vec path's 4·kn steps need them counted
          o[qOff + d] = kqvTiny ? dotTinyF16(kn, vt, d * Tp, row, 0, L) : dotVecPadded(kn, vt, d * Tp, row, L, nKv);
        }
      }
    }
  }
}

/** ggml_vec_dot_f16 over a row of n cells of which only the first L are non-zero (the rest are zero products). */
function dotVecPadded(kn: 16 | 8, a: Float32Array, ao: number, b: Float32Array, L: number, n: number): number {
  const m = Math.min(n, Math.ceil(L / (4 * kn)) * 4 * kn); // whole steps cover the non-zero cells
  const pa = new Float32Array(m),
    pb = new Float32Array(m);
  pa.set(a.subarray(ao, ao + L));
  pb.set(b.subarray(0, L));
  return dotVecF16(kn, pa, 0, pb, 0, m);
}
