/**
 * Reference matmul and row lookup over weights in any supported ggml type, bit-identical to the
 * llama.cpp CPU backend node-llama-cpp ships, in the variant a numerics profile names (numerics.ts;
 * e.g. libggml-cpu-sapphirerapids.so for "amx", libggml-cpu-zen4.so for "avx512"). Before a
 * quantized matmul ggml rounds each activation row to int8 (src/quant/activation.ts), so a single
 * ulp of difference anywhere upstream can flip a rounding; hence the exact f32 summation ORDER of
 * each ggml kernel is reproduced, per code path:
 *   matmul-amx.ts     AMX buffer (Q4_0, Q4_1, Q8_0, Q4_K, Q5_K, Q6_K, IQ4_XS, F16), profile amx only
 *   matmul-repack.ts  CPU_REPACK buffer (IQ4_NL, Q4_0, Q4_K; Q2_K with AVX-512)
 *   matmul-cpu.ts     plain CPU buffer: llamafile sgemm or ggml_vec_dot_* (vec-dot*.ts)
 * Checked output for output against each variant library this CPU can run by
 * test/kernels/ggml-oracle.test.ts. This is also the scalar oracle for the WASM kernels.
 */
import { EmbedError } from "../errors.js";
import { quantTraits } from "../quant/index.js";
import { rowBytes } from "../tensor/ggml-type.js";
import { vecDotTypeOf } from "./cpu-traits.js";
import { amxSupports, matmulAmx } from "./matmul-amx.js";
import { matmulCpu } from "./matmul-cpu.js";
import { matmulPath, matmulRuns, type MatmulPath } from "./matmul-path.js";
import { matmulRepack, repackSupports } from "./matmul-repack.js";
import type { Numerics } from "./numerics.js";
import type { Weight } from "../tensor/weight.js";

export { matmulPath, type MatmulPath } from "./matmul-path.js";

function checkWeight(w: Weight): number {
  const rb = rowBytes(w.type, w.ne0); // throws TENSOR_SHAPE if ne0 is not whole blocks
  const need = rb * w.ne1;
  if (!Number.isSafeInteger(need) || need > w.data.length) {
    throw new EmbedError("TENSOR_SHAPE", `tensor "${w.name}": ${w.ne1} rows of ${rb} bytes exceed its ${w.data.length}-byte buffer`, {
      tensor: w.name,
      ne0: w.ne0,
      ne1: w.ne1,
      nBytes: w.data.length,
    });
  }
  return rb;
}

/**
 * W (ne1, ne0) @ x (nTokens, ne0) -> out (nTokens, ne1): out[t·ne1 + r] = weight row r · x row t,
 * bit-identical to llama.cpp's CPU backend in profile nx (see matmulPath). Row-major f32 x and out.
 * `path` forces another buffer's code path (what llama.cpp runs with that buffer type, e.g. with
 * --no-repack); it must be one the weight's type and shape allow in nx. `seqLen`: the rows are
 * these sequences back to back, and each row gets the order of its sequence alone (matmulRuns).
 */
export function matmul(
  nx: Numerics,
  w: Weight,
  x: Float32Array,
  nTokens: number,
  out: Float32Array,
  path: MatmulPath = matmulPath(nx, w.type, w.ne0, w.ne1),
  seqLen?: readonly number[],
): void {
  const tr = quantTraits(w.type, w.name);
  vecDotTypeOf(w.type, w.name); // UNSUPPORTED_TYPE for a type that cannot be a matmul weight
  const _wRowBytes = checkWeight(w);
  const { ne0, ne1 } = w;
  if (x.length < nTokens * ne0 || out.length < nTokens * ne1) {
    throw new EmbedError(
      "TENSOR_SHAPE",
      `matmul "${w.name}": need x >= ${nTokens}x${ne0} and out >= ${nTokens}x${ne1}, got ${x.length} and ${out.length}`,
      {
        tensor: w.name,
        ne0,
        ne1,
        nTokens,
        xLength: x.length,
        outLength: out.length,
      },
    );
  }
  if ((path === "amx" && !(nx.amx && amxSupports(w.type, ne0, ne1))) || (path === "repack" && !repackSupports(nx, w.type, ne0, ne1))) {
    throw new EmbedError(
      "UNSUPPORTED_TYPE",
      `matmul "${w.name}": the ${path} path does not take a ${tr.name} weight of ${ne1} rows of ${ne0} in numerics ${nx.name}`,
      { type: tr.name, tensor: w.name, path },
    );
  }
  for (const [t0, n] of matmulRuns(nx, w.type, ne0, ne1, nTokens, seqLen, path)) {
    const xs = x.subarray(t0 * ne0, (t0 + n) * ne0),
      os = out.subarray(t0 * ne1, (t0 + n) * ne1);
    switch (path) {
      case "amx":
        matmulAmx(w.type, w.data, 0, ne0, ne1, xs, n, os);
        break;
      case "repack":
        matmulRepack(w.type, w.data, 0, ne0, ne1, xs, n, os);
        break;
      case "cpu":
        matmulCpu(nx, w.type, w.data, 0, ne0, ne1, xs, n, os);
        break;
    }
  }
}

/** Dequantize weight row `row` into dst[0..ne0) (embedding lookup: token_embd.weight). */
export function getRowF32(w: Weight, row: number, dst: Float32Array): void {
  const tr = quantTraits(w.type, w.name);
  const rb = checkWeight(w);
  if (!Number.isInteger(row) || row < 0 || row >= w.ne1) {
    throw new EmbedError("TOKEN_OUT_OF_RANGE", `tensor "${w.name}": row ${row} outside [0, ${w.ne1})`, { tensor: w.name, row, ne1: w.ne1 });
  }
  if (dst.length < w.ne0) {
    throw new EmbedError("TENSOR_SHAPE", `tensor "${w.name}": destination holds ${dst.length} < ${w.ne0} elements`, {
      tensor: w.name,
      ne0: w.ne0,
    });
  }
  tr.dequantizeRow(w.data, row * rb, dst, 0, w.ne0);
}
