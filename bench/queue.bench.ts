/**
 * `node dist/bench/queue.bench.js [--layers 24] [--inputs 192] [--chunk 16] [--words 60] [--workers 1,2,3] [--threads T] [--small]`:
 * throughput of `gguf-embed queue work` with 1, 2 and 3 worker processes on this machine, against a
 * single-process `embed --input --output` run, on a private redis-server, and the per-chunk overhead
 * the workers measured (queue round trip between chunks, result write, counters) as a fraction of
 * embedding time. Model: the synthetic full-size EmbeddingGemma (--layers 24, generated on first
 * use) or a smaller one. Rates run from the first chunk's start to the last chunk's end (model
 * loading excluded); the single-process rate is the one `embed` reports (also without loading).
 * Results go to stdout as a Markdown table. Used for BENCHMARKS.md ("Scale-out").
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
const rows: string[] = [];
process.stderr.write(
  `model ${model}, ${N} inputs of ${WORDS} words, chunk ${CHUNK}, ${cores} cores, load average ${loadavg()[0].toFixed(2)}\n`,
);
try {
  const single = await run([
    "embed",
    "--model",
    model,
    "--input",
    input,
    "--output",
    join(tmp, "single.jsonl"),
    "--threads",
    String(cores),
  ]);
  if (single.code !== 0) throw new Error(single.stderr);
  const m = /done \(\d+ this run\) in \S+, ([\d.]+) tok\/s/.exec(single.stderr)!;
  rows.push(`| single process (\`embed --input\`, ${cores} threads) | ${Number(m[1]).toFixed(1)} | 1.00 | - |`);
  const base = Number(m[1]);
  for (const w of values.workers.split(",").map(Number)) {
    const name = `bench-${w}`;
    const add = await run(["queue", "add", "--redis", redis.url, "--name", name, "--input", input, "--chunk", String(CHUNK), "--quiet"]);
    if (add.code !== 0) throw new Error(add.stderr);
    const threads = values.threads ? Number(values.threads) : Math.max(1, Math.floor(cores / w));
    const workers = Array.from({ length: w }, () =>
      cli([
        "queue",
        "work",
        "--redis",
        redis.url,
        "--name",
        name,
        "--model",
        model,
        "--threads",
        String(threads),
        "--until-done",
        "--quiet",
      ]),
    );
    for (const p of workers) {
      const r = await p.done;
      if (r.code !== 0) throw new Error(r.stderr);
    }
    const st = await client.hgetall(`gguf-embed-job:${name}:stats`);
    const num = (k: string) => Number(st[k] ?? 0);
    const seconds = (num("lastDone") - num("firstStart")) / 1000;
    const tps = num("tokens") / seconds;
    const chunks = num("computed");
    const embed = num("embedMs") / chunks,
      write = num("writeMs") / chunks,
      book = num("bookMs") / chunks;
    const gap = num("gaps") > 0 ? num("gapMs") / num("gaps") : 0;
    const over = (write + book + gap) / embed;
    rows.push(
      `| ${w} worker process(es) x ${threads} thread(s) | ${tps.toFixed(1)} | ${(tps / base).toFixed(2)} | ` +
        `embed ${embed.toFixed(0)} ms; write ${write.toFixed(2)} + counters ${book.toFixed(2)} + round trip ${gap.toFixed(2)} ms ` +
        `= ${(over * 100).toFixed(3)}% |`,
    );
    process.stderr.write(rows[rows.length - 1] + "\n");
  }
} finally {
  client.disconnect();
  await redis.stop();
  await rm(tmp, { recursive: true, force: true });
}
process.stdout.write(
  `| run | tokens/s | vs single process | per chunk of ${CHUNK}: embedding; overhead (fraction of embedding) |\n` +
    `|---|---|---|---|\n${rows.join("\n")}\n`,
);
