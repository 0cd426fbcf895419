/**
 * Where a queued job's results go, one entry per chunk, keyed by the chunk number, holding the
 * chunk's JSONL records exactly as they will appear in the collected output. Writing a chunk twice
 * (a worker killed after its write, before BullMQ marked the chunk done) stores the same bytes again.
 *
 * - "redis": one string key per chunk (`gguf-embed-job:<name>:result:<k>`); a SET is atomic.
 * - "dir": `<dir>/<name>/<k>.jsonl` (k zero-padded) in a directory every worker and the collector
 *   mount; written to a temporary file in the same directory, fsync'ed, then renamed into place, so
 *   a reader sees a whole chunk or none. `<dir>/<name>/.queue-id` holds the job's resultsId, so a
 *   worker that does not see the shared directory (a local directory of the same path) is refused.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import { mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import type { Redis as RedisClient } from "ioredis";
import { EmbedError } from "../errors.js";
import { jobKeys, type JobSpec } from "./spec.js";

export interface ResultStore {
  /** For messages: "Redis" or the directory. */
  readonly where: string;
  put(chunk: number, text: string): Promise<void>;
  get(chunk: number): Promise<Buffer | undefined>;
  has(chunk: number): Promise<boolean>;
}

export function redisResults(redis: RedisClient, name: string): ResultStore {
  const keys = jobKeys(name);
  return {
    where: "Redis",
    async put(k, text) {
      await redis.set(keys.result(k), text);
    },
    async get(k) {
      return (await redis.getBuffer(keys.result(k))) ?? undefined;
    },
    async has(k) {
      return (await redis.exists(keys.result(k))) === 1;
    },
  };
}

const ID_FILE = ".queue-id";

export function chunkFile(dir: string, name: string, k: number): string {
  return join(dir, name, `${String(k).padStart(8, "0")}.jsonl`);
}

/** Create `<dir>/<name>/` and its id file (queue add). Refuses a directory left by another queue of that name. */
export async function initResultsDir(dir: string, name: string, resultsId: string): Promise<void> {
  const sub = join(dir, name);
  await mkdir(sub, { recursive: true });
  const idPath = join(sub, ID_FILE);
  const existing = await readFile(idPath, "utf8").catch(() => undefined);
  if (existing === undefined)
    await writeFile(idPath, resultsId + "\n", { flag: "wx" }).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== "EEXIST") throw e;
    });
  const now = (await readFile(idPath, "utf8")).trim();
  if (now !== resultsId) {
    throw new EmbedError(
      "QUEUE_MISMATCH",
      `${sub} holds the results of an earlier queue named "${name}"; remove that directory or choose another --name`,
      { path: sub },
    );
  }
}

/** The results directory of a job, checked to be the shared one `queue add` prepared. */
export async function dirResults(dir: string, spec: JobSpec): Promise<ResultStore> {
  const sub = join(dir, spec.name);
  const id = (await readFile(join(sub, ID_FILE), "utf8").catch(() => "")).trim();
  if (id !== spec.resultsId) {
    throw new EmbedError(
      "QUEUE_MISMATCH",
      `${sub} is not the results directory of queue "${spec.name}" (${id ? "it belongs to another queue" : `no ${ID_FILE} file`}): ` +
        `mount the directory given to "queue add --results" (${spec.resultsDir ?? "?"}) here, ` +
        "or pass --results with its path on this machine",
      { path: sub },
    );
  }
  return {
    where: sub,
    async put(k, text) {
      const final = chunkFile(dir, spec.name, k);
      const tmp = join(sub, `.tmp-${hostname()}-${process.pid}-${k}-${randomBytes(4).toString("hex")}`);
      const fh = await open(tmp, "wx");
      try {
        await fh.writeFile(text);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      try {
        await rename(tmp, final);
      } catch (e) {
        await unlink(tmp).catch(() => {});
        throw e;
      }
    },
    async get(k) {
      return readFile(chunkFile(dir, spec.name, k)).catch((e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return undefined;
        throw e;
      });
    },
    async has(k) {
      return stat(chunkFile(dir, spec.name, k)).then(
        (s) => s.isFile(),
        () => false,
      );
    },
  };
}

/** The job's result store; `dirOverride` is the shared directory's path on this machine, if it differs. */
export async function openResults(redis: RedisClient, spec: JobSpec, dirOverride?: string): Promise<ResultStore> {
  if (spec.results === "redis") {
    if (dirOverride !== undefined)
      throw new EmbedError("BAD_OPTION", `queue "${spec.name}" keeps its results in Redis; --results does not apply`, {
        option: "results",
      });
    return redisResults(redis, spec.name);
  }
  return dirResults(dirOverride ?? spec.resultsDir!, spec);
}

/** Remove a job's result directory (queue drop). */
export async function removeResultsDir(dir: string, name: string): Promise<void> {
  await rm(join(dir, name), { recursive: true, force: true });
}
