// AssemblyScript entry of the baseline-SIMD module (SIMD128 + threads; no relaxed ops).
export { heapBase } from "./heap";
export { quantizeRowQ8_0, quantizeRowQ8_1, quantizeRowQ8_K, prepareActivations, prepareFloatActivations, prepareRows } from "./quantize";
export { chainQ8_0, chainQ4_0, chainIQ4_NL, chainQ4_1, lanesQ8_0, lanesQ4_0, lanesIQ4_NL, lanesQ5_0, lanesQ4_1, lanesQ5_1 } from "./legacy";
export { chainQ8_0X, chainQ4_0X, chainIQ4_NLX, chainQ4_1X, lanesQ8_0X, lanesQ4_0X, lanesIQ4_NLX, lanesQ5_0X, lanesQ4_1X, lanesQ5_1X } from "./legacy";
export { chainQ4_K, chainQ5_K, chainQ6_K, chainIQ4_XS, chainQ4_KX, chainQ5_KX, chainQ6_KX, chainIQ4_XSX } from "./k-quants";
export { f16Sgemm, f16SgemmX, f32Sgemm, f32VecDot, bf16Sgemm } from "./float";
export { attnPrep, attnRows } from "./attention";
export { fmaCheck } from "./fma";
