/**
 * `npm run bench:peers`: gguf-embed (wasm) against llama.cpp (node-llama-cpp, native) and
 * onnxruntime-web (wasm backend; int8 MatMulInteger and 4-bit MatMulNBits graphs) on the synthetic
 * full-size 24-layer EmbeddingGemma (the Q8_0 GGUF of `npm run bench`; the ONNX graphs are built
 * from its weights, scripts/onnx/embeddinggemma.ts). Same token ids, same threads, alternating
 * rounds, medians. Phases: a 10-token query (ms), a 514-token document (tokens/s), short texts
 * (--short N texts of 10-30 tokens, texts/s). Prints the MACs of each system, a cos check of every
 * peer's vectors against the first system of --peers (ours by default), and the table with ratios
 * against it (peer / first in speed, >1 = peer faster). onnxruntime-web's vectors depend slightly on
 * the other texts of its padded batch (DynamicQuantizeLinear takes one scale per batch tensor).
 * Options: --threads 2 --rounds 3 --peers ours,llama,ort-int8,ort-q4 --short 200 --batch 32
 *          --query-rounds 9 (the 10-token query's rounds: it is the shortest, noisiest phase)
 *          --no-kernel (skip bench/peers-kernel.bench.ts's single-matmul comparison, run as a child process)
 *          --numerics amx (ours in another numerics profile than this CPU's: what an AMX machine runs;
 *          llama.cpp then runs its own variant, so the cos check against it is not bit-exact).
 * Rounds rotate the systems' order and pause 200 ms before each timed call (see the loop).
 * Under Node 24: `npm run bench:peers:node24` (bench/peers-node24.ts).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readGGUF } from "../src/gguf/reader.js";
import { FileSource } from "../src/node/fs-source.js";
import { gemmaEmbedding } from "../src/models/gemma-embedding.js";
import { gemmaFixture } from "../test/helpers/fixtures.js";
import { attnMacs, type MacCount } from "../scripts/onnx/embeddinggemma.js";
import { llamaRunner, onnxModel, ortRunner, oursRunner, type Runner } from "./peers-runners.js";

const { values } = parseArgs({
  options: {
    threads: { type: "string", default: "2" },
    rounds: { type: "string", default: "3" },
    peers: { type: "string", default: "ours,llama,ort-int8,ort-q4" },
    short: { type: "string", default: "200" },
    batch: { type: "string", default: "32" },
    "query-rounds": { type: "string", default: "9" },
    "no-kernel": { type: "boolean" },
    numerics: { type: "string" },
  },
});
const threads = Number(values.threads),
  rounds = Number(values.rounds),
  nShort = Number(values.short),
  batch = Number(values.batch);
const peers = values.peers!.split(",");
const queryRounds = Number(values["query-rounds"]);
const SETTLE_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mf = (x: number) => `${(x / 1e6).toFixed(2)} M`;

const path = await gemmaFixture({ nLayer: 24, weightType: "Q8_0", dense: true });
const src = await FileSource.open(path);
const file = await readGGUF(src);
await src.close();
const hp = gemmaEmbedding.loadHParams(file.metadata);
// Our MACs, counted from the GGUF's matrices (token_embd is a row lookup; dense_2/3 run once per text).
const ours: MacCount = { linearPerToken: 0, densePerText: 0, attnPerPair: 2 * hp.nEmbdHead, nHead: hp.nHead };
for (const t of file.tensors) {
  if (t.nDims !== 2 || t.name === "token_embd.weight") continue;
  if (t.name.startsWith("dense_")) ours.densePerText += t.ne[0]! * t.ne[1]!;
  else ours.linearPerToken += t.ne[0]! * t.ne[1]!;
}

console.log(`node ${process.version}, ${threads} thread(s), ${rounds} rounds, model ${path}`);
const runners: Runner[] = [];
const macs: [string, MacCount, boolean][] = [];
for (const p of peers) {
  if (p === "ours") {
    const r = await oursRunner(path, threads, values.numerics);
    console.log(`ours: model.info.simd = ${r.simd}`);
    runners.push(r);
    macs.push([r.name, ours, true]);
  } else if (p === "llama") {
    runners.push(await llamaRunner(path, threads));
    macs.push([runners.at(-1)!.name, ours, false]); // FA off: KQ over the whole sequence, the window in the mask
  } else if (p === "ort-int8" || p === "ort-q4") {
    const quant = p === "ort-int8" ? "int8" : "q4";
    const m = await onnxModel(path, quant);
    runners.push(await ortRunner(m.file, quant, threads, hp.nSwa, batch));
    macs.push([runners.at(-1)!.name, m.macs, false]);
  } else throw new Error(`--peers: unknown "${p}" (ours, llama, ort-int8, ort-q4)`);
}
console.log(`peak RSS after loading all: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);

console.log("\nMACs (multiply-accumulates): matmuls per token | dense_2+3 per text | attention at T=514 per text");
for (const [name, m, windowed] of macs) {
  const attn = `${mf(attnMacs(m, hp, 514, windowed))}${windowed ? " (windowed)" : " (full T×T, masked)"}`;
  console.log(`  ${name.padEnd(44)} ${mf(m.linearPerToken)} | ${mf(m.densePerText)} | ${attn}`);
}

/** Token lists of exact lengths: BOS, a repeating body, EOS (ids from the Gemma 3 vocabulary). */
let seed = 7;
const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const list = (n: number) => [2, ...Array.from({ length: n - 2 }, () => 1000 + Math.floor(rnd() * 200000)), 1];
const phases = [
  { name: "10-token query", unit: "ms", lists: [list(10)], score: (ms: number) => ms, lowerBetter: true },
  { name: "514-token document", unit: "tok/s", lists: [list(514)], score: (ms: number) => 514 / (ms / 1000), lowerBetter: false },
  {
    name: `${nShort} short texts (10-30 tok)`,
    unit: "texts/s",
    lists: Array.from({ length: nShort }, () => list(10 + Math.floor(rnd() * 21))),
    score: (ms: number) => nShort / (ms / 1000),
    lowerBetter: false,
  },
];

