/**
 * `gguf-embed queue work`: a BullMQ worker that loads the model once and embeds chunks until
 * stopped (or, with --until-done, until every chunk is done or failed). Run it on any number of
 * machines. Per chunk: embed (chunk.ts), write the records to the result store, then drop the
 * chunk's input lines from its job and count it; BullMQ then marks it completed.
 *
 * Failures:
 * - killed mid-chunk (kill -9, a lost machine): the chunk's lock is no longer renewed, and after
 *   --lock-duration the stalled-job check of any live worker puts it back in the queue (up to
 *   --max-stalled times). Its result is written before it is marked done, so a redo rewrites the
 *   same bytes, or finds them there and only marks it done.
 * - a poisoned input: an error record (chunk.ts); the chunk succeeds.
 * - anything else (Redis or the results directory failing): the attempt fails and BullMQ retries
 *   the chunk with exponential backoff, up to the attempts given to `queue add`.
 * - a different model: refused before any chunk is taken (pin.ts).
 * SIGTERM/SIGINT finish the chunk in flight, then exit 0; a second signal exits at once (130).
 */
import { hostname } from "node:os";
import type { Job } from "bullmq";
import type { EmbeddingModel } from "../embed/embedder.js";
import type { CliIO } from "../cli/io.js";
import type { QueueDeps } from "./deps.js";
import type { Connection } from "./connect.js";
import { embedChunk } from "./chunk.js";
import { hashModel, pinModel } from "./pin.js";
import { openResults } from "./results.js";
import { BULL_PREFIX, jobKeys, parseSpec, toEmbedOptions, type JobSpec } from "./spec.js";
import type { ChunkData } from "./add.js";

export interface WorkArgs {
  name: string;
  modelPath: string;
  /** Load the model in the job's numerics profile (JobSpec opts.numerics). */
  load: (path: string, numerics?: string) => Promise<EmbeddingModel>;
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalled: number;
  /** The shared results directory's path on this machine, if not the one given to `queue add`. */
  results?: string;
  untilDone: boolean;
  verbose: boolean;
  quiet: boolean;
}

export interface ChunkReturn {
  chunk: number;
  model: string;
  worker: string;
  tokens: number;
  errors: number;
  /** The result was already stored (an earlier attempt wrote it): nothing recomputed. */
  reused: boolean;
}

/**
 * Count a chunk, atomically, in one round trip: inputs, tokens and error records once per distinct
 * chunk (the `done` set), work done and its times every time, the recent-completions list (status's
 * rate), the earliest chunk start and the latest end.
 * KEYS: done, stats, recent. ARGV: chunk, inputs, tokens, errors, computed (1/0), embedMs, writeMs,
 * gapMs ("" if none), start ms, end ms.
 */
