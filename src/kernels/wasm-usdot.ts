/**
 * Start-up probe of the relaxed unsigned × signed dot (wasm/usdot.as). The instruction
 * i32x4.relaxed_dot_i8x16_i7x16_add_s is an exact s8 × u8 dot only where the engine lowers it to
 * VPDPBUSD (V8 on x64 with AVX-VNNI; measured: Node 24). Elsewhere it saturates byte pairs at
 * int16 (a PMADDUBSW lowering: Node 22, Node 20's optimizing tier, Node 24 without AVX-VNNI) or
 * loses the accumulator (Node 20's baseline tier, Liftoff). Neither the Node version nor the CPU
 * decides it, so every start runs:
 *   1. one instruction on inputs only an exact lowering passes (wasm/usdot.as usdotProbe);
 *   2. every USDot kernel against its exact twin on inputs that hit 255 × −128 and 255 × 127
 *      (usdotCheck), cold (first call: the baseline tier), then after a warm-up that lets the
 *      engine tier the functions up, and again.
 * Any mismatch, trap or missing export means "not available".
 */
const C0 = 1000,
  C1 = -7;

export async function usdotSelfCheck(module: WebAssembly.Module, shared: boolean): Promise<boolean> {
  try {
    const memory = new WebAssembly.Memory({
      initial: 4,
      maximum: 65536,
      ...(shared ? { shared: true } : {}),
    } as WebAssembly.MemoryDescriptor);
    const ex = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, (...a: number[]) => number>;
    if (typeof ex.usdotProbe !== "function" || typeof ex.usdotCheck !== "function") return false;
    const probe = () => {
      ex.usdotProbe!(C0, C1, 0);
      const r = new Int32Array(memory.buffer, 0, 4);
      return r[0] === C0 - 130560 && r[1] === C1 + 129540 && r[2] === C0 - 130560 && r[3] === C1 + 129540;
    };
    if (!probe() || ex.usdotCheck!(65536) !== 0) return false; // cold
    for (let i = 0; i < 400; i++) if (!probe() || ex.usdotCheck!(65536) !== 0) return false; // warming up
    await new Promise((r) => setTimeout(r, 20)); // background tier-up finishes
    for (let i = 0; i < 50; i++) if (!probe() || ex.usdotCheck!(65536) !== 0) return false;
    return true;
  } catch {
    return false;
  }
}
