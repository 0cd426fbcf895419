/**
 * What a queued embedding job is: the record `gguf-embed queue add` writes to Redis once (input
 * digest and size, chunking, embedding options, where results go), the Redis key names, and the
 * embedding options every worker derives from that record, so that all workers compute the same
 * thing. The model is pinned separately (see pin.ts). See docs/scaling.md.
 */
import { EmbedError } from "../errors.js";
import type { EmbedOptions } from "../embed/embedder.js";
import { checkNormalize } from "../embed/options.js";
import type { Pooling } from "../embed/pooling.js";
import { isTask, type Task } from "../embed/prompts.js";

/** BullMQ's key prefix: the queue's own keys are `gguf-embed:<name>:*`. */
export const BULL_PREFIX = "gguf-embed";

/** Embedding options as given on `queue add` (command-line strings), recorded in the spec. */
export interface StoredOptions {
  task?: string;
  title?: string;
  dim?: string;
  normalize?: string;
  pooling?: string;
  truncate?: boolean;
  /**
   * The numerics profile every worker computes in (docs/numerics.md): fixed when the job is added
   * (`--numerics`, else what "auto" picks on the adding machine), so workers on different CPUs give
   * the same bits.
   */
  numerics?: string;
}

export interface JobSpec {
  version: 1;
  name: string;
  /** sha256 (hex) of the input file's bytes. */
  inputSha256: string;
  nInputs: number;
  /** Inputs per chunk; chunk k holds inputs [k * chunk, min((k + 1) * chunk, nInputs)). */
  chunk: number;
  nChunks: number;
  /** Input lines are JSON strings or token-id arrays (as `embed --input --jsonl`). */
  jsonl: boolean;
  opts: StoredOptions;
  /** Result store: Redis itself, or files in a shared directory. */
  results: "redis" | "dir";
  /** With results "dir": the directory given to `queue add` (workers may mount it elsewhere). */
  resultsDir?: string;
  /** Random id written into the results directory, so a worker can tell it has the shared one. */
  resultsId: string;
  /** BullMQ attempts per chunk and the first retry delay (exponential backoff). */
  attempts: number;
  backoffMs: number;
  createdAt: string;
}

/** Our own Redis keys (outside BullMQ's prefix, so no job id can collide with them). */
export function jobKeys(name: string) {
  const p = `gguf-embed-job:${name}`;
  return {
    /** Hash: `spec` (JobSpec JSON), `model` (pinned model JSON). */
    info: `${p}:info`,
    /** Hash of counters over distinct chunks done (see work.ts). */
    stats: `${p}:stats`,
    /** Set of chunk numbers whose result has been written. */
    done: `${p}:done`,
    /** List of recent chunk completions, "<ms> <tokens> <inputs>", newest first. */
    recent: `${p}:recent`,
    /** Redis result store: one string per chunk. */
    result: (k: number) => `${p}:result:${k}`,
    resultPrefix: `${p}:result:`,
  };
}

/** BullMQ job id of chunk k (custom ids must not be integers nor contain ":"). */
export function chunkJobId(k: number): string {
  return `chunk-${k}`;
}

/** Number of inputs in chunk k. */
export function chunkSize(spec: Pick<JobSpec, "chunk" | "nInputs">, k: number): number {
  return Math.max(0, Math.min(spec.chunk, spec.nInputs - k * spec.chunk));
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function checkName(name: string | undefined): string {
  if (!name)
    throw new EmbedError("BAD_OPTION", "--name JOB is required (the queue's name, shared by add, work, status and collect)", {
      option: "name",
    });
  if (!NAME_RE.test(name))
    throw new EmbedError(
      "BAD_OPTION",
      `--name must be 1-100 letters, digits, ".", "_" or "-" (starting with a letter or digit), got "${name}"`,
      { option: "name" },
    );
  return name;
}

/** The options every worker embeds with; throws BAD_OPTION as `embed` would. */
export function toEmbedOptions(o: StoredOptions, onWarning?: (m: string) => void): EmbedOptions {
  if (o.task !== undefined && !isTask(o.task)) throw new EmbedError("BAD_OPTION", `unknown --task "${o.task}"`, { option: "task" });
  if (o.pooling !== undefined && !["mean", "cls", "last", "none"].includes(o.pooling)) {
    throw new EmbedError("BAD_OPTION", `--pooling must be mean, cls, last or none, got "${o.pooling}"`, { option: "pooling" });
  }
  const dimensions = o.dim === undefined ? undefined : Number(o.dim);
  if (dimensions !== undefined && (!Number.isInteger(dimensions) || dimensions < 1)) {
    throw new EmbedError("BAD_OPTION", `--dim must be a positive integer, got ${o.dim}`, { option: "dim" });
  }
  return {
    task: o.task as Task | undefined,
    title: o.title,
    dimensions,
    normalize: o.normalize === undefined ? undefined : checkNormalize(o.normalize, "--normalize"),
    pooling: o.pooling as Pooling | undefined,
    truncate: o.truncate,
    onWarning,
  };
}

/** The fields two `queue add` runs of the same job must agree on. */
export function specIdentity(s: JobSpec): string {
  return JSON.stringify([s.inputSha256, s.nInputs, s.chunk, s.jsonl, s.opts, s.results]);
}

/** A Redis URL fit for messages: the password replaced by "***". */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, "//***@");
  }
}

export function parseSpec(json: string | null | undefined, name: string): JobSpec {
  if (!json)
    throw new EmbedError(
      "QUEUE_MISMATCH",
      `there is no queue "${name}" on this Redis: run "gguf-embed queue add --name ${name} ..." first`,
      { name },
    );
  const s = JSON.parse(json) as JobSpec;
  if (s.version !== 1)
    throw new EmbedError(
      "QUEUE_MISMATCH",
      `queue "${name}" was written by another version of gguf-embed (spec version ${String(s.version)})`,
      { name },
    );
  return s;
}
