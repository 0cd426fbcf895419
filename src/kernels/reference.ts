/**
 * Reference matmul and row lookup over weights in any supported ggml type, bit-identical to the
 * llama.cpp CPU backend node-llama-cpp ships, as it runs on this project's reference machine
 * (x86-64 with AVX-512 + AMX: ggml loads libggml-cpu-sapphirerapids.so). Before a quantized
 * matmul ggml rounds each activation row to int8 (src/quant/activation.ts), so a single ulp of
 * difference anywhere upstream can flip a rounding; hence the exact f32 summation ORDER of each
 * ggml kernel is reproduced, per code path:
 *   matmul-amx.ts     AMX buffer (Q4_0, Q4_1, Q8_0, Q4_K, Q5_K, Q6_K, IQ4_XS, F16)
 *   matmul-repack.ts  CPU_REPACK buffer (IQ4_NL, Q2_K; Q4_0/Q4_K when AMX refuses the shape)
 *   matmul-cpu.ts     plain CPU buffer: llamafile sgemm or ggml_vec_dot_* (vec-dot.ts, vec-dot-k.ts)
 * Checked output for output against the shipped library by test/ggml-oracle.test.ts. This is
 * also the scalar oracle for the WASM kernels.
 */
import { EmbedError } from "../errors.js";
import { quantTraits } from "../quant/index.js";
import { GGMLType, rowBytes } from "../tensor/ggml-type.js";
import { amxSupports, matmulAmx } from "./matmul-amx.js";
import { matmulCpu } from "./matmul-cpu.js";
import { matmulRepack, repackSupports } from "./matmul-repack.js";

/**
 * Which ggml-cpu code path llama.cpp runs for a (K = ne0, N = ne1) weight of this type on the
 * shipped CPU variant for this machine (libggml-cpu-sapphirerapids.so: AVX-512, AVX512-BF16,
 * AVX512-VNNI, AMX-INT8). llama.cpp places a weight in the first buffer type whose supports_op
 * accepts the matmul: AMX, then CPU_REPACK, then the plain CPU buffer.
 */
export type MatmulPath = "amx" | "repack" | "cpu";

export function matmulPath(type: GGMLType, ne0: number, ne1: number): MatmulPath {
  if (amxSupports(type, ne0, ne1)) return "amx";
  if (repackSupports(type, ne0, ne1)) return "repack";
  return "cpu";
}

/** A 2-D weight in ggml order: ne1 rows of ne0 elements, at data[byteOffset..]. */
export interface WeightView {
  readonly type: GGMLType;
  /** row length (elements); the reduction dimension K */
  readonly ne0: number;
  /** number of rows; the output dimension */
  readonly ne1: number;
  readonly data: Uint8Array;
  readonly byteOffset: number;
  /** tensor name, used in error messages */
  readonly name?: string;
}

function checkWeight(w: WeightView): number {
  const label = w.name ?? "weight";
  const rb = rowBytes(w.type, w.ne0); // throws TENSOR_SHAPE if ne0 is not whole blocks
  const need = w.byteOffset + rb * w.ne1;
  if (!Number.isSafeInteger(need) || w.byteOffset < 0 || need > w.data.length) {
    throw new EmbedError("TENSOR_SHAPE", `tensor "${label}": ${w.ne1} rows of ${rb} bytes at offset ${w.byteOffset} exceed its ${w.data.length}-byte buffer`, {
      tensor: label, ne0: w.ne0, ne1: w.ne1, byteOffset: w.byteOffset, nBytes: w.data.length,
    });
  }
  return rb;
}

/**
 * out[t·ne1 + r] = weight row r · x row t, bit-identical to the shipped llama.cpp CPU backend on
 * an AMX machine (see matmulPath). x: (nTokens, ne0) row-major f32; out: (nTokens, ne1) row-major.
 * `path` forces another buffer's code path (what llama.cpp runs with that buffer type, e.g. with
 * --no-repack / no AMX); it must be one the weight's type and shape allow.
 */
export function matmul(w: WeightView, x: Float32Array, nTokens: number, out: Float32Array, path: MatmulPath = matmulPath(w.type, w.ne0, w.ne1)): void {
  const tr = quantTraits(w.type, w.name);
  if (!tr.vecDot) {
    throw new EmbedError("UNSUPPORTED_TYPE", `tensor "${w.name ?? "weight"}": ggml type ${tr.name} cannot be a matmul weight`, { type: tr.name, tensor: w.name });
  }
  const wRowBytes = checkWeight(w);
  const { ne0, ne1 } = w;
  if (x.length < nTokens * ne0 || out.length < nTokens * ne1) {
    throw new EmbedError("TENSOR_SHAPE", `matmul "${w.name ?? "weight"}": need x >= ${nTokens}x${ne0} and out >= ${nTokens}x${ne1}, got ${x.length} and ${out.length}`, {
      tensor: w.name, ne0, ne1, nTokens, xLength: x.length, outLength: out.length,
    });
  }
  if ((path === "amx" && !amxSupports(w.type, ne0, ne1)) || (path === "repack" && !repackSupports(w.type, ne0, ne1))) {
    throw new EmbedError("UNSUPPORTED_TYPE", `matmul "${w.name ?? "weight"}": the ${path} path does not take a ${tr.name} weight of ${ne1} rows of ${ne0}`, { type: tr.name, tensor: w.name, path });
  }
  if (nTokens === 0) return;
  const data = w.data, wo0 = w.byteOffset;
  switch (path) {
    case "amx":
      return matmulAmx(w.type, data, wo0, ne0, ne1, x, nTokens, out);
    case "repack":
      return matmulRepack(w.type, data, wo0, ne0, ne1, x, nTokens, out);
    case "cpu":
      return matmulCpu(w.type, data, wo0, ne0, ne1, x, nTokens, out);
  }
}

/** Dequantize weight row `row` into dst[0..ne0) (embedding lookup: token_embd.weight). */
export function getRowF32(w: WeightView, row: number, dst: Float32Array): void {
  const tr = quantTraits(w.type, w.name);
  const rb = checkWeight(w);
  if (!Number.isInteger(row) || row < 0 || row >= w.ne1) {
    throw new EmbedError("TOKEN_OUT_OF_RANGE", `tensor "${w.name ?? "weight"}": row ${row} outside [0, ${w.ne1})`, { tensor: w.name, row, ne1: w.ne1 });
  }
  if (dst.length < w.ne0) {
    throw new EmbedError("TENSOR_SHAPE", `tensor "${w.name ?? "weight"}": destination holds ${dst.length} < ${w.ne0} elements`, { tensor: w.name, ne0: w.ne0 });
  }
  tr.dequantizeRow(w.data, w.byteOffset + row * rb, dst, 0, w.ne0);
}
