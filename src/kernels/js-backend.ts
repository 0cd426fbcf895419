/** The plain TypeScript backend: the reference path every faster backend is tested against. */
import type { Backend } from "./backend.js";
import type { Numerics } from "./numerics.js";
import { attention, geglu, rmsNormRows } from "./ops.js";
import { getRowF32, matmul } from "./reference.js";

/** The reference backend computing the bits of profile nx. */
export function createJsBackend(nx: Numerics): Backend {
  return {
    name: "js",
    numerics: nx,
    matmul: (w, x, nTokens, out, seqLen) => matmul(nx, w, x, nTokens, out, undefined, seqLen),
    getRow: getRowF32,
    attention: (q, k, v, o, T, nHead, nHeadKv, hd, window) => attention(nx, q, k, v, o, T, nHead, nHeadKv, hd, window),
    rmsNormRows,
    geglu,
    activations: (nFloats) => new Float32Array(nFloats),
    alloc: (nBytes) => new Uint8Array(nBytes),
    close: async () => {},
  };
}
