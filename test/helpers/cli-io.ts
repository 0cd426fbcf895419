/**
 * In-memory CliIO for running CLI commands in-process (main(args, io)), so tests read what a command
 * printed without a child process.
 */
import { PassThrough } from "node:stream";

/** CliIO over PassThrough streams -> { out: { stdout, stderr } (text so far), io }; `tty` makes stderr claim to be a terminal. */
export function captureIO(o: { tty?: boolean } = {}) {
  const out = { stdout: "", stderr: "" };
  const stdout = new PassThrough().on("data", (d) => (out.stdout += d));
  const stderr = Object.assign(
    new PassThrough().on("data", (d) => (out.stderr += d)),
    o.tty ? { isTTY: true, columns: 100 } : {},
  );
  return { out, io: { stdin: new PassThrough(), stdout, stderr } };
}

/** The same, read as `c.out` / `c.err` (the text written to stdout / stderr so far) beside `c.io`. */
export function capture() {
  const { out, io } = captureIO();
  return {
    io,
    get out() {
      return out.stdout;
    },
    get err() {
      return out.stderr;
    },
  };
}
