/**
 * The output file of bulk mode (bulk.ts): checked and locked before any model is loaded, validated
 * when resuming, written one batch per write(2).
 *
 * - Lock: `<output>.lock` (node/cache.ts acquireLock), held for the whole run; a second run on the
 *   same output fails at once with LOCKED, so two runs never interleave their records.
 *   It goes stale only when its owner process is gone (dead pid, or a pid reused since), never by
 *   age: a run's event loop can be held by a long batch.
 * - Resume: every complete line must be the record of its input, `{"index":i,"embedding":[...]}`
 *   with i = its line number - 1 (a cheap check of each line's start and end); with --verify each
 *   line is also parsed and its vector checked. A partial last line (an interrupted write) is cut.
 * - Writes: a failure (ENOSPC, EIO) is an IO_ERROR naming the file and what is safe in it.
 * Guarded by test/cli/bulk-safety.test.ts.
 */
import { createReadStream } from "node:fs";
import { open, stat, truncate, type FileHandle } from "node:fs/promises";
import { EmbedError } from "../errors.js";
import { acquireLock } from "../node/cache.js";

export interface OutputArgs {
  output?: string;
  resume: boolean;
  overwrite: boolean;
  /** Parse every line of the file being resumed (else only each line's start and end are checked). */
  verify: boolean;
  quiet: boolean;
}

export interface PreparedOutput {
  /** Inputs already done (complete records in the file). */
  skip: number;
  /** Release the output's lock. */
  release: () => Promise<void>;
}

/** Lock and check the output before any model is loaded; returns how many inputs are already done. */
export async function prepareOutput(a: OutputArgs, io: { stderr: NodeJS.WritableStream }): Promise<PreparedOutput> {
  if (a.resume && !a.output) throw new EmbedError("BAD_OPTION", "--resume needs --output FILE", { option: "resume" });
  if (a.verify && !a.resume)
    throw new EmbedError("BAD_OPTION", "--verify checks the file --resume continues; pass --resume too", { option: "verify" });
  if (!a.output) return { skip: 0, release: async () => {} };
  const release = await acquireLock(`${a.output}.lock`, { wait: false, staleMs: Infinity, what: a.output });
  try {
    return { skip: await checkOutput(a as OutputArgs & { output: string }, io), release };
  } catch (e) {
    await release();
    throw e;
  }
}

async function checkOutput(a: OutputArgs & { output: string }, io: { stderr: NodeJS.WritableStream }): Promise<number> {
  const st = await stat(a.output).catch(() => undefined);
  if (!st || st.size === 0) return 0;
  if (!a.resume) {
    if (a.overwrite) {
      await truncate(a.output, 0);
      return 0;
    }
    throw new EmbedError("BAD_OPTION", `${a.output} already exists; pass --resume to continue it or --overwrite to start over`, {
      option: "output",
    });
  }
  const scan = await scanOutput(a.output, a.verify);
  if (scan.bad) {
    const { line, why } = scan.bad;
    const keep =
      scan.goodBytes > 0
        ? `; its first ${line - 1} lines (${scan.goodBytes} bytes) are good: ` +
          `keep them with "truncate -s ${scan.goodBytes} ${a.output}" and rerun`
        : "";
    throw new EmbedError(
      "BAD_INPUT",
      `--resume: line ${line} of ${a.output} should be the record of input ${line - 1} but ${why}; refusing to append${keep}`,
      { path: a.output, line, goodBytes: scan.goodBytes },
    );
  }
  if (scan.validBytes < st.size) {
    await truncate(a.output, scan.validBytes);
    if (!a.quiet) io.stderr.write(`gguf-embed: ${a.output}: dropped a partial last line (${st.size - scan.validBytes} bytes)\n`);
  }
  return scan.lines;
}

export interface Scan {
  /** Complete lines. */
  lines: number;
  /** Bytes of the complete lines. */
  validBytes: number;
  /** The first line that is not the record of its input, and the bytes of the good lines before it. */
  bad?: { line: number; why: string };
  goodBytes: number;
}

const PREFIX_BYTES = 40;

