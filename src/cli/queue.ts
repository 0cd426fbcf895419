/**
 * `gguf-embed queue add|work|status|collect|retry|drop`: bulk embedding spread over any number of
 * machines as BullMQ jobs on Redis (src/queue/, docs/scaling.md). BullMQ and ioredis are optional
 * peer dependencies, loaded only here; without them every queue command fails with
 * MISSING_DEPENDENCY and the install command.
 */
import { chooseNumerics, numericsByName } from "../kernels/numerics.js";
import { readCpuFlags } from "../node/cpu-flags.js";
import { parseArgs } from "node:util";
import { EmbedError } from "../errors.js";
import { loadModel } from "../node.js";
import { resolveModel } from "../node/resolve.js";
import { addJob } from "../queue/add.js";
import { collect } from "../queue/collect.js";
import { connect, DEFAULT_REDIS, type Connection } from "../queue/connect.js";
import { loadQueueDeps, type QueueDeps } from "../queue/deps.js";
import { dropJob, retryFailed } from "../queue/manage.js";
import { checkName } from "../queue/spec.js";
import { formatStatus, queueStatus } from "../queue/status.js";
import { runWorker } from "../queue/work.js";
import type { CliIO } from "./io.js";
import { cliResolveOptions } from "./pull.js";

export const QUEUE_USAGE = `usage: gguf-embed queue <add|work|status|collect|retry|drop> --redis URL --name JOB [options]
  (needs the optional packages: npm i bullmq ioredis; --redis defaults to $GGUF_EMBED_REDIS or ${DEFAULT_REDIS})

  add      --input FILE [--jsonl] [--chunk 256]    split FILE (one text per line, as "embed --input") into chunks,
           [--task T] [--title S] [--dim N]       one job per chunk; adding the same input again adds nothing.
           [--normalize M] [--pooling P] [--truncate]   embedding options, as for "embed", recorded for every worker
           [--numerics P]                         whose bits every worker computes (default: "auto" on this machine)
           [--results DIR]                        results in a shared directory (default: in Redis)
           [--model M]                            pin the model now (default: the first worker's model)
           [--attempts 5] [--backoff-ms 1000]     tries per chunk on transient errors, first retry delay (doubling)
  work     --model M [--concurrency 1]            embed chunks until stopped (SIGTERM finishes the chunk in flight)
           [--threads N] [--backend B]            as for "embed"
           [--until-done]                         exit once every chunk is done or failed
           [--results DIR]                        the shared results directory's path on this machine
           [--lock-duration 60000] [--stalled-interval 30000] [--max-stalled 3]
                                                  ms until a dead worker's chunk is taken over; times a chunk may be
           [--verbose] [--quiet]                  one line per chunk; nothing on stderr
  status   [--json]                               chunks waiting/active/done/failed, tokens/s over all workers, ETA
  collect  [--output FILE] [--overwrite]          all records in input order, as "embed --input --output" writes them
           [--results DIR]                        (a poisoned input's line is {"index":i,"error":{"code","message"}})
  retry                                           put failed chunks back in the queue
  drop     [--results DIR]                        delete the job, its chunks and its results
`;

const COMMON = {
  redis: { type: "string" },
  name: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
} as const;

function posInt(name: string, v: string | undefined, dflt: number, min = 1, max = 1e9): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < min || n > max) {
    throw new EmbedError("BAD_OPTION", `--${name} must be an integer from ${min} to ${max}, got "${v}"`, { option: name });
  }
  return n;
}

