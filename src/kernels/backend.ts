/**
 * What a model needs from a compute backend. Models call these and never see WebAssembly or
 * threads; the choice between the plain TypeScript reference and the WASM path happens once at load.
 */
import type { Weight } from "../tensor/weight.js";
import type { Numerics } from "./numerics.js";

export type { Weight } from "../tensor/weight.js";

export interface Backend {
  readonly name: "js" | "wasm";
  /** the llama.cpp CPU variant family whose bits every op reproduces (numerics.ts) */
  readonly numerics: Numerics;
  /**
   * W (ne1, ne0) @ x (nTokens, ne0) -> out (nTokens, ne1), each activation row first converted to
   * the weight type's vec_dot_type exactly as ggml-cpu does (reference.ts matmul; docs/numerics.md).
   * seqLen: the rows are these sequences back to back; each row gets the bits llama.cpp computes
   * for its sequence alone (matmul-path.ts matmulRuns). Default: one sequence.
   */
  matmul(w: Weight, x: Float32Array, nTokens: number, out: Float32Array, seqLen?: readonly number[]): void;
  /** Dequantize row `row` of w into dst[0 .. ne0). */
  getRow(w: Weight, row: number, dst: Float32Array): void;
  /**
   * Attention for one sequence (see ops.ts `attention` for the exact numerics).
   * q, o: (T, nHead*hd); k, v: (T, nHeadKv*hd); window: max |i - j| attended (Infinity = all);
   * kqScale: soft_max_ext's scale on the scores (default 1).
   */
  attention(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    o: Float32Array,
    T: number,
    nHead: number,
    nHeadKv: number,
    hd: number,
    window: number,
    kqScale?: number,
  ): void;
  /**
   * Causal attention of one sequence through llama.cpp's f16 KV cache (attn-kv-f16.ts
   * attentionKvF16 for the exact numerics): q, o: (T, nHead*hd); k, v: (T, nHeadKv*hd); kqScale:
   * soft_max_ext's scale on the scores.
   */
  attentionKvF16(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    o: Float32Array,
    T: number,
    nHead: number,
    nHeadKv: number,
    hd: number,
    kqScale: number,
  ): void;
  /** ops.ts rmsNormRows, bit for bit: `rows` rows of n from x[xOff..] into out[outOff..] (may alias x), weight g. */
  rmsNormRows(
    x: Float32Array,
    xOff: number,
    out: Float32Array,
    outOff: number,
    n: number,
    rows: number,
    g: Float32Array,
    eps: number,
  ): void;
  /** ops.ts geglu, bit for bit: out[i] = gelu(gate[i])·up[i] for i < n. */
  geglu(gate: Float32Array, up: Float32Array, out: Float32Array, n: number): void;
  /** layer-norm.ts normRows, bit for bit: ggml_norm of `rows` rows of n, x[xOff..] -> out[outOff..] (may alias x); no weight, no bias. */
  normRows(x: Float32Array, xOff: number, out: Float32Array, outOff: number, n: number, rows: number, eps: number): void;
  /** ops.ts gelu, bit for bit: out[i] = gelu(x[i]) through ggml's fp16 table, i < n (out may alias x). */
  gelu(x: Float32Array, out: Float32Array, n: number): void;
  /** silu.ts swiglu, bit for bit: out (rows, nc) = silu(gate)·up, ggml's lane blocks restarting at every row. */
  swiglu(gate: Float32Array, up: Float32Array, out: Float32Array, rows: number, nc: number): void;
  /** ops.ts mulAddRows, bit for bit: x (rows, n) = ((x · w) + b) + res in f32, each step only when its operand is given. */
  mulAddRows(x: Float32Array, rows: number, n: number, w?: Float32Array, b?: Float32Array, res?: Float32Array): void;
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
