/**
 * Kernel lab (llm.c dev/ style): every matmul kernel side by side, GOP/s = 2·ne0·ne1·nTok / time
 * (one multiply + one add per weight·activation pair; activation conversion and copies included,
 * as in a real matmul call). v0 = scalar reference (reference.ts), baseline = SIMD128,
 * relaxed = relaxed-SIMD kernels (when this runtime has them: run with
 * --experimental-wasm-relaxed-simd on Node 20). Usage: npm run bench:kernels
 */
import { jsBackend } from "../src/kernels/js-backend.js";
import { createWasmBackend, type WasmBackend } from "../src/kernels/wasm.js";
import { quantizeRows } from "../src/quant/index.js";
import { GGMLType, ggmlTypeName } from "../src/tensor/ggml-type.js";
import type { Weight } from "../src/kernels/backend.js";

const NE0 = 768, NE1 = 1152, NTOK = Number(process.env.NTOK ?? 64);
const TYPES = [GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.F16, GGMLType.F32, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K, GGMLType.Q5_0, GGMLType.Q5_1,
  GGMLType.BF16, GGMLType.Q4_1, GGMLType.IQ4_NL];

function rnd(n: number): Float32Array {
  let s = 1;
  return new Float32Array(n).map(() => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1);
}

function gops(run: () => void, ops: number, minMs = 300): number {
  run();
  let best = Infinity, spent = 0;
  while (spent < minMs) {
    const t0 = performance.now();
    run();
    const dt = performance.now() - t0;
    best = Math.min(best, dt);
    spent += dt;
  }
  return ops / best / 1e6;
}

function weightIn(be: WasmBackend, type: GGMLType, bytes: Uint8Array): Weight {
  const data = be.alloc(bytes.length);
  data.set(bytes);
  return { name: "w", type, ne0: NE0, ne1: NE1, data };
}

// One backend alive at a time: an idle pool's worker spins ~30 µs after each task, which would
// steal the second core from another backend's measurement.
const x = rnd(NE0 * NTOK), out = new Float32Array(NE1 * NTOK), ops = 2 * NE0 * NE1 * NTOK;
const weights = TYPES.map((type) => quantizeRows(type, rnd(NE0 * NE1), NE0));
const table = TYPES.map((type, i) => {
  const ref: Weight = { name: "w", type, ne0: NE0, ne1: NE1, data: weights[i]! };
  return [gops(() => jsBackend.matmul(ref, x.subarray(0, NE0 * 2), 2, out), 2 * NE0 * NE1 * 2, 100)];
});
const names: string[] = [];
for (const [label, threads, relaxed] of [["baseline 1T", 1, false], ["relaxed 1T", 1, true], ["baseline 2T", 2, false], ["relaxed 2T", 2, true]] as const) {
  const be = await createWasmBackend({ threads, relaxedSimd: relaxed ? "auto" : false });
  if (relaxed && !be.relaxedSimd) { await be.close(); continue; }
  names.push(label);
  TYPES.forEach((type, i) => {
    const w = weightIn(be, type, weights[i]!);
    table[i]!.push(be.kernelFor(w) === "reference" ? NaN : gops(() => be.matmul(w, x, NTOK, out), ops));
  });
  await be.close();
}
console.log(`matmul ${NE0}x${NE1}, nTok ${NTOK}; GOP/s (higher is better)`);
console.log(["type", "v0 (ref)", ...names].map((s) => s.padStart(12)).join(""));
TYPES.forEach((type, i) => {
  console.log([ggmlTypeName(type), ...table[i]!.map((c) => (Number.isNaN(c) ? "-" : c.toFixed(1)))].map((s) => s.padStart(12)).join(""));
});
