/**
 * Two builds of gguf-embed on one model, in one process, called alternately: the regression check
 * behind BENCHMARKS.md's "Second look". Each tree (a checkout with `npx tsc -p tsconfig.json` run in
 * it, e.g. a `git worktree add` of an older commit) is imported from its own dist/src/node.js and
 * loads the model with its own worker pool; every round runs each tree once on the same token ids,
 * the order rotating, so drift of a shared machine hits both alike. Phases as `gguf-embed bench`:
 * a 10-token query, a 514-token document, 40 texts of 10-100 tokens (random ids, fixed seed).
 * Usage: node dist/bench/ab.bench.js <model.gguf> <treeA> <treeB> [rounds=7] [threads=2]
 * (NUMERICS=amx|avx512|… picks a numerics profile other than this CPU's default in both trees;
 * PHASE=query|document|texts runs only that phase; every call follows a 20 ms pause, so that one
 * tree's idle worker threads do not spin into the other's call.)
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

interface Model {
  info: { nVocab: number; contextLength: number };
  embed(inputs: number[][]): Promise<unknown>;
  close(): Promise<void>;
}

const [path, treeA, treeB, roundsArg, threadsArg] = process.argv.slice(2);
if (!path || !treeA || !treeB) throw new Error("usage: ab.bench.js <model.gguf> <treeA> <treeB> [rounds] [threads]");
const rounds = Number(roundsArg ?? 7),
  threads = Number(threadsArg ?? 2);

async function load(tree: string): Promise<Model> {
  const lib = (await import(pathToFileURL(resolve(tree, "dist/src/node.js")).href)) as {
    loadModel(p: string, o: { threads: number; numerics?: string }): Promise<Model>;
  };
  return lib.loadModel(path!, { threads, ...(process.env.NUMERICS ? { numerics: process.env.NUMERICS } : {}) });
}
const models = [await load(treeA), await load(treeB)];

let seed = 7;
const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
// BOS 2 ... EOS 1 (Gemma's ids; for other vocabularies they are ordinary tokens), the rest random below the vocabulary's size
const top = Math.min(...models.map((m) => m.info.nVocab)) - 100;
const docLen = Math.min(514, ...models.map((m) => m.info.contextLength));
const ids = (n: number) => [2, ...Array.from({ length: n - 2 }, () => 100 + Math.floor(rnd() * top)), 1];
const phases: [string, number[][]][] = [
  ["10-token query", [ids(10)]],
  [`${docLen}-token document`, [ids(docLen)]], // as `gguf-embed bench`: a BERT context of 512 takes 512
  ["40 texts of 10-100 tokens", Array.from({ length: 40 }, () => ids(10 + Math.floor(rnd() * 91)))],
];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log(`${path}, ${threads} thread(s), ${rounds} rounds; A = ${treeA}, B = ${treeB}; median ms (min)`);
const only = process.env.PHASE;
for (const [name, lists] of phases) {
  if (only && !name.includes(only)) continue;
  const ms: number[][] = [[], []];
  for (const m of models) await m.embed(lists); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const i of r % 2 ? [1, 0] : [0, 1]) {
      await new Promise((done) => setTimeout(done, 20));
      const t0 = performance.now();
      await models[i]!.embed(lists);
      ms[i]!.push(performance.now() - t0);
    }
  }
  const [a, b] = ms.map(median) as [number, number];
  const cell = (i: number) => `${median(ms[i]!).toFixed(1)} (${Math.min(...ms[i]!).toFixed(1)})`;
  console.log(`${name.padEnd(28)} A ${cell(0)}  B ${cell(1)}  B/A ${(b / a).toFixed(3)}`);
}
for (const m of models) await m.close();
