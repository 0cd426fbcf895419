/**
 * `gguf-embed queue retry` (put failed chunks back in the queue, their attempts reset) and
 * `gguf-embed queue drop` (delete a job: BullMQ's keys, ours, and its results).
 */
import type { QueueDeps } from "./deps.js";
import { readSpec, type Connection } from "./connect.js";
import { removeResultsDir } from "./results.js";
import { BULL_PREFIX, jobKeys } from "./spec.js";

/** Retry every failed chunk; returns how many were failed. */
export async function retryFailed(deps: QueueDeps, conn: Connection, name: string): Promise<number> {
  await readSpec(conn.redis, name);
  const queue = new deps.bullmq.Queue(name, { connection: conn.bull, prefix: BULL_PREFIX });
  try {
    const { failed = 0 } = await queue.getJobCounts("failed");
    if (failed > 0) await queue.retryJobs({ state: "failed", count: 1000 });
    return failed;
  } finally {
    await queue.close();
  }
}

/** Delete the job and its results (a results directory's `<dir>/<name>/` too, given its path here). */
export async function dropJob(deps: QueueDeps, conn: Connection, name: string, resultsDir?: string): Promise<{ results?: string }> {
  const spec = await readSpec(conn.redis, name);
  const queue = new deps.bullmq.Queue(name, { connection: conn.bull, prefix: BULL_PREFIX });
  try {
    await queue.obliterate({ force: true });
  } finally {
    await queue.close();
  }
  const keys = jobKeys(name);
  let cursor = "0";
  do {
    const [next, found] = await conn.redis.scan(cursor, "MATCH", `${keys.resultPrefix}*`, "COUNT", 1000);
    if (found.length > 0) await conn.redis.del(...found);
    cursor = next;
  } while (cursor !== "0");
  let results: string | undefined;
  if (spec.results === "dir") {
    results = resultsDir ?? spec.resultsDir!;
    await removeResultsDir(results, name);
  }
  await conn.redis.del(keys.stats, keys.done, keys.recent, keys.info);
  return { results };
}