const COUNT_CHUNK = `
local new = redis.call('SADD', KEYS[1], ARGV[1])
if new == 1 then
  redis.call('HINCRBY', KEYS[2], 'inputs', ARGV[2])
  if ARGV[5] == '1' then
    redis.call('HINCRBY', KEYS[2], 'tokens', ARGV[3])
    redis.call('HINCRBY', KEYS[2], 'errors', ARGV[4])
  end
end
if ARGV[5] == '1' then
  redis.call('HINCRBYFLOAT', KEYS[2], 'embedMs', ARGV[6])
  redis.call('HINCRBYFLOAT', KEYS[2], 'writeMs', ARGV[7])
  redis.call('HINCRBY', KEYS[2], 'computed', 1)
  redis.call('LPUSH', KEYS[3], ARGV[10] .. ' ' .. ARGV[3] .. ' ' .. ARGV[2])
  redis.call('LTRIM', KEYS[3], 0, 499)
end
if ARGV[8] ~= '' then
  redis.call('HINCRBYFLOAT', KEYS[2], 'gapMs', ARGV[8])
  redis.call('HINCRBY', KEYS[2], 'gaps', 1)
end
local first = redis.call('HGET', KEYS[2], 'firstStart')
if not first or tonumber(first) > tonumber(ARGV[9]) then redis.call('HSET', KEYS[2], 'firstStart', ARGV[9]) end
local last = redis.call('HGET', KEYS[2], 'lastDone')
if not last or tonumber(last) < tonumber(ARGV[10]) then redis.call('HSET', KEYS[2], 'lastDone', ARGV[10]) end
return new
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runWorker(deps: QueueDeps, conn: Connection, a: WorkArgs, io: CliIO): Promise<number> {
  const say = (m: string) => {
    if (!a.quiet) io.stderr.write(`gguf-embed queue work: ${m}\n`);
  };
  const workerName = `${hostname()}:${process.pid}`;
  let stopping: NodeJS.Signals | undefined;
  let wake = () => {};
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = sig;
    say(`${sig}: finishing the chunk in flight (again to quit at once)`);
    wake();
  };
  process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
  try {
    const keys = jobKeys(a.name);
    let spec: JobSpec | undefined;
    for (let waited = false; !stopping; waited = true) {
      const s = await conn.redis.hget(keys.info, "spec");
      if (s) {
        spec = parseSpec(s, a.name);
        break;
      }
      if (!waited) say(`no queue "${a.name}" yet: waiting for "gguf-embed queue add --name ${a.name}"`);
      await sleep(1000);
    }
    if (!spec) return 0;
    const mine = await hashModel(a.modelPath);
    const { pinnedNow } = await pinModel(conn.redis, a.name, mine);
    if (pinnedNow) say(`pinned queue "${a.name}" to ${mine.file} (sha256 ${mine.sha256})`);
    const store = await openResults(conn.redis, spec, a.results);
    const model = await a.load(a.modelPath, spec.opts.numerics);
    try {
      return await work(
        deps,
        conn,
        a,
        spec,
        model,
        mine.sha256,
        store,
        workerName,
        say,
        () => stopping,
        (f) => (wake = f),
      );
    } finally {
      await model.close();
    }
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
  }
}

async function work(
  deps: QueueDeps,
  conn: Connection,
  a: WorkArgs,
  spec: JobSpec,
  model: EmbeddingModel,
  sha256: string,
  store: Awaited<ReturnType<typeof openResults>>,
  workerName: string,
  say: (m: string) => void,
  stopping: () => NodeJS.Signals | undefined,
  onWake: (f: () => void) => void,
): Promise<number> {
  const keys = jobKeys(a.name);
  const warned = new Set<string>();
  const opts = toEmbedOptions(spec.opts, (m) => {
    if (!warned.has(m)) {
      warned.add(m);
      say(m);
    }
  });
  const redis = conn.redis;
  let lastEnd: number | undefined;

  const processor = async (job: Job<ChunkData>): Promise<ChunkReturn> => {
    const t0 = performance.now();
    const gapMs = lastEnd !== undefined && a.concurrency === 1 ? t0 - lastEnd : undefined;
    const d = job.data;
    if (a.verbose) say(`chunk ${d.chunk}: started (attempt ${job.attemptsStarted})`);
    const startedAt = Date.now();
    let r: Awaited<ReturnType<typeof embedChunk>> | undefined;
    const th = performance.now();
    const present = await store.has(d.chunk);
    let writeMs = performance.now() - th; // result store time: this check and the write
    if (!present) {
      if (!d.lines) {
        throw new deps.bullmq.UnrecoverableError(
          `chunk ${d.chunk}: its result is missing from ${store.where}, and its input was dropped when it was first written; ` +
            "add the input again under a new --name",
        );
      }
      r = await embedChunk(model, d.lines, d.first, spec.jsonl, opts);
      const tw = performance.now();
      await store.put(d.chunk, r.text);
      writeMs += performance.now() - tw;
    }
    const tb = performance.now();
    await redis.eval(
      COUNT_CHUNK,
      3,
      keys.done,
      keys.stats,
      keys.recent,
      d.chunk,
      d.n,
      r?.nTokens ?? 0,
      r?.nErrors ?? 0,
      r ? 1 : 0,
      r?.embedMs ?? 0,
      writeMs,
      gapMs ?? "",
      startedAt,
      Date.now(),
    );
    if (d.lines) await job.updateData({ chunk: d.chunk, first: d.first, n: d.n });
    const bookMs = performance.now() - tb;
    redis.hincrbyfloat(keys.stats, "bookMs", bookMs).catch(() => {}); // not waited for: off the chunk's path
    if (a.verbose) {
      say(
        r
          ? `chunk ${d.chunk}: done, ${d.n} inputs (${r.nErrors} failed), ${r.nTokens} tokens, embed ${r.embedMs.toFixed(1)} ms, ` +
              `write ${writeMs.toFixed(1)} ms, bookkeeping ${bookMs.toFixed(1)} ms` +
              (gapMs !== undefined ? `, queue gap ${gapMs.toFixed(1)} ms` : "")
          : `chunk ${d.chunk}: done (its result was already stored)`,
      );
    }
    lastEnd = performance.now();
    return { chunk: d.chunk, model: sha256, worker: workerName, tokens: r?.nTokens ?? 0, errors: r?.nErrors ?? 0, reused: !r };
  };

  const worker = new deps.bullmq.Worker<ChunkData, ChunkReturn>(a.name, processor, {
    connection: conn.bull,
    prefix: BULL_PREFIX,
    name: workerName,
    concurrency: a.concurrency,
    lockDuration: a.lockDurationMs,
    stalledInterval: a.stalledIntervalMs,
    maxStalledCount: a.maxStalled,
    autorun: false,
  });
  worker.on("failed", (job, err) => {
    if (job) say(`chunk ${job.data.chunk}: attempt ${job.attemptsMade} of ${spec.attempts} failed: ${err.message}`);
  });
  worker.on("error", (e) => say(`error: ${e.message}`));
  const counter = new deps.bullmq.Queue(a.name, { connection: conn.bull, prefix: BULL_PREFIX });
  say(
    `${workerName} working on queue "${a.name}" (${spec.nChunks} chunks) with ${model.info.backend}` +
      `${model.info.threads ? ` x${model.info.threads} threads` : ""}, concurrency ${a.concurrency}`,
  );
  const running = worker.run();
  try {
    while (!stopping()) {
      if (a.untilDone) {
        const c = await counter.getJobCounts("completed", "failed");
        if ((c.completed ?? 0) + (c.failed ?? 0) >= spec.nChunks) {
          say(`queue "${a.name}": all ${spec.nChunks} chunks are done${c.failed ? ` (${c.failed} failed)` : ""}`);
          break;
        }
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        onWake(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  } finally {
    await worker.close();
    await running.catch(() => {});
    await counter.close();
  }
  say("stopped");
  return 0;
}
