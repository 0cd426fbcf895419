/**
 * One attention call (one layer) on the wasm backend, 1 thread, for the head shapes of the
 * supported families: EmbeddingGemma (3 query heads / 1 kv head of 256, window 256), nomic /
 * bge-base (12 × 64) and MiniLM (12 × 32, kq_scale 1/√32, a document and a short text), and
 * Qwen3-Embedding-0.6B's causal attention through the f16 KV cache (16 heads / 8 kv heads × 128).
 * Usage: node --experimental-wasm-relaxed-simd dist/bench/attention.bench.js [tree=.] [treeB]
 * (tree: a checkout with `npx tsc -p tsconfig.json` run in it, e.g. a `git worktree` of an older
 * commit. With two trees both backends live in this process and are called alternately, the order
 * rotating, so the drift of a shared machine hits both alike: medians of the process CPU time per
 * call, their ratio, and whether the two outputs have the same bits. NUMERICS=amx|avx512|… picks
 * the profile, RELAXED=0 baseline SIMD, ROUNDS=n the calls per tree (default 12, 400 for T < 100).)
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Backend } from "../src/kernels/backend.js";

type Be = Pick<Backend, "attention" | "attentionKvF16" | "close">; // the given tree's backend, of this tree's Backend shape
const trees = process.argv.slice(2).map((t) => resolve(t));
if (trees.length === 0) trees.push(resolve("."));
const backends: Be[] = [];
for (const tree of trees) {
  const lib = (p: string) => import(pathToFileURL(resolve(tree, "dist/src/kernels", p)).href);
  const { createWasmBackend } = (await lib("wasm.js")) as { createWasmBackend(o: object): Promise<Be> };
  const { numericsByName } = (await lib("numerics.js")) as { numericsByName(n: string): unknown };
  backends.push(
    await createWasmBackend({
      numerics: numericsByName(process.env.NUMERICS ?? "avx512"),
      threads: 1,
      relaxedSimd: process.env.RELAXED !== "0",
    }),
  );
}

let seed = 1;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const invSqrt = (hd: number) => Math.fround(1 / Math.sqrt(hd));
// name, T, nHead, nHeadKv, hd, window (-1: causal through the f16 KV cache), kqScale
const cases: Array<[string, number, number, number, number, number, number]> = [
  ["EmbeddingGemma T 514, 3/1 x 256, window 256", 514, 3, 1, 256, 256, 1],
  ["nomic T 514, 12 x 64", 514, 12, 12, 64, Infinity, invSqrt(64)],
  ["MiniLM T 512, 12 x 32", 512, 12, 12, 32, Infinity, invSqrt(32)],
  ["MiniLM T 40, 12 x 32", 40, 12, 12, 32, Infinity, invSqrt(32)],
  ["Qwen3 T 514, 16/8 x 128, causal, f16 KV", 514, 16, 8, 128, -1, invSqrt(128)],
  ["Qwen3 T 40, 16/8 x 128, causal, f16 KV", 40, 16, 8, 128, -1, invSqrt(128)],
];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const [name, T, nHead, nHeadKv, hd, window, scale] of cases) {
  const q = new Float32Array(T * nHead * hd).map(() => rnd() * 0.4),
    k = new Float32Array(T * nHeadKv * hd).map(() => rnd() * 2),
    v = new Float32Array(T * nHeadKv * hd).map(rnd);
  const outs = backends.map(() => new Float32Array(T * nHead * hd));
  const call = (i: number) =>
    window < 0
      ? backends[i]!.attentionKvF16(q, k, v, outs[i]!, T, nHead, nHeadKv, hd, scale)
      : backends[i]!.attention(q, k, v, outs[i]!, T, nHead, nHeadKv, hd, window, scale);
  for (let i = 0; i < backends.length; i++) for (let w = 0; w < 2; w++) call(i); // warm-up, tier-up
  const n = Number(process.env.ROUNDS ?? (T < 100 ? 400 : 12));
  if (backends.length === 1) {
    const t0 = performance.now();
    for (let r = 0; r < n; r++) call(0);
    console.log(`${name.padEnd(46)} ${((performance.now() - t0) / n).toFixed(2)} ms`);
    continue;
  }
  const ms: number[][] = backends.map(() => []);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < backends.length; j++) {
      const i = (j + r) % backends.length;
      const c0 = process.cpuUsage();
      call(i);
      const c = process.cpuUsage(c0);
      ms[i]!.push((c.user + c.system) / 1000);
    }
  }
  const same = outs.every((o) => o.every((x, j) => Object.is(x, outs[0]![j])));
  const cells = ms.map((m) => `${median(m).toFixed(2)} (min ${Math.min(...m).toFixed(2)})`).join("  ");
  console.log(
    `${name.padEnd(46)} ${cells}  last/first ${(median(ms.at(-1)!) / median(ms[0]!)).toFixed(3)}  ${same ? "same bits" : "BITS DIFFER"}`,
  );
}
for (const be of backends) await be.close();
