/**
 * Bulk embedding (`gguf-embed embed --input FILE --output FILE.jsonl [--resume]`): stream the input
 * line by line, embed `batch` inputs at a time, append one JSON record per input, in input order:
 *
 *   {"index":0,"embedding":[0.0123,...]}\n
 *
 * `index` is the 0-based input line number (so line i+1 of the output is input i), `embedding` the
 * vector (pooling "none": the (nTokens x dim) matrix, row-major, flat). The file is appendable JSONL.
 *
 * Memory stays bounded: one batch of inputs and results at a time. Each batch is one write(2) to
 * the output, so an interruption leaves complete lines plus at most one partial line; the file is
 * fdatasync'ed at most once a second and at the end. SIGINT/SIGTERM finish the batch in flight,
 * write it and exit 130 (a second signal exits at once). `--resume` counts the complete lines,
 * cuts a partial last line, checks the last record's index, skips that many inputs and appends.
 */
import { createReadStream } from "node:fs";
import { open, stat, truncate, type FileHandle } from "node:fs/promises";
import { EmbedError } from "../errors.js";
import type { EmbeddingModel, EmbedInput, EmbedOptions, PreparedInput } from "../embed/embedder.js";
import type { CliIO } from "./io.js";
import { Progress, formatDuration } from "./progress.js";

export interface BulkArgs {
  /** Input file (default: stdin). One text per line; with `jsonl`, one JSON string or token-id array per line. */
  input?: string;
  /** Output file (default: stdout). */
  output?: string;
  resume: boolean;
  overwrite: boolean;
  jsonl: boolean;
  /** Inputs per embed call and per write. */
  batch: number;
  quiet: boolean;
  opts: EmbedOptions;
}

/** Check the output before any model is loaded; returns how many inputs are already done. */
export async function prepareOutput(a: BulkArgs, io: CliIO): Promise<number> {
  if (a.resume && !a.output) throw new EmbedError("BAD_OPTION", "--resume needs --output FILE", { option: "resume" });
  if (!a.output) return 0;
  const st = await stat(a.output).catch(() => undefined);
  if (!st || st.size === 0) return 0;
  if (!a.resume) {
    if (a.overwrite) {
      await truncate(a.output, 0);
      return 0;
    }
    throw new EmbedError("BAD_OPTION", `${a.output} already exists; pass --resume to continue it or --overwrite to start over`, { option: "output" });
  }
  const scan = await scanOutput(a.output);
  if (scan.validBytes < st.size) {
    await truncate(a.output, scan.validBytes);
    if (!a.quiet) io.stderr.write(`gguf-embed: ${a.output}: dropped a partial last line (${st.size - scan.validBytes} bytes)\n`);
  }
  if (scan.lines > 0) {
    let index: unknown;
    try {
      index = (JSON.parse(scan.lastLine) as { index?: unknown }).index;
    } catch {
      index = undefined;
    }
    if (index !== scan.lines - 1) {
      throw new EmbedError("BAD_INPUT", `--resume: line ${scan.lines} of ${a.output} should be the record of input ${scan.lines - 1} but is ${index === undefined ? "not a record" : `the record of input ${String(index)}`}; this output was not written by "embed --output" from line 1, refusing to append`, { path: a.output, line: scan.lines });
    }
  }
  return scan.lines;
}

/** Complete lines of a file, the byte length they span, and the last one. Reads the file once. */
export async function scanOutput(path: string): Promise<{ lines: number; validBytes: number; lastLine: string }> {
  let lines = 0, pos = 0, validBytes = 0, prevLineStart = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const b = chunk as Buffer;
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) {
      lines++;
      prevLineStart = validBytes;
      validBytes = pos + i + 1;
    }
    pos += b.length;
  }
  let lastLine = "";
  if (lines > 0) {
    const fh = await open(path, "r");
    try {
      const buf = Buffer.alloc(validBytes - 1 - prevLineStart);
      await fh.read(buf, 0, buf.length, prevLineStart);
      lastLine = buf.toString("utf8");
    } finally {
      await fh.close();
    }
  }
  return { lines, validBytes, lastLine };
}

/** Lines of a byte stream with their size in bytes (for progress by input position). */
export async function* linesWithBytes(stream: AsyncIterable<Buffer | string>): AsyncGenerator<{ text: string; nBytes: number }> {
  let pieces: Buffer[] = [];
  for await (const c of stream) {
    const b = typeof c === "string" ? Buffer.from(c) : c;
    let start = 0;
    for (let nl = b.indexOf(10); nl >= 0; nl = b.indexOf(10, start)) {
      const line = pieces.length ? Buffer.concat([...pieces, b.subarray(start, nl)]) : b.subarray(start, nl);
      pieces = [];
      yield { text: line.toString("utf8").replace(/\r$/, ""), nBytes: line.length + 1 };
      start = nl + 1;
    }
    if (start < b.length) pieces.push(Buffer.from(b.subarray(start)));
  }
  if (pieces.length) {
    const line = Buffer.concat(pieces);
    yield { text: line.toString("utf8").replace(/\r$/, ""), nBytes: line.length };
  }
}