/**
 * Read the file once: count complete lines, and check each is `{"index":<line - 1>,"embedding":[`
 * ... `]}` (with `verify`: parse it and check the vector's values are finite numbers).
 */
export async function scanOutput(path: string, verify = false): Promise<Scan> {
  let lines = 0,
    pos = 0,
    lineStart = 0;
  let head = Buffer.alloc(0); // the current line's first bytes
  let tail = -1,
    tail2 = -1; // its last two bytes
  let whole: Buffer[] = []; // the whole line, with verify
  const check = (): string | undefined => {
    const want = `{"index":${lines},"embedding":[`;
    const got = head.subarray(0, Math.min(head.length, want.length)).toString("latin1");
    if (got !== want) {
      const m = /^\{"index":(\d+),/.exec(head.toString("latin1"));
      return m ? `is the record of input ${m[1]}` : "is not a record";
    }
    if (tail2 !== 0x5d || tail !== 0x7d) return "is cut or damaged at its end";
    if (verify) {
      try {
        const r = JSON.parse(Buffer.concat(whole).toString("utf8")) as { index: unknown; embedding: unknown };
        if (
          !Array.isArray(r.embedding) ||
          r.embedding.length === 0 ||
          !r.embedding.every((x) => typeof x === "number" && Number.isFinite(x))
        )
          return "its embedding is not an array of finite numbers";
      } catch {
        return "is not valid JSON";
      }
    }
    return undefined;
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const b = chunk as Buffer;
    for (let from = 0; ; ) {
      const nl = b.indexOf(10, from);
      const piece = b.subarray(from, nl < 0 ? b.length : nl);
      if (head.length < PREFIX_BYTES) head = Buffer.concat([head, piece.subarray(0, PREFIX_BYTES - head.length)]);
      if (piece.length >= 2) [tail2, tail] = [piece[piece.length - 2], piece[piece.length - 1]];
      else if (piece.length === 1) [tail2, tail] = [tail, piece[0]];
      if (verify) whole.push(Buffer.from(piece));
      if (nl < 0) break;
      const why = check();
      // Nothing after the first bad line matters: stop there.
      if (why) return { lines, validBytes: lineStart, bad: { line: lines + 1, why }, goodBytes: lineStart };
      lines++;
      lineStart = pos + nl + 1;
      head = Buffer.alloc(0);
      tail = tail2 = -1;
      whole = [];
      from = nl + 1;
    }
    pos += b.length;
  }
  return { lines, validBytes: lineStart, goodBytes: lineStart };
}

export interface Sink {
  write(s: string): Promise<void>;
  close(): Promise<void>;
}

/** The output file, appended to; every write error (ENOSPC, EIO) is an IO_ERROR naming it, never a raw stack. */
export async function fileSink(path: string): Promise<Sink> {
  const fail = (e: unknown, what: string): EmbedError => {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === "ENOSPC" ? "no space left on device (ENOSPC)" : `${err.code ?? ""} ${err.message}`.trim();
    return new EmbedError(
      "IO_ERROR",
      `${path}: cannot ${what}: ${why}; the records written before this batch are complete in the file: ` +
        "free the space and continue with --resume",
      { path, code: err.code },
      { cause: e },
    );
  };
  let fh: FileHandle;
  try {
    fh = await open(path, "a");
  } catch (e) {
    throw fail(e, "open it for writing");
  }
  let lastSync = Date.now();
  return {
    async write(s) {
      const buf = Buffer.from(s);
      try {
        let done = 0;
        while (done < buf.length) done += (await fh.write(buf, done, buf.length - done)).bytesWritten;
        if (Date.now() - lastSync >= 1000) {
          await fh.datasync();
          lastSync = Date.now();
        }
      } catch (e) {
        throw fail(e, "write");
      }
    },
    async close() {
      try {
        await fh.datasync();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EINVAL") throw fail(e, "sync"); // EINVAL: a device that cannot sync
      } finally {
        await fh.close();
      }
    },
  };
}

export function streamSink(out: NodeJS.WritableStream): Sink {
  return {
    write: (s) =>
      new Promise<void>((resolve) => {
        if (out.write(s)) resolve();
        else out.once("drain", () => resolve());
      }),
    close: async () => {},
  };
}
