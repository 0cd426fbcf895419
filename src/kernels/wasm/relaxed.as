// AssemblyScript entry of the relaxed-SIMD module: everything in baseline.as plus the relaxed kernels.
export { heapBase } from "./heap";
export { quantizeRowQ8_0, quantizeRowQ8_1, quantizeRowQ8_K, prepareActivations, prepareFloatActivations, prepareRows } from "./quantize";
export { chainQ8_0, chainQ4_0, chainIQ4_NL, chainQ4_1, lanesQ8_0, lanesQ4_0, lanesIQ4_NL, lanesQ5_0, lanesQ4_1, lanesQ5_1 } from "./legacy";
export { chainQ4_K, chainQ5_K, chainQ6_K, chainIQ4_XS } from "./k-quants";
export { f16Sgemm, f32Sgemm, f32VecDot, bf16Sgemm } from "./float";
export { attnPrep, attnRows } from "./attention";
export { attnPrepR, attnRowsR } from "./attention-relaxed";
export { fmaCheck } from "./fma";
export { normRows, gegluRange } from "./norm";
export { chainQ8_0M, chainQ4_0R, chainIQ4_NLM, chainQ4_1M, selfCheck } from "./relaxed-kernels";
export { lanesQ8_0M, lanesQ4_0M, lanesIQ4_NLM, lanesQ4_1M, lanesQ5_0M, lanesQ5_1M } from "./relaxed-lanes";
export { lanesQ8_0U, chainQ8_0U, usdotProbe, usdotCheck } from "./usdot";
