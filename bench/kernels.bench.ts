/**
 * Kernel lab (llm.c dev/ style): every matmul kernel side by side, GOP/s = 2·ne0·ne1·nTok / time
 * (one multiply + one add per weight·activation pair; activation conversion and copies included,
 * as in a real matmul call), then the attention kernel. v0 = scalar reference (reference.ts),
 * baseline = SIMD128, relaxed = relaxed-SIMD kernels (when this runtime has them: run with
 * --experimental-wasm-relaxed-simd on Node 20). All wasm results are bit-identical to v0
 * (test/kernels/wasm-matmul.test.ts). Time = best of repeated runs; on a shared machine the 1-thread columns
 * are also given as CPU time (process.cpuUsage), which other processes do not inflate.
 * Usage: npm run bench:kernels   (NTOK=1 for the single-token path; NUMERICS=amx|avx512|avx2, default avx512;
 * TYPES=Q8_0,Q4_0 to run only those weight types; ATTN=0 to skip the attention table)
 */
import { createJsBackend } from "../src/kernels/js-backend.js";
import { numericsByName } from "../src/kernels/numerics.js";
import { attention } from "../src/kernels/ops.js";
import { createWasmBackend, type WasmBackend } from "../src/kernels/wasm.js";
import { quantizeRows } from "../src/quant/index.js";
import { GGMLType, ggmlTypeName } from "../src/tensor/ggml-type.js";
import type { Weight } from "../src/kernels/backend.js";

const NE0 = 768,
  NE1 = 1152,
  NTOK = Number(process.env.NTOK ?? 64);
const numerics = numericsByName(process.env.NUMERICS ?? "avx512");
const jsBackend = createJsBackend(numerics);
const T = GGMLType;
const ALL = [T.Q8_0, T.Q4_0, T.F16, T.F32, T.Q4_K, T.Q5_K, T.Q6_K, T.Q5_0, T.Q5_1, T.BF16, T.Q4_1, T.IQ4_NL, T.IQ4_XS, T.Q2_K, T.Q3_K];
const only = process.env.TYPES?.split(",");
const TYPES = only ? ALL.filter((t) => only.includes(ggmlTypeName(t))) : ALL;

