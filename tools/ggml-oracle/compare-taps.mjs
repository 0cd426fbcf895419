// Dev tool: run llama.cpp (tools/ggml-oracle/taps, one CPU variant) and our reference forward pass
// on the same token ids and report the first intermediate tensor that differs, layer by layer.
//   node tools/ggml-oracle/compare-taps.mjs <model.gguf> <nTokens> [variant] [backend js|wasm]
// Build the oracle first: tools/ggml-oracle/build.sh
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
const root = resolve(import.meta.dirname, "../..");
const { loadModel } = await import(join(root, "dist/src/node.js"));
const { bestVariant } = await import(join(root, "dist/src/kernels/numerics.js"));
const { readCpuFlags } = await import(join(root, "dist/src/node/cpu-flags.js"));
const [path, nTok = "10", variant = bestVariant(await readCpuFlags()), backend = "js"] = process.argv.slice(2);
const model = await loadModel(path, { backend, numerics: variant, threads: 2 });
// the parity tests' inputs (test/helpers/parity.ts)
const { inputsOfLengths } = await import(join(root, "dist/test/helpers/parity.js"));
const [ids] = inputsOfLengths(model, [+nTok]);
const dir = mkdtempSync(join(tmpdir(), "taps-"));
const bins = join(root, "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64");
execFileSync(join(root, ".cache/ggml-oracle/taps"), [path, dir, "2", ...ids.map(String)], { env: { ...process.env, GGML_ORACLE_BINS: bins, GGML_ORACLE_VARIANT: `libggml-cpu-${variant}.so` }, stdio: ["ignore", "ignore", "inherit"] });
const index = readFileSync(join(dir, "index.txt"), "utf8").trim().split("\n");
const files = new Map();
index.forEach((line, i) => { const name = line.split(" ").slice(0, -3).join(" "); files.set(name, join(dir, `${i}_${name.replaceAll(" ", "_")}.f32`)); });
const f32 = (p) => { const b = readFileSync(p); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)); };
let reported = 0;
model.model.forward({ tokens: Int32Array.from(ids), seqStart: [0], seqLen: [ids.length] }, (name, il, data) => {
  const key = il < 0 ? name : `${name}-${il}`;
  const p = files.get(key);
  if (!p || reported > 3 || name === "kqv" || name === "kqv_out") return; // kqv: ggml keeps it permuted
  const ref = f32(p);
  let neq = 0, first = -1;
  for (let i = 0; i < Math.min(ref.length, data.length); i++) if (!Object.is(ref[i], data[i])) { if (neq++ === 0) first = i; }
  console.log(`${key.padEnd(20)} ${ref.length === data.length ? "" : `(len ${ref.length} vs ${data.length}) `}${neq} differ${neq ? ` (first ${first}: ${ref[first]} vs ${data[first]})` : ""}`);
  if (neq) reported++;
});
const [ours] = await model.embed([ids], { normalize: "none" });
const ref = f32(join(dir, "final.f32"));
let neq = 0;
for (let i = 0; i < ref.length; i++) if (!Object.is(ref[i], ours[i])) neq++;
console.log(`final (pooled, unnormalized): ${neq} of ${ref.length} differ`);
rmSync(dir, { recursive: true, force: true });
await model.close();