export function parseLine(text: string, index: number, jsonl: boolean): EmbedInput {
  if (!jsonl) return text;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new EmbedError("BAD_INPUT", `input line ${index + 1}: not valid JSON (with --jsonl every line is a JSON string or an array of token ids)`, { index, line: index + 1 });
  }
  if (typeof v === "string" || (Array.isArray(v) && v.every((x) => Number.isInteger(x)))) return v as EmbedInput;
  throw new EmbedError("BAD_INPUT", `input line ${index + 1}: expected a JSON string or an array of token ids`, { index, line: index + 1 });
}

/** Run `f` on a batch starting at input `base`, renaming batch-relative input numbers in errors. */
async function inBatch<T>(base: number, output: string | undefined, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (!(e instanceof EmbedError) || typeof e.detail.index !== "number") throw e;
    const g = base + e.detail.index;
    const saved = output ? `; the records before it are in ${output}: fix the input and rerun with --resume` : "";
    throw new EmbedError(e.code, `input line ${g + 1}: ${e.message.replace(/^input \d+:?\s*/, "")}${saved}`, { ...e.detail, index: g, line: g + 1 }, { cause: e });
  }
}

/** One output record: `{"index":i,"embedding":[...]}` and a newline (the format of every --output file). */
export function formatRecord(index: number, v: Float32Array): string {
  return `{"index":${index},"embedding":${JSON.stringify(Array.from(v))}}\n`;
}

interface Sink { write(s: string): Promise<void>; close(): Promise<void> }

async function fileSink(path: string): Promise<Sink> {
  const fh: FileHandle = await open(path, "a");
  let lastSync = Date.now();
  return {
    async write(s) {
      const buf = Buffer.from(s);
      let done = 0;
      while (done < buf.length) done += (await fh.write(buf, done, buf.length - done)).bytesWritten;
      if (Date.now() - lastSync >= 1000) {
        await fh.datasync();
        lastSync = Date.now();
      }
    },
    async close() {
      await fh.datasync();
      await fh.close();
    },
  };
}

function streamSink(out: NodeJS.WritableStream): Sink {
  return {
    write: (s) => new Promise<void>((resolve) => { if (out.write(s)) resolve(); else out.once("drain", () => resolve()); }),
    close: async () => {},
  };
}

/** Embed every input after the first `skip` and append the records. Returns the exit code. */
export async function runBulk(model: EmbeddingModel, a: BulkArgs, io: CliIO, skip: number): Promise<number> {
  const totalBytes = a.input ? (await stat(a.input)).size : undefined;
  const input = a.input ? createReadStream(a.input, { highWaterMark: 1 << 16 }) : (io.stdin as AsyncIterable<Buffer | string>);
  const lines = linesWithBytes(input);
  const sink = a.output ? await fileSink(a.output) : streamSink(io.stdout);
  const progress = a.quiet ? undefined : new Progress(io.stderr, "embed");
  let stop = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop) process.exit(130);
    stop = true;
    if (!a.quiet) io.stderr.write(`\ngguf-embed: ${sig}: finishing the current batch (again to quit at once)\n`);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let index = 0, bytesDone = 0, nTokens = 0, eof = false;
  try {
    for (; index < skip; index++) {
      const r = await lines.next();
      if (r.done) throw new EmbedError("BAD_INPUT", `--resume: ${a.output} has ${skip} records but the input has only ${index} lines; is it the same input?`, { records: skip, lines: index });
      bytesDone += r.value.nBytes;
    }
    if (skip > 0 && !a.quiet) io.stderr.write(`gguf-embed: resuming after ${skip} inputs already in ${a.output}\n`);
    while (!stop && !eof) {
      const batch: EmbedInput[] = [];
      while (batch.length < a.batch) {
        const r = await lines.next();
        if (r.done) { eof = true; break; }
        bytesDone += r.value.nBytes;
        batch.push(parseLine(r.value.text, index + batch.length, a.jsonl));
      }
      if (batch.length === 0) break;
      const prepared: PreparedInput[] = await inBatch(index, a.output, () => model.prepare(batch, a.opts));
      const vecs = await inBatch(index, a.output, () => model.embedPrepared(prepared, a.opts));
      await sink.write(vecs.map((v, k) => formatRecord(index + k, v)).join(""));
      for (const p of prepared) nTokens += p.tokens.length;
      index += batch.length;
      const el = Math.max(progress?.elapsed ?? 1, 1e-3);
      progress?.update(totalBytes ? bytesDone / totalBytes : undefined, `${index} texts, ${(nTokens / el).toFixed(1)} tok/s, ${((index - skip) / el).toFixed(1)} texts/s`);
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await sink.close();
    await lines.return(undefined);
  }
  const el = progress?.elapsed ?? 0;
  if (stop) {
    progress?.finish(`stopped after ${index} inputs (${index - skip} this run); continue with --resume`);
    return 130;
  }
  progress?.finish(`${index} inputs done (${index - skip} this run) in ${formatDuration(el)}, ${(nTokens / Math.max(el, 1e-3)).toFixed(1)} tok/s`);
  return 0;
}
