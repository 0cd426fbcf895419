/** The plain TypeScript backend: the reference path every faster backend is tested against. */
import type { Backend, Weight } from "./backend.js";
import { attention, geglu, rmsNormRows } from "./ops.js";
import { getRowF32, matmul } from "./reference.js";

export const jsBackend: Backend = {
  name: "js",
  matmul(w: Weight, x: Float32Array, nTokens: number, out: Float32Array): void {
    matmul({ type: w.type, ne0: w.ne0, ne1: w.ne1, data: w.data, byteOffset: 0, name: w.name }, x, nTokens, out);
  },
  getRow(w: Weight, row: number, dst: Float32Array): void {
    getRowF32({ type: w.type, ne0: w.ne0, ne1: w.ne1, data: w.data, byteOffset: 0, name: w.name }, row, dst);
  },
  attention,
  rmsNormRows,
  geglu,
  activations: (nFloats) => new Float32Array(nFloats),
  alloc: (nBytes) => new Uint8Array(nBytes),
  close: async () => {},
};
