/**
 * Longer or larger load runs than test/server/load.test.ts, same harness (scripts/load/):
 *   node dist/scripts/load-test.js [--seconds 300] [--clients 32] [--max-tokens 2000]
 *     [--max-queue 24] [--max-batch-tokens N] [--threads 2] [--warmup 15] [--model test:fixture]
 *     [--server-log FILE]
 * Starts `gguf-embed serve --backend wasm` in a child process on 127.0.0.1, precomputes the pool's
 * vectors here, runs the clients, prints the figures (for RELIABILITY.md) and exits 1 on any error,
 * a /health failure or RSS growth over 10% after the warm-up. Every loop is bounded by --seconds.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadModel } from "../src/node.js";
import { gemmaFixture } from "../test/helpers/fixtures.js";
import { FIXTURE, metric } from "../test/helpers/server.js";
import { startChildServer } from "./load/child.js";
import { buildPool, checkDerivation } from "./load/pool.js";
import { rssFlat, runLoad } from "./load/run.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "300" },
    clients: { type: "string", default: "32" },
    "max-tokens": { type: "string", default: "2000" },
    "max-queue": { type: "string", default: "24" },
    "max-batch-tokens": { type: "string" },
    threads: { type: "string", default: "2" },
    warmup: { type: "string", default: "15" },
    model: { type: "string", default: "test:fixture" },
    "server-log": { type: "string" },
  },
});
const n = (k: keyof typeof values) => Number(values[k]);
const say = (line: string) => process.stdout.write(`${line}\n`);

const path = values.model === "test:fixture" ? await gemmaFixture(FIXTURE) : values.model!;
const args = ["--backend", "wasm", "--threads", String(n("threads")), "--max-queue", String(n("max-queue"))];
if (values["max-batch-tokens"]) args.push("--max-batch-tokens", values["max-batch-tokens"]);
say(`server: gguf-embed serve --model ${path} ${args.join(" ")}`);
const srv = await startChildServer(path, args);
let failed = false;
try {
  const t0 = performance.now();
  const model = await loadModel(path, { backend: "wasm", threads: n("threads") });
  let pool, bad;
  try {
    pool = await buildPool(model, { maxTokens: n("max-tokens") });
    bad = await checkDerivation(model, pool[0]);
  } finally {
    await model.close();
  }
  if (bad.length) throw new Error(`expected-vector derivation differs from the library for: ${bad.join(", ")}`);
  const lens = pool.map((e) => e.tokens.length);
  say(
    `pool: ${pool.length} inputs, ${Math.min(...lens)}..${Math.max(...lens)} tokens; expected vectors in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const rep = await runLoad({
    url: srv.url,
    pool,
    clients: n("clients"),
    seconds: n("seconds"),
    rss: srv.rssKiB,
    log: say,
    primeTokens: Number(values["max-batch-tokens"] ?? 4096),
  });
  const mib = (k: number) => (k / 1024).toFixed(0);
  const rss = rssFlat(rep.rss, n("warmup"));
  const m = await (await fetch(`${srv.url}/metrics`)).text();
  say(`requests: ${rep.ok} ok, ${rep.rejected503} x 503 (deliberate, queue ${n("max-queue")}), ${rep.errors.length} errors`);
  say(
    `inputs ${rep.inputs}, tokens ${rep.tokens} (${(rep.tokens / (rep.seconds + rep.drainSeconds)).toFixed(0)} tokens/s), forward calls ${metric(m, "gguf_embed_batches_total")}, drain ${rep.drainSeconds.toFixed(1)} s`,
  );
  say(
    `latency ms: p50 ${rep.latencyMs.p50.toFixed(0)}, p90 ${rep.latencyMs.p90.toFixed(0)}, p99 ${rep.latencyMs.p99.toFixed(0)}, max ${rep.latencyMs.max.toFixed(0)}`,
  );
  say(
    `/health ms: ${rep.healthMs.n} probes, p50 ${rep.healthMs.p50.toFixed(0)}, max ${rep.healthMs.max.toFixed(0)}, ${rep.healthMs.failures} failed`,
  );
  say(
    `RSS MiB: ${rep.rss
      .filter((_, i) => i % 10 === 0 || i === rep.rss.length - 1)
      .map(([s, k]) => `${s}s:${mib(k)}`)
      .join(" ")}`,
  );
  say(
    `RSS after ${n("warmup")} s: ${mib(rss.lo)}..${mib(rss.hi)} MiB, median ${mib(rss.median)}, max +${((rss.hi / rss.median - 1) * 100).toFixed(1)}%, trend ${(rss.trend * 100).toFixed(1)}% (flat: ${rss.flat})`,
  );
  for (const e of rep.errors.slice(0, 20)) say(`error: ${e}`);
  failed = rep.errors.length > 0 || rep.healthMs.failures > 0 || !rss.flat;
} finally {
  const exit = await srv.stop();
  say(`server exit: ${exit.join("/")}`);
  if (values["server-log"]) writeFileSync(values["server-log"], srv.stderr());
  failed ||= exit[0] !== 0;
}
process.exitCode = failed ? 1 : 0;
