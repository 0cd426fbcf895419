/**
 * Reference matmul and row lookup over weights in any supported ggml type, computed the way
 * ggml-cpu's mul_mat does it: each activation row is converted ONCE to the weight's
 * vec_dot_type (x86 flavour, src/quant/activation.ts), then every output is a vecDot of a weight
 * row with a converted activation row. Skipping that conversion costs ~1e-2 relative error vs
 * llama.cpp; doing it gives ~1e-7 (spec gguf.md §7.1, §7.5). Scalar oracle for the WASM kernels.
 */
import { EmbedError } from "../errors.js";
import { fromFloatFor, quantTraits } from "../quant/index.js";
import { GGMLType, rowBytes } from "../tensor/ggml-type.js";

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
 * out[t·ne1 + r] = vecDot(weight row r, convert(x row t)).
 * x: (nTokens, ne0) row-major f32; out: (nTokens, ne1) row-major f32.
 */
export function matmul(w: WeightView, x: Float32Array, nTokens: number, out: Float32Array): void {
  const tr = quantTraits(w.type, w.name);
  const vecDot = tr.vecDot;
  if (!vecDot) {
    throw new EmbedError("UNSUPPORTED_TYPE", `tensor "${w.name ?? "weight"}": ggml type ${tr.name} cannot be a matmul weight`, { type: tr.name, tensor: w.name });
  }
  const wRowBytes = checkWeight(w);
  const { ne0, ne1 } = w;
  if (x.length < nTokens * ne0 || out.length < nTokens * ne1) {
    throw new EmbedError("TENSOR_SHAPE", `matmul "${w.name ?? "weight"}": need x >= ${nTokens}x${ne0} and out >= ${nTokens}x${ne1}, got ${x.length} and ${out.length}`, {
      tensor: w.name, ne0, ne1, nTokens, xLength: x.length, outLength: out.length,
    });
  }
  // Convert every activation row once (ggml: params->wdata), then reuse it for all weight rows.
  const aRowBytes = rowBytes(tr.vecDotType, ne0);
  const act = new Uint8Array(aRowBytes * nTokens);
  const fromFloat = fromFloatFor(tr.vecDotType);
  for (let t = 0; t < nTokens; t++) fromFloat(x, t * ne0, act, t * aRowBytes, ne0);

  for (let r = 0, wo = w.byteOffset; r < ne1; r++, wo += wRowBytes) {
    for (let t = 0; t < nTokens; t++) out[t * ne1 + r] = vecDot(ne0, w.data, wo, act, t * aRowBytes);
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