export async function runQueue(argv: string[], io: CliIO, depSpecifiers?: { bullmq?: string; ioredis?: string }): Promise<number> {
  const [sub, ...args] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    io.stdout.write(QUEUE_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (!["add", "work", "status", "collect", "retry", "drop"].includes(sub)) {
    io.stderr.write(`gguf-embed queue: unknown subcommand "${sub}"\n${QUEUE_USAGE}`);
    return 2;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        ...COMMON,
        input: { type: "string", short: "i" },
        jsonl: { type: "boolean" },
        chunk: { type: "string" },
        task: { type: "string" },
        title: { type: "string" },
        dim: { type: "string" },
        normalize: { type: "string" },
        pooling: { type: "string" },
        truncate: { type: "boolean" },
        results: { type: "string" },
        model: { type: "string", short: "m" },
        attempts: { type: "string" },
        "backoff-ms": { type: "string" },
        offline: { type: "boolean" },
        concurrency: { type: "string" },
        threads: { type: "string" },
        backend: { type: "string" },
        numerics: { type: "string" },
        "until-done": { type: "boolean" },
        "lock-duration": { type: "string" },
        "stalled-interval": { type: "string" },
        "max-stalled": { type: "string" },
        verbose: { type: "boolean", short: "v" },
        json: { type: "boolean" },
        output: { type: "string", short: "o" },
        overwrite: { type: "boolean" },
      },
    }));
  } catch (e) {
    io.stderr.write(`gguf-embed queue ${sub}: ${(e as Error).message}\n${QUEUE_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(QUEUE_USAGE);
    return 0;
  }
  const v = values as Record<string, string | undefined>;
  const flag = (k: string) => values[k] === true;
  const name = checkName(v.name);
  const say = (m: string) => {
    if (!flag("quiet")) io.stderr.write(`gguf-embed queue ${sub}: ${m}\n`);
  };
  if (sub === "add" && !v.input) throw new EmbedError("BAD_OPTION", "queue add needs --input FILE", { option: "input" });
  if (sub === "work" && !v.model)
    throw new EmbedError("BAD_OPTION", "queue work needs --model M (the same model file on every worker)", { option: "model" });
  if (v.backend !== undefined && !["auto", "wasm", "js"].includes(v.backend))
    throw new EmbedError("BAD_OPTION", `--backend must be auto, wasm or js, got "${v.backend}"`, { option: "backend" });

  const deps: QueueDeps = await loadQueueDeps(depSpecifiers);
  const conn: Connection = await connect(deps, v.redis ?? process.env.GGUF_EMBED_REDIS ?? DEFAULT_REDIS);
  const resolve = async (spec: string) => {
    const ro = cliResolveOptions(io, { quiet: flag("quiet"), offline: flag("offline") });
    return resolveModel(spec, ro).finally(() => ro.done());
  };
  try {
    switch (sub) {
      case "add": {
        await addJob(
          deps,
          conn,
          {
            name,
            input: v.input!,
            chunk: posInt("chunk", v.chunk, 256, 1, 100_000), // a chunk's lines travel in one Redis value
            jsonl: flag("jsonl"),
            opts: {
              task: v.task,
              title: v.title,
              dim: v.dim,
              normalize: v.normalize,
              pooling: v.pooling,
              truncate: flag("truncate") || undefined,
              // fixed now, so every worker computes the same bits whatever its CPU
              numerics: numericsByName(v.numerics ?? chooseNumerics(undefined, await readCpuFlags()).numerics.name).name,
            },
            results: v.results,
            modelPath: v.model === undefined ? undefined : await resolve(v.model),
            attempts: posInt("attempts", v.attempts, 5),
            backoffMs: posInt("backoff-ms", v["backoff-ms"], 1000, 0),
          },
          say,
        );
        return 0;
      }
      case "work": {
        const threads = v.threads === undefined ? undefined : posInt("threads", v.threads, 1);
        return await runWorker(
          deps,
          conn,
          {
            name,
            modelPath: await resolve(v.model!),
            load: (path, numerics) => loadModel(path, { backend: v.backend as "auto" | "wasm" | "js" | undefined, threads, numerics }),
            concurrency: posInt("concurrency", v.concurrency, 1),
            lockDurationMs: posInt("lock-duration", v["lock-duration"], 60_000, 100),
            stalledIntervalMs: posInt("stalled-interval", v["stalled-interval"], 30_000, 100),
            maxStalled: posInt("max-stalled", v["max-stalled"], 3, 0),
            results: v.results,
            untilDone: flag("until-done"),
            verbose: flag("verbose"),
            quiet: flag("quiet"),
          },
          io,
        );
      }
      case "status": {
        const s = await queueStatus(deps, conn, name);
        io.stdout.write(flag("json") ? JSON.stringify(s) + "\n" : formatStatus(s));
        return 0;
      }
      case "collect": {
        const r = await collect(deps, conn, { name, output: v.output, overwrite: flag("overwrite"), results: v.results }, io.stdout);
        say(
          `${r.records} records${v.output ? ` written to ${v.output}` : ""}` +
            (r.errors ? `; ${r.errors} input(s) failed: their lines are {"index":i,"error":{...}} records` : ""),
        );
        return 0;
      }
      case "retry": {
        const n = await retryFailed(deps, conn, name);
        say(n ? `${n} failed chunk(s) put back in the queue` : "no failed chunks");
        return 0;
      }
      default: {
        const r = await dropJob(deps, conn, name, v.results);
        say(`dropped queue "${name}"${r.results ? ` and its results in ${r.results}` : ""}`);
        return 0;
      }
    }
  } finally {
    await conn.close();
  }
}
