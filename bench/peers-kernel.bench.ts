/**
 * One int8 matmul, 768 × 1152, at T = 1 and 64, one thread, in this Node: our Q8_0 kernels against
 * onnxruntime-web's MatMulInteger (bench/kernel-rows.ts says what is timed). CPU time is the
 * process's (what other jobs on a shared machine do not inflate). The same comparison in Chromium:
 * bench/browser-kernel.bench.ts.
 * Run by bench/peers.bench.ts, or alone: node dist/bench/peers-kernel.bench.js (NUMERICS=amx: the
 * AMX profile's kernels, which run on any CPU).
 */
import { pathToFileURL } from "node:url";
import { kernelRows, kernelTable } from "./kernel-rows.js";

export async function kernelComparison(): Promise<void> {
  const cpuMs = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  };
  const rows = await kernelRows({
    ort: await import("onnxruntime-web"),
    cpuMs,
    log: (l) => console.log(l),
    numerics: process.env.NUMERICS,
  });
  console.log(kernelTable(rows, `node ${process.version}`));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await kernelComparison();
