/**
 * What a model needs from a compute backend. Models call these and never see WebAssembly or
 * threads; the choice between the plain TypeScript reference and the WASM path happens once at load.
 */
import type { GGMLType } from "../tensor/ggml-type.js";

/** A weight matrix in its GGUF encoding: ne1 rows of ne0 elements. */
export interface Weight {
  readonly name: string;
  readonly type: GGMLType;
  readonly ne0: number;
  readonly ne1: number;
  readonly data: Uint8Array;
}

export interface Backend {
  readonly name: "js" | "wasm";
  /**
   * out (nTokens, w.ne1) = x (nTokens, w.ne0) · wᵀ, with each activation row first converted to the
   * weight type's vec_dot_type exactly as ggml-cpu does (gguf.md §7).
   */
  matmul(w: Weight, x: Float32Array, nTokens: number, out: Float32Array): void;
  /** Dequantize row `row` of w into dst[0 .. ne0). */
  getRow(w: Weight, row: number, dst: Float32Array): void;
  /**
   * Attention for one sequence (see ops.ts `attention` for the exact numerics).
   * q, o: (T, nHead*hd); k, v: (T, nHeadKv*hd); window: max |i - j| attended (Infinity = all).
   */
  attention(q: Float32Array, k: Float32Array, v: Float32Array, o: Float32Array, T: number, nHead: number, nHeadKv: number, hd: number, window: number): void;
  /** ops.ts rmsNormRows, bit for bit: `rows` rows of n from x[xOff..] into out[outOff..] (may alias x), weight g. */
  rmsNormRows(x: Float32Array, xOff: number, out: Float32Array, outOff: number, n: number, rows: number, g: Float32Array, eps: number): void;
  /** ops.ts geglu, bit for bit: out[i] = gelu(gate[i])·up[i] for i < n. */
  geglu(gate: Float32Array, up: Float32Array, out: Float32Array, n: number): void;
  /**
   * Storage for the forward pass's activations (nFloats f32), reused by the next call: the wasm
   * backend hands out WebAssembly memory so its kernels work on the buffers in place.
   */
  activations(nFloats: number): Float32Array;
  /** Storage for `nBytes` of weight data (in WebAssembly memory for the wasm backend). */
  alloc(nBytes: number): Uint8Array;
  /** Release threads and memory. */
  close(): Promise<void>;
}
