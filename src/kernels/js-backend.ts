/** The plain TypeScript backend: the reference path every faster backend is tested against. */
import type { Backend } from "./backend.js";
import type { Numerics } from "./numerics.js";
import { attentionKvF16 } from "./attn-kv-f16.js";
import { normRows } from "./layer-norm.js";
import { attention, geglu, gelu, mulAddRows, rmsNormRows } from "./ops.js";
import { getRowF32, matmul } from "./reference.js";
import { swiglu } from "./silu.js";

/** The reference backend computing the bits of profile nx. */
export function createJsBackend(nx: Numerics): Backend {
  return {
    name: "js",
    numerics: nx,
    matmul: (w, x, nTokens, out, seqLen) => matmul(nx, w, x, nTokens, out, undefined, seqLen),
    getRow: getRowF32,
    attention: (q, k, v, o, T, nHead, nHeadKv, hd, window, kqScale) => attention(nx, q, k, v, o, T, nHead, nHeadKv, hd, window, kqScale),
    attentionKvF16: (q, k, v, o, T, nHead, nHeadKv, hd, kqScale) => attentionKvF16(nx, q, k, v, o, T, nHead, nHeadKv, hd, kqScale),
    rmsNormRows,
    geglu,
    normRows: (x, xOff, out, outOff, n, rows, eps) => normRows(nx, x, xOff, out, outOff, n, rows, eps),
    gelu,
    swiglu: (gate, up, out, rows, nc) => swiglu(nx, gate, up, out, rows, nc),
    mulAddRows,
    activations: (nFloats) => new Float32Array(nFloats),
    alloc: (nBytes) => new Uint8Array(nBytes),
    close: async () => {},
  };
}