function rnd(n: number, scale = 1): Float32Array {
  let s = 1;
  return new Float32Array(n).map(() => (((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1) * scale);
}

/** [wall GOP/s, cpu GOP/s] of the best run. */
function gops(run: () => void, ops: number, minMs = 400): [number, number] {
  run();
  let best = Infinity,
    bestCpu = Infinity,
    spent = 0;
  while (spent < minMs) {
    const c0 = process.cpuUsage(),
      t0 = performance.now();
    run();
    const dt = performance.now() - t0,
      c = process.cpuUsage(c0);
    best = Math.min(best, dt);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000);
    spent += dt;
  }
  return [ops / best / 1e6, ops / bestCpu / 1e6];
}

function weightIn(be: WasmBackend, type: GGMLType, bytes: Uint8Array): Weight {
  const data = be.alloc(bytes.length);
  data.set(bytes);
  return { name: "w", type, ne0: NE0, ne1: NE1, data };
}

const fmt = (c: number) => (Number.isNaN(c) ? "-" : c.toFixed(1));

// One backend alive at a time: an idle pool's worker spins ~30 µs after each task, which would
// steal the second core from another backend's measurement.
const x = rnd(NE0 * NTOK),
  out = new Float32Array(NE1 * NTOK),
  ops = 2 * NE0 * NE1 * NTOK;
const weights = TYPES.map((type) => quantizeRows(type, rnd(NE0 * NE1), NE0));
const table = TYPES.map((type, i) => {
  const ref: Weight = { name: "w", type, ne0: NE0, ne1: NE1, data: weights[i]! };
  const m = Math.min(NTOK, 2);
  return [gops(() => jsBackend.matmul(ref, x.subarray(0, NE0 * m), m, out), 2 * NE0 * NE1 * m, 100)[1]];
});
const kernels: string[] = TYPES.map(() => "");
const names: string[] = [];
for (const [label, threads, relaxed] of [
  ["baseline 1T", 1, false],
  ["relaxed 1T", 1, true],
  ["baseline 2T", 2, false],
  ["relaxed 2T", 2, true],
] as const) {
  const be = await createWasmBackend({ numerics, threads, relaxedSimd: relaxed ? "auto" : false });
  if (relaxed && !be.relaxedSimd) {
    await be.close();
    continue;
  }
  names.push(label + (threads === 1 ? " (cpu)" : ""));
  TYPES.forEach((type, i) => {
    const w = weightIn(be, type, weights[i]!);
    const k = be.kernelFor(w, NTOK);
    if (!relaxed && threads === 1) kernels[i] = k;
    const [wall, cpu] = k === "reference" ? [NaN, NaN] : gops(() => be.matmul(w, x, NTOK, out), ops);
    table[i]!.push(threads === 1 ? cpu : wall);
  });
  await be.close();
}
console.log(`numerics ${numerics.name}: matmul ${NE0}x${NE1}, nTok ${NTOK}; GOP/s (higher is better; 1T columns: CPU time, 2T: wall time)`);
console.log(["type", "kernel", "v0 (ref)", ...names].map((s, i) => (i === 1 ? s.padStart(14) : s.padStart(18))).join(""));
TYPES.forEach((type, i) => {
  console.log([ggmlTypeName(type), kernels[i]!, ...table[i]!.map(fmt)].map((s, j) => (j === 1 ? s.padStart(14) : s.padStart(18))).join(""));
});

if (process.env.ATTN !== "0") await attentionTable();

/** ms per attention call: the reference and the wasm kernel at 1 and 2 threads. */
async function attentionTable(): Promise<void> {
  // Attention: EmbeddingGemma heads (3 query heads, 1 kv head, hd 256).
  const nHead = 3,
    hd = 256;
  console.log(`\nattention, ${nHead} heads / 1 kv head, hd ${hd}: ms per call (ns per head·query·key)`);
  const cases: Array<[number, number]> = [
    [64, Infinity],
    [300, Infinity],
    [514, 256],
  ];
  const rows: string[][] = cases.map(([T, w]) => [`T=${T}${w === Infinity ? "" : ` window ${w}`}`]);
  const pairs = (T: number, w: number) => {
    let n = 0;
    for (let i = 0; i < T; i++) n += Math.min(T, i + w + 1) - Math.max(0, i - w);
    return n * nHead;
  };
  cases.forEach(([T, w], c) => {
    const q = rnd(T * nHead * hd, 0.4),
      k = rnd(T * hd, 2),
      v = rnd(T * hd),
      o = new Float32Array(T * nHead * hd);
    const t0 = performance.now();
    attention(numerics, q, k, v, o, T, nHead, 1, hd, w);
    const ms = performance.now() - t0;
    rows[c]!.push(`${ms.toFixed(1)} (${((ms * 1e6) / pairs(T, w)).toFixed(0)})`);
  });
  for (const threads of [1, 2]) {
    const be = await createWasmBackend({ numerics, threads });
    cases.forEach(([T, w], c) => {
      const q = rnd(T * nHead * hd, 0.4),
        k = rnd(T * hd, 2),
        v = rnd(T * hd),
        o = new Float32Array(T * nHead * hd);
      const [wall, cpu] = gops(() => be.attention(q, k, v, o, T, nHead, 1, hd, w), 1e6, 300); // = 1 / ms
      const ms = 1 / (threads === 1 ? cpu : wall);
      rows[c]!.push(`${ms.toFixed(1)} (${((ms * 1e6) / pairs(T, w)).toFixed(0)})`);
    });
    await be.close();
  }
  console.log(["case", "v0 (ref)", "wasm 1T (cpu)", "wasm 2T"].map((s) => s.padStart(20)).join(""));
  for (const r of rows) console.log(r.map((s) => s.padStart(20)).join(""));
}
