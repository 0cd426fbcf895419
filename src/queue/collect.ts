/**
 * `gguf-embed queue collect`: once every chunk is done, write the records of all chunks in input
 * order: the output of `embed --input --output` for the same input, byte for byte, except that a
 * poisoned input's line is its error record ({"index":i,"error":{...}}). Each chunk is checked to
 * hold exactly its inputs' records, starting at its first index. A file output is written to a
 * temporary name and renamed at the end, so it is either absent or whole.
 */
import { open, rename, stat, unlink } from "node:fs/promises";
import { EmbedError } from "../errors.js";
import type { QueueDeps } from "./deps.js";
import { readSpec, type Connection } from "./connect.js";
import { openResults } from "./results.js";
import { BULL_PREFIX, chunkSize, type JobSpec } from "./spec.js";

export interface CollectArgs {
  name: string;
  output?: string;
  overwrite: boolean;
  results?: string;
}

export interface CollectResult {
  spec: JobSpec;
  records: number;
  errors: number;
  bytes: number;
}

const ERROR_MARK = Buffer.from(`,"error":`);

/** Check a chunk's records: `n` lines, the first with index `first`; returns how many are error records. */
function checkChunk(buf: Buffer, k: number, first: number, n: number): number {
  let lines = 0,
    errors = 0,
    start = 0;
  for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
    const head = buf.toString("latin1", start, Math.min(nl, start + 48));
    const want = `{"index":${first + lines},`;
    if (!head.startsWith(want)) {
      throw new EmbedError(
        "QUEUE_INCOMPLETE",
        `the result of chunk ${k} is not its records: line ${lines + 1} should start with ${want} ` +
          `but starts with ${JSON.stringify(head.slice(0, 24))}`,
        { chunk: k },
      );
    }
    const at = start + want.length - 1;
    if (buf.subarray(at, at + ERROR_MARK.length).equals(ERROR_MARK)) errors++;
    lines++;
    start = nl + 1;
  }
  if (lines !== n || start !== buf.length) {
    throw new EmbedError(
      "QUEUE_INCOMPLETE",
      `the result of chunk ${k} holds ${lines} complete records${start !== buf.length ? " and a partial one" : ""}, expected ${n}`,
      { chunk: k },
    );
  }
  return errors;
}

export async function collect(deps: QueueDeps, conn: Connection, a: CollectArgs, stdout: NodeJS.WritableStream): Promise<CollectResult> {
  const spec = await readSpec(conn.redis, a.name);
  const queue = new deps.bullmq.Queue(a.name, { connection: conn.bull, prefix: BULL_PREFIX });
  try {
    const c = await queue.getJobCounts("waiting", "prioritized", "active", "completed", "failed", "delayed");
    if ((c.completed ?? 0) < spec.nChunks) {
      const failed = c.failed ? await queue.getFailed(0, 2) : [];
      const why = failed.map((j) => `; chunk ${(j.data as { chunk: number }).chunk} failed: ${j.failedReason}`).join("");
      throw new EmbedError(
        "QUEUE_INCOMPLETE",
        `queue "${a.name}": ${c.completed ?? 0} of ${spec.nChunks} chunks done (${(c.waiting ?? 0) + (c.prioritized ?? 0)} waiting, ` +
          `${c.active ?? 0} active, ${c.delayed ?? 0} waiting to be retried, ${c.failed ?? 0} failed${why})` +
          `${c.failed ? `; "gguf-embed queue retry --name ${a.name}" puts the failed chunks back` : ""}; collect once all are done`,
        { name: a.name, done: c.completed ?? 0, chunks: spec.nChunks, failed: c.failed ?? 0 },
      );
    }
  } finally {
    await queue.close();
  }
  const store = await openResults(conn.redis, spec, a.results);
  if (
    a.output !== undefined &&
    !a.overwrite &&
    (await stat(a.output).then(
      () => true,
      () => false,
    ))
  ) {
    throw new EmbedError("BAD_OPTION", `${a.output} already exists; pass --overwrite to replace it`, { option: "output" });
  }
  const tmp = a.output === undefined ? undefined : `${a.output}.tmp-${process.pid}`;
  const fh = tmp === undefined ? undefined : await open(tmp, "w");
  let records = 0,
    errors = 0,
    bytes = 0;
  try {
    for (let k = 0; k < spec.nChunks; k++) {
      const buf = await store.get(k);
      if (!buf)
        throw new EmbedError("QUEUE_INCOMPLETE", `chunk ${k} is marked done but its result is missing from ${store.where}`, { chunk: k });
      const n = chunkSize(spec, k);
      errors += checkChunk(buf, k, k * spec.chunk, n);
      records += n;
      bytes += buf.length;
      if (fh) {
        let done = 0;
        while (done < buf.length) done += (await fh.write(buf, done, buf.length - done)).bytesWritten;
      } else if (!stdout.write(buf)) {
        await new Promise<void>((resolve) => stdout.once("drain", () => resolve()));
      }
    }
    if (fh) {
      await fh.datasync();
      await fh.close();
      await rename(tmp!, a.output!);
    }
  } catch (e) {
    if (fh) {
      await fh.close().catch(() => {});
      await unlink(tmp!).catch(() => {});
    }
    throw e;
  }
  return { spec, records, errors, bytes };
}
