/**
 * `gguf-embed queue add`: split an input file into chunks and add one BullMQ job per chunk.
 *
 * The job id of chunk k is "chunk-k", and BullMQ ignores an add whose id exists (completed jobs are
 * kept), so adding the same input again adds nothing, and an add that was interrupted can be rerun
 * to add the rest. The first add records the job's spec (input sha256, chunking, options, result
 * store); a later add with another input or other options is refused (QUEUE_MISMATCH). The input is
 * read twice: once for its digest and line count, once to add the chunks; each job carries its
 * chunk's lines, so Redis is the only state workers share.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { resolve } from "node:path";
import { EmbedError } from "../errors.js";
import { linesWithBytes } from "../cli/bulk.js";
import type { QueueDeps } from "./deps.js";
import type { Connection } from "./connect.js";
import { hashModel, pinModel, type PinnedModel } from "./pin.js";
import { initResultsDir } from "./results.js";
import { BULL_PREFIX, chunkJobId, jobKeys, parseSpec, specIdentity, toEmbedOptions, type JobSpec, type StoredOptions } from "./spec.js";

export interface AddArgs {
  name: string;
  input: string;
  chunk: number;
  jsonl: boolean;
  opts: StoredOptions;
  /** Shared results directory; default: results in Redis. */
  results?: string;
  /** Model path to pin now (else the first worker pins its own). */
  modelPath?: string;
  attempts: number;
  backoffMs: number;
}

/** Chunk data as stored in a BullMQ job; `lines` is dropped once the chunk's result is written. */
export interface ChunkData {
  chunk: number;
  first: number;
  n: number;
  lines?: string[];
}

export interface AddResult {
  spec: JobSpec;
  added: number;
  existing: number;
  model?: PinnedModel;
}

/** sha256 and line count of the input, with the line semantics of `embed --input`. */
async function scanInput(path: string): Promise<{ sha256: string; nInputs: number }> {
  const h = createHash("sha256");
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const b of createReadStream(path, { highWaterMark: 1 << 16 })) {
      h.update(b as Buffer);
      yield b as Buffer;
    }
  }
  let nInputs = 0;
  for await (const _ of linesWithBytes(hashed())) nInputs++;
  return { sha256: h.digest("hex"), nInputs };
}

export async function addJob(deps: QueueDeps, conn: Connection, a: AddArgs, say: (m: string) => void): Promise<AddResult> {
  toEmbedOptions(a.opts); // validate before anything is written
  const scan = await scanInput(a.input).catch((e: NodeJS.ErrnoException) => {
    throw e.code === "ENOENT" ? new EmbedError("IO_ERROR", `--input ${a.input}: no such file`, { path: a.input }) : e;
  });
  if (scan.nInputs === 0) throw new EmbedError("BAD_INPUT", `--input ${a.input} is empty`, { path: a.input });
  const keys = jobKeys(a.name);
  const fresh: JobSpec = {
    version: 1,
    name: a.name,
    inputSha256: scan.sha256,
    nInputs: scan.nInputs,
    chunk: a.chunk,
    nChunks: Math.ceil(scan.nInputs / a.chunk),
    jsonl: a.jsonl,
    opts: a.opts,
    results: a.results === undefined ? "redis" : "dir",
    resultsDir: a.results === undefined ? undefined : resolve(a.results),
    resultsId: randomBytes(12).toString("hex"),
    attempts: a.attempts,
    backoffMs: a.backoffMs,
    createdAt: new Date().toISOString(),
  };
  let model: PinnedModel | undefined;
  if (a.modelPath !== undefined) model = await hashModel(a.modelPath);
  const created = (await conn.redis.hsetnx(keys.info, "spec", JSON.stringify(fresh))) === 1;
  const spec = created ? fresh : parseSpec(await conn.redis.hget(keys.info, "spec"), a.name);
  if (!created && specIdentity(spec) !== specIdentity(fresh)) {
    throw new EmbedError(
      "QUEUE_MISMATCH",
      `queue "${a.name}" already holds another job (${spec.nInputs} inputs, ` +
        `sha256 ${spec.inputSha256.slice(0, 16)}…, chunk ${spec.chunk}, ` +
        `options ${JSON.stringify(spec.opts)}, results in ${spec.results}); use another --name, or "queue drop" it first`,
      { name: a.name },
    );
  }
  if (model) model = (await pinModel(conn.redis, a.name, model)).model;
  if (spec.results === "dir") await initResultsDir(a.results ?? spec.resultsDir!, a.name, spec.resultsId);

  const queue = new deps.bullmq.Queue<ChunkData>(a.name, { connection: conn.bull, prefix: BULL_PREFIX });
  let added = 0,
    existing = 0;
  try {
    const opts = {
      attempts: spec.attempts,
      backoff: { type: "exponential", delay: spec.backoffMs },
      removeOnComplete: false,
      removeOnFail: false,
    };
    let batch: ChunkData[] = [],
      lines: string[] = [],
      index = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      // Count what is new (for the report); BullMQ itself skips ids that exist, racing adds included.
      const exists = await conn.redis.pipeline(batch.map((c) => ["exists", `${BULL_PREFIX}:${a.name}:${chunkJobId(c.chunk)}`])).exec();
      const isNew = batch.map((_, i) => exists?.[i]?.[1] === 0);
      const todo = batch.filter((_, i) => isNew[i]);
      existing += batch.length - todo.length;
      if (todo.length > 0)
        await queue.addBulk(todo.map((c) => ({ name: "embed", data: c, opts: { ...opts, jobId: chunkJobId(c.chunk) } })));
      added += todo.length;
      batch = [];
    };
    const stream = createReadStream(a.input, { highWaterMark: 1 << 16 });
    for await (const { text } of linesWithBytes(stream)) {
      lines.push(text);
      index++;
      if (lines.length === spec.chunk || index === spec.nInputs) {
        const k = Math.floor((index - 1) / spec.chunk);
        batch.push({ chunk: k, first: k * spec.chunk, n: lines.length, lines });
        lines = [];
        if (batch.length >= 64) await flush();
      }
      if (index === spec.nInputs) break;
    }
    await flush();
    if (index !== spec.nInputs)
      throw new EmbedError("BAD_INPUT", `--input ${a.input} changed while it was read (${index} lines, then ${spec.nInputs})`, {
        path: a.input,
      });
  } finally {
    await queue.close();
  }
  say(
    `queue "${a.name}": ${spec.nInputs} inputs in ${spec.nChunks} chunks of ${spec.chunk}: ` +
      `${added} chunk(s) added, ${existing} already queued`,
  );
  return { spec, added, existing, model };
}