// Same graph? cos of each peer's vector against ours (ours is L2-normalized, the ONNX output is not).
const cos = (a: Float32Array, b: Float32Array) => {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! ** 2;
    bb += b[i]! ** 2;
  }
  return ab / Math.sqrt(aa * bb);
};
const probe = [phases[0]!.lists[0]!, list(100), phases[2]!.lists[0]!];
const ref = await runners[0]!.embed(probe);
for (const r of runners.slice(1)) {
  const v = await r.embed(probe);
  const c = v.map((x, i) => cos(x, ref[i]!).toFixed(5)).join(" / ");
  console.log(`cos(${r.name}, ${runners[0]!.name}) on 10/100/${probe[2]!.length} tokens: ${c}`);
}

const results: number[][] = phases.map(() => []);
for (const [pi, ph] of phases.entries()) {
  const times = runners.map(() => [] as number[]);
  for (const r of runners) await r.embed(ph.lists.slice(0, 2)); // warm-up
  // Rounds rotate the order (round k starts with system k mod n), so no system always follows the
  // same one; before each timed call the machine settles for SETTLE_MS: the engines' thread pools spin
  // for a while after a call (onnxruntime's and llama.cpp's by design), which would otherwise land
  // on the next system's call. The query, the shortest phase, gets queryRounds rounds.
  const n = pi === 0 ? Math.max(rounds, queryRounds) : rounds;
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < runners.length; j++) {
      const i = (k + j) % runners.length,
        r = runners[i]!;
      await sleep(SETTLE_MS);
      const t0 = performance.now();
      await r.embed(ph.lists);
      times[i]!.push(performance.now() - t0);
    }
  }
  results[pi] = times.map((t) => ph.score(median(t)));
  console.error(`${ph.name}: ${times.map((t) => t.map((x) => x.toFixed(0)).join(",")).join(" | ")} ms`);
}

console.log(
  `\nmedians of ${rounds} rotating rounds (query: ${Math.max(rounds, queryRounds)}), ${SETTLE_MS} ms pause before each call, ${threads} thread(s), node ${process.version}`,
);
console.log("(x) = peer speed / ours (>1: peer faster)");
console.log(`| system | ${phases.map((p) => `${p.name} (${p.unit})`).join(" | ")} |`);
console.log(`|---|${phases.map(() => "---").join("|")}|`);
for (const [i, r] of runners.entries()) {
  const cells = phases.map((ph, pi) => {
    const s = results[pi]![i]!,
      o = results[pi]![0]!;
    const ratio = i === 0 ? "" : ` (${(ph.lowerBetter ? o / s : s / o).toFixed(2)}x)`;
    return `${s >= 100 ? s.toFixed(0) : s.toPrecision(3)}${ratio}`;
  });
  console.log(`| ${r.name} | ${cells.join(" | ")} |`);
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (all systems in one process)`);
for (const r of runners) await r.close();

// The single-matmul comparison runs in a child process: onnxruntime-web's thread count is fixed once
// its wasm runtime starts, so in this process its "1 thread" kernel would run on --threads threads.
if (!values["no-kernel"]) {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(new URL("./peers-kernel.bench.js", import.meta.url))], {
    stdio: "inherit",
  });
  if (r.status !== 0) process.exitCode = r.status ?? 1;
}
