// AssemblyScript entry of the baseline-SIMD module (SIMD128 + threads; no relaxed ops).
export { heapBase } from "./heap";
export { A8_BYTES, AK_BYTES } from "./common";
export { quantizeRowQ8_0, quantizeRowQ8_1, quantizeRowQ8_K, prepareActivations, prepareFloatActivations, prepareRows } from "./quantize";
export { chainQ8_0, chainQ4_0, chainIQ4_NL, chainQ4_1, chainTileCount } from "./legacy";
export { lanesQ8_0, lanesQ4_0, lanesIQ4_NL, lanesQ5_0, lanesQ4_1, lanesQ5_1, lanesTileCount, lanesForceFast } from "./lanes";
export { chainQ4_K, chainQ5_K, chainQ6_K, chainIQ4_XS } from "./k-quants";
export { lanesQ2_K, lanesQ3_K, lanesQ4_K, lanesQ5_K, lanesQ6_K, lanesIQ4_XS, repackQ4_K, repackQ4_KV, repackQ2_K, repackQ2_KV } from "./k-lanes";
export { f16Sgemm, f32Sgemm, f32VecDot, bf16Sgemm } from "./float";
export { attnPrep, attnRows } from "./attention";
export { attnF16Prep, attnF16Rows } from "./attention-f16";
export { fmaCheck } from "./fma";
export { normRows, gegluRange, geluRange, layerNormRows, swigluRows, mulAddRows } from "./norm";
