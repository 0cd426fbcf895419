/**
 * The single-matmul comparison of bench/peers-kernel.bench.ts, with no node:* import so that the
 * same code runs in Node and in a Chromium page (bench/browser-kernel.bench.ts): one int8 matmul,
 * 768 × 1152 (an EmbeddingGemma ffn_gate/up), at T = 1 and 64, one thread. Our Q8_0 kernels go
 * through the wasm backend (baseline SIMD, relaxed, and relaxed-usdot where this engine's probe
 * passes; activation quantization included, as in every real call); onnxruntime-web's
 * MatMulInteger runs alone (u8 activations (T, 768) given, int8 B (768, 1152), int32 out;
 * session.run overhead included). GOP/s = 2·768·1152·T / time, best of repeated runs.
 */
import { numericsByName } from "../src/kernels/numerics.js";
import { createWasmBackend } from "../src/kernels/wasm.js";
import { quantizeRows } from "../src/quant/index.js";
import { GGMLType } from "../src/tensor/ggml-type.js";
import { GraphBuilder } from "../scripts/onnx/builder.js";
import { DT, writeModel } from "../scripts/onnx/proto.js";

export const K = 768,
  N = 1152;

/** A row of the table: name, our kernel's names (T=1 / T=64), then [wall, cpu] GOP/s at T=1 and T=64. */
export type KernelRow = [string, string, ...number[]];

/** What the host gives: onnxruntime-web's module, and the process CPU time in ms if it has one. */
export interface KernelHost {
  ort: typeof import("onnxruntime-web");
  cpuMs?: () => number;
  /** Log a line (a skipped variant). */
  log: (line: string) => void;
  /** Our kernels' numerics profile (default avx512: this project's AMD machines; amx: the Intel ones). */
  numerics?: string;
}

function rnd(n: number, scale = 1): Float32Array {
  let s = 1;
  return new Float32Array(n).map(() => (((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1) * scale);
}

/**
 * [wall GOP/s, cpu GOP/s] of the best of runs over ~minMs, after ~minMs of warm-up (V8 compiles
 * wasm with Liftoff first and tiers up in the background, late on a loaded machine). Without a CPU
 * clock (a page), the second figure repeats the first.
 */
async function gops(run: () => unknown, ops: number, host: KernelHost, minMs = 500): Promise<[number, number]> {
  for (const t0 = performance.now(); performance.now() - t0 < minMs; ) await run();
  const cpu = host.cpuMs ?? (() => performance.now());
  let best = Infinity,
    bestCpu = Infinity,
    spent = 0;
  while (spent < minMs) {
    const c0 = cpu(),
      t0 = performance.now();
    for (let i = 0; i < 4; i++) await run();
    const dt = (performance.now() - t0) / 4;
    best = Math.min(best, dt);
    bestCpu = Math.min(bestCpu, (cpu() - c0) / 4);
    spent += dt * 4;
  }
  return [ops / best / 1e6, ops / bestCpu / 1e6];
}

/** Our kernels' rows, then onnxruntime-web's. */
export async function kernelRows(host: KernelHost): Promise<KernelRow[]> {
  const w = quantizeRows(GGMLType.Q8_0, rnd(K * N, 0.05), K); // N rows of K
  const rows: KernelRow[] = [];
  for (const [label, relaxed, usdot] of [
    ["baseline", false, false],
    ["relaxed", true, false],
    ["relaxed-usdot", true, true],
  ] as const) {
    const numerics = numericsByName(host.numerics ?? "avx512");
    const be = await createWasmBackend({ numerics, threads: 1, relaxedSimd: relaxed ? "auto" : false, usdot: usdot ? "auto" : false });
    const simd = be.usdot ? "relaxed-usdot" : be.relaxedSimd ? "relaxed" : "baseline";
    if (simd !== label) {
      await be.close();
      host.log(`  (${label}: not available on this engine, skipped)`);
      continue;
    }
    const data = be.alloc(w.length);
    data.set(w);
    const weight = { name: "w", type: GGMLType.Q8_0, ne0: K, ne1: N, data };
    const row: KernelRow = [`gguf-embed Q8_0 ${label} (${numerics.name})`, ""];
    for (const T of [1, 64]) {
      const x = rnd(K * T),
        out = new Float32Array(N * T);
      row[1] += `${row[1] ? " / " : ""}${be.kernelFor(weight, T)}`;
      row.push(...(await gops(() => be.matmul(weight, x, T, out), 2 * K * N * T, host)));
    }
    rows.push(row);
    await be.close();
  }
  const { ort } = host;
  ort.env.wasm.numThreads = 1;
  const g = new GraphBuilder("matmulinteger");
  const a = g.input({ name: "a", elemType: DT.UINT8, shape: ["T", K] });
  const bq = Int8Array.from(rnd(K * N), (v) => Math.round(v * 127));
  const y = g.op("MatMulInteger", [a, g.init("b", [K, N], bq), g.init("az", [], Uint8Array.of(128)), g.init("bz", [], new Int8Array(1))]);
  g.output(y, { name: "y", elemType: DT.INT32, shape: ["T", N] });
  const session = await ort.InferenceSession.create(writeModel({ graph: g.graph(), opsets: { "": 20 }, irVersion: 9 }));
  const row: KernelRow = ["onnxruntime-web MatMulInteger", "MLAS wasm"];
  for (const T of [1, 64]) {
    const feeds = {
      a: new ort.Tensor(
        "uint8",
        Uint8Array.from(rnd(K * T), (v) => Math.round(v * 127 + 128)),
        [T, K],
      ),
    };
    row.push(...(await gops(() => session.run(feeds), 2 * K * N * T, host)));
  }
  rows.push(row);
  await session.release();
  return rows;
}

/** The rows as the markdown table BENCHMARKS.md quotes. */
export function kernelTable(rows: KernelRow[], engine: string): string {
  const f = (x: number | undefined) => x!.toFixed(1);
  const lines = [
    `\nint8 matmul ${K}x${N}, 1 thread, GOP/s (wall / cpu), ${engine}`,
    "| kernel | our kernel (T=1 / T=64) | T = 1 | T = 64 |",
    "|---|---|---|---|",
  ];
  for (const [name, k, w1, c1, w64, c64] of rows) lines.push(`| ${name} | ${k} | ${f(w1)} / ${f(c1)} | ${f(w64)} / ${f(c64)} |`);
  return lines.join("\n");
}
