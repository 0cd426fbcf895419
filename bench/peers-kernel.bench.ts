/**
 * One int8 matmul, 768 × 1152 (an EmbeddingGemma ffn_gate/up), at T = 1 and 64, one thread:
 * our Q8_0 kernels through the wasm backend (baseline SIMD, relaxed, and relaxed-usdot where this
 * engine's probe passes; activation quantization included, as in every real call) against
 * onnxruntime-web's MatMulInteger alone (u8 activations (T, 768) given, int8 B (768, 1152),
 * int32 out; session.run overhead included). GOP/s = 2·768·1152·T / time, best of repeated runs,
 * wall and process CPU time (CPU time is what other jobs on a shared machine do not inflate).
 * Run by bench/peers.bench.ts, or alone: node dist/bench/peers-kernel.bench.js
 */
import { pathToFileURL } from "node:url";
import { numericsByName } from "../src/kernels/numerics.js";
import { createWasmBackend } from "../src/kernels/wasm.js";
import { quantizeRows } from "../src/quant/index.js";
import { GGMLType } from "../src/tensor/ggml-type.js";
import { GraphBuilder } from "../scripts/onnx/builder.js";
import { DT, writeModel } from "../scripts/onnx/proto.js";

const K = 768,
  N = 1152;

function rnd(n: number, scale = 1): Float32Array {
  let s = 1;
  return new Float32Array(n).map(() => (((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1) * scale);
}

/**
 * [wall GOP/s, cpu GOP/s] of the best of runs over ~minMs, after ~minMs of warm-up (V8 compiles
 * wasm with Liftoff first and tiers up in the background, late on a loaded machine).
 */
async function gops(run: () => unknown, ops: number, minMs = 500): Promise<[number, number]> {
  for (const t0 = performance.now(); performance.now() - t0 < minMs; ) await run();
  let best = Infinity,
    bestCpu = Infinity,
    spent = 0;
  while (spent < minMs) {
    const c0 = process.cpuUsage(),
      t0 = performance.now();
    for (let i = 0; i < 4; i++) await run();
    const dt = (performance.now() - t0) / 4,
      c = process.cpuUsage(c0);
    best = Math.min(best, dt);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 4000);
    spent += dt * 4;
  }
  return [ops / best / 1e6, ops / bestCpu / 1e6];
}

export async function kernelComparison(): Promise<void> {
  const w = quantizeRows(GGMLType.Q8_0, rnd(K * N, 0.05), K); // N rows of K
  const rows: [string, string, ...number[]][] = [];
  for (const [label, relaxed, usdot] of [
    ["baseline", false, false],
    ["relaxed", true, false],
    ["relaxed-usdot", true, true],
  ] as const) {
    const numerics = numericsByName("avx512");
    const be = await createWasmBackend({ numerics, threads: 1, relaxedSimd: relaxed ? "auto" : false, usdot: usdot ? "auto" : false });
    const simd = be.usdot ? "relaxed-usdot" : be.relaxedSimd ? "relaxed" : "baseline";
    if (simd !== label) {
      await be.close();
      console.log(`  (${label}: not available on this engine, skipped)`);
      continue;
    }
    const data = be.alloc(w.length);
    data.set(w);
    const weight = { name: "w", type: GGMLType.Q8_0, ne0: K, ne1: N, data };
    const row: [string, string, ...number[]] = [`gguf-embed Q8_0 ${label}`, ""];
    for (const T of [1, 64]) {
      const x = rnd(K * T),
        out = new Float32Array(N * T);
      row[1] += `${row[1] ? " / " : ""}${be.kernelFor(weight, T)}`;
      row.push(...(await gops(() => be.matmul(weight, x, T, out), 2 * K * N * T)));
    }
    rows.push(row);
    await be.close();
  }
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = 1;
  const g = new GraphBuilder("matmulinteger");
  const a = g.input({ name: "a", elemType: DT.UINT8, shape: ["T", K] });
  const bq = Int8Array.from(rnd(K * N), (v) => Math.round(v * 127));
  const y = g.op("MatMulInteger", [a, g.init("b", [K, N], bq), g.init("az", [], Uint8Array.of(128)), g.init("bz", [], new Int8Array(1))]);
  g.output(y, { name: "y", elemType: DT.INT32, shape: ["T", N] });
  const session = await ort.InferenceSession.create(writeModel({ graph: g.graph(), opsets: { "": 20 }, irVersion: 9 }));
  const row: [string, string, ...number[]] = ["onnxruntime-web MatMulInteger", "MLAS wasm"];
  for (const T of [1, 64]) {
    const feeds = {
      a: new ort.Tensor(
        "uint8",
        Uint8Array.from(rnd(K * T), (v) => Math.round(v * 127 + 128)),
        [T, K],
      ),
    };
    row.push(...(await gops(() => session.run(feeds), 2 * K * N * T)));
  }
  rows.push(row);
  await session.release();
  console.log(`\nint8 matmul ${K}x${N}, 1 thread, GOP/s (wall / cpu), node ${process.version}`);
  console.log("| kernel | our kernel (T=1 / T=64) | T = 1 | T = 64 |\n|---|---|---|---|");
  const f = (x: number | undefined) => x!.toFixed(1);
  for (const [name, k, w1, c1, w64, c64] of rows) console.log(`| ${name} | ${k} | ${f(w1)} / ${f(c1)} | ${f(w64)} / ${f(c64)} |`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await kernelComparison();
