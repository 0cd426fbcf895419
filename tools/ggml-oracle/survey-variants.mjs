// Dev tool: which of llama.cpp's x86-64 CPU variants compute the same bits? For every variant
// library this CPU can run, every weight type, a few shapes and token counts, run one mul_mat
// with the weight in the buffer llama.cpp would pick (mm mode 3) and group the variants by the
// hash of their outputs. Also llama.cpp's no-FA attention subgraph (attn).
//   node tools/ggml-oracle/survey-variants.mjs [types=all] [variants=all]
// Build the oracle first: tools/ggml-oracle/build.sh
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
const root = resolve(import.meta.dirname, "../..");
const { quantizeRows } = await import(join(root, "dist/src/quant/index.js"));
const { ggmlTypeByName } = await import(join(root, "dist/src/tensor/ggml-type.js"));
const bins = join(root, "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64");
const all = readdirSync(bins).filter((f) => /^libggml-cpu-.*\.so$/.test(f)).map((f) => f.slice(12, -3));
const [typesArg = "F32,F16,BF16,Q8_0,Q4_0,Q4_1,Q5_0,Q5_1,Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,IQ4_NL,IQ4_XS", variantsArg] = process.argv.slice(2);
const variants = variantsArg ? variantsArg.split(",") : all;
const dir = mkdtempSync(join(tmpdir(), "survey-"));
let seed = 7;
const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296);
// ggml_backend_score > 0: the variant's required features are all on this CPU
const scores = execFileSync(join(root, ".cache/ggml-oracle/score"), [bins, ...variants.map((v) => `libggml-cpu-${v}.so`)]).toString();
const runnable = scores.trim().split("\n").map((l) => l.split(" ")).filter(([, s]) => Number(s) > 0).map(([f]) => f.slice(12, -3));
console.log(`runnable here: ${runnable.join(" ")}`);
const hash = (p) => createHash("sha256").update(readFileSync(p)).digest("hex").slice(0, 10);
function group(results) {
  const g = new Map();
  for (const [v, h] of results) g.set(h, [...(g.get(h) ?? []), v]);
  return [...g.values()].map((vs) => vs.join(",")).join(" | ");
}
for (const typeName of typesArg.split(",")) {
  const type = ggmlTypeByName(typeName).id;
  for (const [K, N] of [[768, 768], [768, 1152], [1152, 768], [256, 264], [768, 40]]) {
    const bs = typeName.endsWith("_K") || typeName === "IQ4_XS" ? 256 : 32;
    if (K % bs) continue;
    const W = Float32Array.from({ length: K * N }, () => (rnd() * 2 - 1) / Math.sqrt(K));
    writeFileSync(join(dir, "w.bin"), type === 0 ? new Uint8Array(W.buffer) : quantizeRows(type, W, K));
    for (const M of [1, 2, 5, 8, 64]) {
      const X = Float32Array.from({ length: K * M }, () => (rnd() * 2 - 1) * 3);
      writeFileSync(join(dir, "x.bin"), new Uint8Array(X.buffer));
      const res = [];
      for (const v of runnable) {
        const buf = execFileSync(join(root, ".cache/ggml-oracle/mm"), [bins, `libggml-cpu-${v}.so`, String(type), String(K), String(N), String(M), join(dir, "w.bin"), join(dir, "x.bin"), join(dir, "y.bin"), "3", "2"], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
        res.push([`${v}(${buf === "CPU" ? "cpu" : buf === "CPU_REPACK" ? "rp" : buf})`, hash(join(dir, "y.bin"))]);
      }
      console.log(`${typeName} K${K} N${N} M${M}: ${group(res)}`);
    }
  }
}
for (const [T, nH, nKV, hd, win] of [[7, 3, 1, 256, -1], [37, 3, 1, 256, 5], [64, 4, 2, 64, -1], [100, 12, 12, 64, -1]]) {
  const mk = (n) => Float32Array.from({ length: n }, () => rnd() * 2 - 1);
  writeFileSync(join(dir, "q.bin"), new Uint8Array(mk(T * nH * hd).buffer));
  writeFileSync(join(dir, "k.bin"), new Uint8Array(mk(T * nKV * hd).buffer));
  writeFileSync(join(dir, "v.bin"), new Uint8Array(mk(T * nKV * hd).buffer));
  const res = [];
  for (const v of runnable) {
    execFileSync(join(root, ".cache/ggml-oracle/attn"), [bins, `libggml-cpu-${v}.so`, String(T), String(nH), String(nKV), String(hd), String(win), join(dir, "q.bin"), join(dir, "k.bin"), join(dir, "v.bin"), join(dir, "o.bin"), "2"], { stdio: "ignore" });
    res.push([v, hash(join(dir, "o.bin"))]);
  }
  console.log(`attn T${T} h${nH}/${nKV} hd${hd} win${win}: ${group(res)}`);
}
rmSync(dir, { recursive: true, force: true });
