/**
 * `gguf-embed queue status`: a job's progress from Redis alone. Chunks by BullMQ state (waiting,
 * active, done, failed, delayed = waiting for a retry), records embedded and failed, throughput over
 * all workers (tokens and inputs per second over the chunks finished in the last minute, else over
 * the whole run), an ETA from that rate, and the per-chunk overhead measured by the workers.
 */
import type { QueueDeps } from "./deps.js";
import type { Connection } from "./connect.js";
import { readSpec } from "./connect.js";
import { pinnedModel, type PinnedModel } from "./pin.js";
import { BULL_PREFIX, jobKeys, type JobSpec } from "./spec.js";
import { formatDuration } from "../cli/progress.js";

export interface QueueStatus {
  name: string;
  nInputs: number;
  nChunks: number;
  chunk: number;
  results: string;
  model?: PinnedModel;
  chunks: { waiting: number; active: number; done: number; failed: number; delayed: number };
  /** Inputs in chunks done (records written), and how many of them are error records. */
  records: { done: number; failed: number };
  tokens: number;
  tokensPerSec?: number;
  inputsPerSec?: number;
  /** Over "recent" (chunks finished in the last minute) or "run" (first chunk started to last done). */
  rateOver?: "recent" | "run";
  etaSeconds?: number;
  /** Connected BullMQ workers (undefined where CLIENT LIST is not allowed). */
  workers?: number;
  /** Per-chunk times summed over computed chunks (ms): forward passes + tokenizing, result writes, counters, gaps between chunks. */
  timing: { computed: number; embedMs: number; writeMs: number; bookMs: number; gapMs: number; gaps: number };
  failures: { chunk: number; reason: string; attempts: number }[];
}

const WINDOW_MS = 60_000;

export async function queueStatus(deps: QueueDeps, conn: Connection, name: string, now = Date.now()): Promise<QueueStatus> {
  const spec: JobSpec = await readSpec(conn.redis, name);
  const keys = jobKeys(name);
  const queue = new deps.bullmq.Queue(name, { connection: conn.bull, prefix: BULL_PREFIX });
  try {
    const c = await queue.getJobCounts("waiting", "prioritized", "active", "completed", "failed", "delayed");
    const st = await conn.redis.hgetall(keys.stats);
    const num = (k: string) => Number(st[k] ?? 0);
    const recent = (await conn.redis.lrange(keys.recent, 0, -1)).map((l) => l.split(" ").map(Number));
    const failedJobs = c.failed ? await queue.getFailed(0, 9) : [];
    const workers = await queue.getWorkersCount().catch(() => undefined);
    const s: QueueStatus = {
      name,
      nInputs: spec.nInputs,
      nChunks: spec.nChunks,
      chunk: spec.chunk,
      results: spec.results === "redis" ? "redis" : `dir ${spec.resultsDir}`,
      model: await pinnedModel(conn.redis, name),
      chunks: {
        waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
        active: c.active ?? 0,
        done: c.completed ?? 0,
        failed: c.failed ?? 0,
        delayed: c.delayed ?? 0,
      },
      records: { done: num("inputs"), failed: num("errors") },
      tokens: num("tokens"),
      workers,
      timing: {
        computed: num("computed"),
        embedMs: num("embedMs"),
        writeMs: num("writeMs"),
        bookMs: num("bookMs"),
        gapMs: num("gapMs"),
        gaps: num("gaps"),
      },
      failures: failedJobs.map((j) => ({
        chunk: (j.data as { chunk: number }).chunk,
        reason: j.failedReason ?? "",
        attempts: j.attemptsMade,
      })),
    };
    // Rate: chunks finished within the last minute (their spread in time), else the whole run.
    const win = recent.filter(([t]) => t >= now - WINDOW_MS);
    if (win.length >= 2 && win[0][0] > win[win.length - 1][0]) {
      const span = (win[0][0] - win[win.length - 1][0]) / 1000;
      const body = win.slice(0, -1); // the oldest entry marks the start of the span
      s.tokensPerSec = body.reduce((x, e) => x + e[1], 0) / span;
      s.inputsPerSec = body.reduce((x, e) => x + e[2], 0) / span;
      s.rateOver = "recent";
    } else if (st.firstStart && st.lastDone && num("lastDone") > num("firstStart")) {
      const span = (num("lastDone") - num("firstStart")) / 1000;
      s.tokensPerSec = s.tokens / span;
      s.inputsPerSec = s.records.done / span;
      s.rateOver = "run";
    }
    const left = spec.nInputs - s.records.done;
    if (left <= 0) s.etaSeconds = 0;
    else if (s.inputsPerSec && s.inputsPerSec > 0 && s.rateOver === "recent") s.etaSeconds = left / s.inputsPerSec;
    return s;
  } finally {
    await queue.close();
  }
}

export function formatStatus(s: QueueStatus): string {
  const ch = s.chunks;
  const lines = [
    `queue "${s.name}": ${s.nInputs} inputs in ${s.nChunks} chunks of ${s.chunk}, results in ${s.results}`,
    `model: ${s.model ? `${s.model.file} (sha256 ${s.model.sha256})` : "not pinned yet (the first worker pins its model)"}`,
    `chunks: ${ch.waiting} waiting, ${ch.active} active, ${ch.done} done, ${ch.failed} failed, ${ch.delayed} waiting to be retried` +
      (s.workers !== undefined ? `; ${s.workers} worker(s) connected` : ""),
    `records: ${s.records.done} of ${s.nInputs} written (${s.records.failed} with an error), ${s.tokens} tokens`,
  ];
  if (s.tokensPerSec !== undefined) {
    const eta =
      s.etaSeconds === undefined
        ? "unknown (no chunk finished in the last minute)"
        : s.etaSeconds === 0
          ? "done"
          : formatDuration(s.etaSeconds);
    lines.push(
      `throughput: ${s.tokensPerSec.toFixed(1)} tokens/s, ${s.inputsPerSec!.toFixed(1)} inputs/s over all workers ` +
        `(${s.rateOver === "recent" ? "last minute" : "whole run"}); ETA ${eta}`,
    );
  } else {
    lines.push(`throughput: not measured yet; ETA ${s.etaSeconds === 0 ? "done" : "unknown"}`);
  }
  const t = s.timing;
  if (t.computed > 0 && t.embedMs > 0) {
    const per = (ms: number, n: number) => (n > 0 ? `${(ms / n).toFixed(1)} ms` : "-");
    const over = t.writeMs + t.bookMs + (t.gaps > 0 ? (t.gapMs / t.gaps) * t.computed : 0);
    lines.push(
      `per chunk: embedding ${per(t.embedMs, t.computed)}, result write ${per(t.writeMs, t.computed)}, ` +
        `counters ${per(t.bookMs, t.computed)}, ` +
        `queue round trip ${per(t.gapMs, t.gaps)}: overhead ${((over / t.embedMs) * 100).toFixed(2)}% of embedding time`,
    );
  }
  for (const f of s.failures) lines.push(`failed: chunk ${f.chunk} after ${f.attempts} attempt(s): ${f.reason}`);
  if (s.chunks.failed > s.failures.length) lines.push(`(${s.chunks.failed - s.failures.length} more failed chunks)`);
  return lines.join("\n") + "\n";
}
