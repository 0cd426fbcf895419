/**
 * Start-up self-check of the relaxed-SIMD kernels. i16x8.relaxed_dot_i8x16_i7x16_s is only
 * deterministic when its second operand fits in 7 bits; our relaxed kernels arrange that
 * (quantize.as / relaxed.as), and this check runs them against the baseline kernels of the same
 * module on vectors that hit the extremes (±127 activations, -128/127 weights, nibble 15) before
 * the backend trusts them. Any mismatch, trap or missing export means "not available".
 */
export function relaxedSelfCheck(module: WebAssembly.Module, shared: boolean): boolean {
  try {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 65536, ...(shared ? { shared: true } : {}) } as WebAssembly.MemoryDescriptor);
    const ex = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, (...a: number[]) => number>;
    if (typeof ex.selfCheck !== "function") return false;
    return ex.selfCheck(65536) === 0;
  } catch {
    return false;
  }
}
