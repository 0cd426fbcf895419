/** A CliIO over in-memory streams for running CLI commands in-process; `tty` makes stderr claim to be a terminal. */
import { PassThrough } from "node:stream";

export function captureIO(o: { tty?: boolean } = {}) {
  const out = { stdout: "", stderr: "" };
  const stdout = new PassThrough().on("data", (d) => (out.stdout += d));
  const stderr = Object.assign(
    new PassThrough().on("data", (d) => (out.stderr += d)),
    o.tty ? { isTTY: true, columns: 100 } : {},
  );
  return { out, io: { stdin: new PassThrough(), stdout, stderr } };
}
