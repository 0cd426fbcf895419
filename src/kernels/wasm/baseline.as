// AssemblyScript entry of the baseline-SIMD module (SIMD128 + threads; no relaxed ops).
export { heapBase } from "./heap";
export { quantizeRowQ8_0, quantizeRowQ8_1, quantizeRowQ8_K, prepareActivations, prepareFloatActivations } from "./quantize";
export { matmulQ8_0, matmulQ4_0, matmulIQ4_NL, matmulQ5_0, matmulQ4_1, matmulQ5_1 } from "./legacy";
export { matmulQ4_K, matmulQ5_K, matmulQ6_K } from "./k-quants";
export { matmulF32, matmulF16, matmulBF16 } from "./float";
