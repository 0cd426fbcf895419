import { quantTraits } from "../quant/index.js";
import { GGMLType, rowBytes } from "../tensor/ggml-type.js";
export function repackSupports(type: GGMLType, _k: number, n: number): boolean {
  return (type === GGMLType.Q2_K || type === GGMLType.IQ4_NL) && n % 8 === 0;
}
export function matmulRepack(type: GGMLType, data: Uint8Array, wo0: number, ne0: number, ne1: number, act: Uint8Array, nTokens: number, out: Float32Array): void {
  const tr = quantTraits(type);
  const arb = rowBytes(tr.vecDotType, ne0), wrb = rowBytes(type, ne0);
  for (let r = 0, wo = wo0; r < ne1; r++, wo += wrb) for (let t = 0; t < nTokens; t++) out[t * ne1 + r] = tr.vecDot!(ne0, data, wo, act, t * arb);
}
