/**
 * `node dist/bench/queue.bench.js [--layers 24] [--inputs 192] [--chunk 16] [--words 60] [--workers 1,2,3] [--threads T] [--rounds 2]
 *   [--small]`:
 * throughput of `gguf-embed queue work` with 1, 2 and 3 worker processes on this machine, against a
 * single-process `embed --input --output` run, on a private redis-server, and the per-chunk overhead
 * the workers measured (queue round trip between chunks, result write, counters) as a fraction of
 * embedding time. Model: the synthetic full-size EmbeddingGemma (--layers 24, generated on first
 * use) or a smaller one. Rates run from the first chunk's start to the last chunk's end (model
 * loading excluded); the single-process rate is the one `embed` reports (also without loading).
 * The machine may be shared: every configuration runs --rounds times, interleaved, and the table
 * gives each one's best run (and all of them). Results go to stdout as a Markdown table. Used for
 * BENCHMARKS.md ("Scale-out").
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { gemmaFixture } from "../test/helpers/fixtures.js";
import { cli, run } from "../test/queue/cli-child.js";
import { startRedis } from "../test/queue/redis-server.js";

const { values } = parseArgs({
  options: {
    layers: { type: "string", default: "24" },
    inputs: { type: "string", default: "192" },
    chunk: { type: "string", default: "16" },
    words: { type: "string", default: "60" },
    workers: { type: "string", default: "1,2,3" },
    small: { type: "boolean", default: false },
    /** Threads per worker (default: the cores shared out, at least 1). */
    threads: { type: "string" },
    rounds: { type: "string", default: "2" },
  },
});
const nLayer = Number(values.layers),
  N = Number(values.inputs),
  CHUNK = Number(values.chunk),
  WORDS = Number(values.words);
const cores = availableParallelism();
const model = await gemmaFixture(
  values.small
    ? { nLayer, nEmbd: 256, nHead: 1, nHeadKv: 1, headDim: 256, nFf: 512, weightType: "Q8_0", embdType: "Q8_0", seed: 7, dense: true }
    : { nLayer, weightType: "Q8_0", dense: true },
);
const VOCAB =
  "the of a planet red ocean history printing press music bread rain road quiet ice tea cats dogs science river mountain city".split(" ");
const text = (i: number) =>
  Array.from({ length: WORDS }, (_, j) => VOCAB[(i * 31 + j * 7 + ((i * j) % 5)) % VOCAB.length]).join(" ") + ` ${i}`;

const tmp = await mkdtemp(join(tmpdir(), "gguf-embed-qbench-"));
const input = join(tmp, "input.txt");
await writeFile(input, Array.from({ length: N }, (_, i) => text(i)).join("\n") + "\n");
const redis = await startRedis();
const client = new Redis(redis.url);
const runs = new Map<string, { tps: number; detail: string }[]>();
const record = (label: string, tps: number, detail = "-") => {
  if (!runs.has(label)) runs.set(label, []);
  runs.get(label)!.push({ tps, detail });
  process.stderr.write(`${label}: ${tps.toFixed(1)} tokens/s, ${detail} (load average ${loadavg()[0].toFixed(2)})\n`);
};
process.stderr.write(`model ${model}, ${N} inputs of ${WORDS} words, chunk ${CHUNK}, ${cores} cores\n`);
const SINGLE = `single process (\`embed --input\`, ${cores} threads)`;
try {
  for (let round = 1; round <= Number(values.rounds); round++) {
    const out = join(tmp, `single-${round}.jsonl`);
    const single = await run(["embed", "--model", model, "--input", input, "--output", out, "--threads", String(cores)]);
    if (single.code !== 0) throw new Error(single.stderr);
    record(SINGLE, Number(/done \(\d+ this run\) in \S+, ([\d.]+) tok\/s/.exec(single.stderr)![1]));
    for (const w of values.workers.split(",").map(Number)) {
      const name = `bench-${w}-${round}`;
      const add = await run(["queue", "add", "--redis", redis.url, "--name", name, "--input", input, "--chunk", String(CHUNK), "--quiet"]);
      if (add.code !== 0) throw new Error(add.stderr);
      const threads = values.threads ? Number(values.threads) : Math.max(1, Math.floor(cores / w));
      const args = ["--name", name, "--model", model, "--threads", String(threads), "--until-done", "--quiet"];
      const workers = Array.from({ length: w }, () => cli(["queue", "work", "--redis", redis.url, ...args]));
      for (const p of workers) {
        const r = await p.done;
        if (r.code !== 0) throw new Error(r.stderr);
      }
      const st = await client.hgetall(`gguf-embed-job:${name}:stats`);
      const num = (k: string) => Number(st[k] ?? 0);
      const tps = num("tokens") / ((num("lastDone") - num("firstStart")) / 1000);
      const chunks = num("computed");
      const embed = num("embedMs") / chunks;
      const write = num("writeMs") / chunks;
      const book = num("bookMs") / chunks;
      const gap = num("gaps") > 0 ? num("gapMs") / num("gaps") : 0;
      const detail =
        `embed ${embed.toFixed(0)} ms; write ${write.toFixed(2)} + counters ${book.toFixed(2)} + round trip ${gap.toFixed(2)} ms ` +
        `= ${(((write + book + gap) / embed) * 100).toFixed(3)}%`;
      record(`${w} worker process(es) x ${threads} thread(s)`, tps, detail);
    }
  }
} finally {
  client.disconnect();
  await redis.stop();
  await rm(tmp, { recursive: true, force: true });
}
const best = (label: string) => runs.get(label)!.reduce((a, b) => (b.tps > a.tps ? b : a));
const base = best(SINGLE).tps;
const rows = [...runs.keys()].map((label) => {
  const b = best(label);
  const all = runs
    .get(label)!
    .map((r) => r.tps.toFixed(1))
    .join(", ");
  return `| ${label} | ${b.tps.toFixed(1)} | ${all} | ${(b.tps / base).toFixed(2)} | ${b.detail} |`;
});
process.stdout.write(
  "| run | tokens/s (best) | all runs | best vs single process | " +
    `per chunk of ${CHUNK} (best run): embedding; overhead, as a fraction of it |\n` +
    `|---|---|---|---|---|\n${rows.join("\n")}\n`,
);
