/**
 * SiLU-gated linear unit (SwiGLU) with ggml-cpu's f32 numerics per numerics profile.
 * ref: llama.cpp ggml/src/ggml-cpu/vec.cpp ggml_vec_swiglu_f32, vec.h ggml_v_silu / ggml_v_expf /
 * ggml_silu_f32; ops.cpp ggml_compute_forward_swiglu (one call per row of nc). docs/numerics.md.
 * Each row: blocks of GGML_F32_EPR lanes (16 with AVX-512, 8 with AVX2) compute
 * x / (1 + v_expf(0 - x)) · g with the vector exp; the last (nc mod lanes) elements use the
 * scalar ggml_silu_f32, whose expf is the C library's (libm-expf.ts).
 */
import { vExpf8 } from "./ggml-order-avx2.js";
import { vExpf } from "./ggml-order.js";
import { expf } from "./libm-expf.js";
import type { Numerics } from "./numerics.js";

const fround = Math.fround;

/** One lane of ggml_v_silu: x / (1 + v_expf(0 - x)), each step rounded to f32. */
function vSilu(vexp: (x: number) => number, x: number): number {
  return fround(x / fround(1 + vexp(fround(0 - x))));
}

/** ggml_silu_f32 (the scalar tail): x / (1.0f + expf(-x)). */
export function siluF32(x: number): number {
  return fround(x / fround(1 + expf(-x)));
}

/**
 * ggml_swiglu_split over `rows` rows of nc: out[r·nc + i] = silu(gate[r·nc + i]) · up[r·nc + i],
 * lane blocks restarting at every row (gate, up, out: (rows, nc); out may alias either input).
 */
export function swiglu(nx: Numerics, gate: Float32Array, up: Float32Array, out: Float32Array, rows: number, nc: number): void {
  const lanes = nx.lanes;
  const vexp = lanes === 16 ? vExpf : vExpf8;
  for (let r = 0; r < rows; r++) {
    const o = r * nc;
    const body = nc - (nc % lanes); // elements in whole lane blocks
    for (let i = 0; i < body; i++) out[o + i] = fround(vSilu(vexp, gate[o + i]!) * up[o + i]!);
    for (let i = body; i < nc; i++) out[o + i] = fround(siluF32(gate[o + i]!) * up[o + i]!);
  }
}
