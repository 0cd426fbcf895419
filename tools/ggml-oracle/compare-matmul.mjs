// Dev tool: bit-compare our reference matmul (dist/src/kernels/reference.js) with ggml's, run by
// one llama.cpp CPU variant library with the weight in the buffer type llama.cpp would pick.
//   node tools/ggml-oracle/compare-matmul.mjs <TYPE> <K> <N> <M> [buffer: pick|amx|repack|cpu] [threads] [variant]
// The buffer picks where the oracle puts the weight and which path our matmul follows; the
// variant (default: the best one for this CPU) sets the numerics profile ours runs in.
// Build the oracle first: tools/ggml-oracle/build.sh
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
const root = resolve(import.meta.dirname, "../..");
const { matmul, matmulPath } = await import(join(root, "dist/src/kernels/reference.js"));
const { bestVariant, numericsByName } = await import(join(root, "dist/src/kernels/numerics.js"));
const { readCpuFlags } = await import(join(root, "dist/src/node/cpu-flags.js"));
const { quantizeRows } = await import(join(root, "dist/src/quant/index.js"));
const { ggmlTypeByName } = await import(join(root, "dist/src/tensor/ggml-type.js"));
const [typeName, K, N, M, buffer = "pick", threads = "2", variant = bestVariant(await readCpuFlags())] = process.argv.slice(2);
const nx = numericsByName(variant);
const type = ggmlTypeByName(typeName).id;
const bins = join(root, "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64");
const dir = mkdtempSync(join(tmpdir(), "oracle-"));
let seed = 42;
const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296);
const W = Float32Array.from({ length: +K * +N }, () => (rnd() * 2 - 1) / Math.sqrt(+K));
const X = Float32Array.from({ length: +K * +M }, () => (rnd() * 2 - 1) * 3);
const wq = type === 0 ? new Uint8Array(W.buffer) : quantizeRows(type, W, +K);
writeFileSync(join(dir, "w.bin"), wq);
writeFileSync(join(dir, "x.bin"), new Uint8Array(X.buffer));
const mode = { amx: "1", repack: "2", cpu: "0", pick: "3" }[buffer];
execFileSync(join(root, ".cache/ggml-oracle/mm"), [bins, `libggml-cpu-${variant}.so`, String(type), K, N, M, join(dir, "w.bin"), join(dir, "x.bin"), join(dir, "y.bin"), mode, threads], { stdio: ["ignore", "ignore", "inherit"] });
const rb = readFileSync(join(dir, "y.bin"));
const ref = new Float32Array(rb.buffer.slice(rb.byteOffset, rb.byteOffset + rb.length));
rmSync(dir, { recursive: true, force: true });
const ours = new Float32Array(+N * +M);
// ours follows the same buffer's code path as the oracle (the default path is what llama.cpp picks)
const path = buffer === "pick" ? matmulPath(nx, type, +K, +N) : buffer;
matmul(nx, { type, ne0: +K, ne1: +N, data: wq, name: "w" }, X, +M, ours, path);
const rms = Math.sqrt(ref.reduce((a, v) => a + v * v, 0) / ref.length);
let neq = 0, maxd = 0;
for (let i = 0; i < ours.length; i++) {
  if (ours[i] !== ref[i]) neq++;
  maxd = Math.max(maxd, Math.abs(ours[i] - ref[i]) / rms);
}
console.log(`${typeName} K${K} N${N} M${M} ${path} (${variant}, ${nx.name}): ${neq}/${ours.length} differ, max |diff|/rms ${maxd.toExponential(2)}`);
process.exitCode = neq === 0 ? 0 : 1;
