/**
 * Start-up self-check of the relaxed-SIMD kernels (wasm/relaxed-check.as selfCheck). Relaxed
 * instructions may differ between platforms: f32x4.relaxed_madd is fused only where the CPU has
 * FMA (then it is exactly the reference's fma32), and i16x8.relaxed_dot_i8x16_i7x16_s is only
 * deterministic when its second operand fits in 7 bits. The check requires relaxed_madd to give
 * the fused result on inputs where fused and unfused differ, then runs every relaxed chain kernel
 * against its baseline twin in the same module on vectors that hit the extremes (±127
 * activations, -128/127 weights, every nibble; 2 panels and a tail of rows for the panel kernels).
 * Any mismatch, trap or missing export means "not available" (the baseline module is used).
 */
export function relaxedSelfCheck(module: WebAssembly.Module, shared: boolean): boolean {
  try {
    const memory = new WebAssembly.Memory({
      initial: 4,
      maximum: 65536,
      ...(shared ? { shared: true } : {}),
    } as WebAssembly.MemoryDescriptor);
    const ex = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, (...a: number[]) => number>;
    if (typeof ex.selfCheck !== "function") return false;
    return ex.selfCheck(65536) === 0;
  } catch {
    return false;
  }
}
