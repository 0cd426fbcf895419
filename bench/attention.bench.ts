/**
 * One attention call (one layer) on the wasm backend, 1 thread, ms per call, for the head shapes of
 * the supported families: EmbeddingGemma (3 query heads / 1 kv head of 256, window 256), nomic /
 * bge-base (12 × 64) and MiniLM (12 × 32, kq_scale 1/√32, a document and a short text), and
 * Qwen3-Embedding-0.6B's causal attention through the f16 KV cache (16 heads / 8 kv heads × 128).
 * Usage: node --experimental-wasm-relaxed-simd dist/bench/attention.bench.js [tree=.]
 * (tree: a checkout with `npx tsc -p tsconfig.json` run in it, e.g. a `git worktree` of an older
 * commit, to compare builds; NUMERICS=amx|avx512|… picks the profile, RELAXED=0 baseline SIMD.)
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Backend } from "../src/kernels/backend.js";

type Be = Pick<Backend, "attention" | "attentionKvF16" | "close">; // the given tree's backend, of this tree's Backend shape
const tree = resolve(process.argv[2] ?? ".");
const lib = (p: string) => import(pathToFileURL(resolve(tree, "dist/src/kernels", p)).href);
const { createWasmBackend } = (await lib("wasm.js")) as { createWasmBackend(o: object): Promise<Be> };
const { numericsByName } = (await lib("numerics.js")) as { numericsByName(n: string): unknown };
const be = await createWasmBackend({
  numerics: numericsByName(process.env.NUMERICS ?? "avx512"),
  threads: 1,
  relaxedSimd: process.env.RELAXED !== "0",
});

let seed = 1;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const invSqrt = (hd: number) => Math.fround(1 / Math.sqrt(hd));
const cases: Array<[string, number, number, number, number, number, number]> = [
  // name, T, nHead, nHeadKv, hd, window, kqScale
  ["EmbeddingGemma T 514, 3/1 x 256, window 256", 514, 3, 1, 256, 256, 1],
  ["nomic T 514, 12 x 64", 514, 12, 12, 64, Infinity, invSqrt(64)],
  ["MiniLM T 512, 12 x 32", 512, 12, 12, 32, Infinity, invSqrt(32)],
  ["MiniLM T 40, 12 x 32", 40, 12, 12, 32, Infinity, invSqrt(32)],
];
for (const [name, T, nHead, nHeadKv, hd, window, scale] of cases) {
  const q = new Float32Array(T * nHead * hd).map(() => rnd() * 0.4),
    k = new Float32Array(T * nHeadKv * hd).map(() => rnd() * 2),
    v = new Float32Array(T * nHeadKv * hd).map(rnd),
    o = new Float32Array(T * nHead * hd);
  for (let i = 0; i < 2; i++) be.attention(q, k, v, o, T, nHead, nHeadKv, hd, window, scale); // warm-up, tier-up
  const n = T < 100 ? 400 : 12;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) be.attention(q, k, v, o, T, nHead, nHeadKv, hd, window, scale);
  console.log(`${name.padEnd(46)} ${((performance.now() - t0) / n).toFixed(2)} ms`);
}
for (const T of [514, 40]) {
  const [nHead, nHeadKv, hd] = [16, 8, 128];
  const q = new Float32Array(T * nHead * hd).map(() => rnd() * 0.4),
    k = new Float32Array(T * nHeadKv * hd).map(() => rnd() * 2),
    v = new Float32Array(T * nHeadKv * hd).map(rnd),
    o = new Float32Array(T * nHead * hd);
  const call = () => be.attentionKvF16(q, k, v, o, T, nHead, nHeadKv, hd, invSqrt(hd));
  for (let i = 0; i < 2; i++) call();
  const n = T < 100 ? 400 : 12;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) call();
  console.log(`${`Qwen3 T ${T}, 16/8 x 128, causal, f16 KV`.padEnd(46)} ${((performance.now() - t0) / n).toFixed(2)} ms`);
}
await be.close();
