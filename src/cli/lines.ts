/**
 * Reading inputs from text streams, shared by `embed`, `tokenize` and bulk mode: lines (UTF-8,
 * without their "\n" or "\r\n"), and the JSONL form, where each line is a JSON string (a text) or,
 * where token ids are allowed, a JSON array of integers.
 */
import type { EmbedInput } from "../embed/prepare.js";
import { EmbedError } from "../errors.js";

/** Lines of a text stream (UTF-8), without their "\n" or "\r\n". */
export async function* readLines(stream: NodeJS.ReadableStream): AsyncGenerator<string> {
  const dec = new TextDecoder("utf-8");
  let buf = "";
  for await (const chunk of stream) {
    buf += typeof chunk === "string" ? chunk : dec.decode(chunk as Uint8Array, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
    }
  }
  buf += dec.decode();
  if (buf.length > 0) yield buf.replace(/\r$/, "");
}

/**
 * One JSONL line as an input: a JSON string, or (with `ids`) an array of integer token ids.
 * `where` names the line in errors ("stdin line 3", "input line 3"); `detail` goes with them.
 */
export function parseJsonlInput(text: string, where: string, ids: boolean, detail: Record<string, unknown>): EmbedInput {
  const expected = ids ? "a JSON string or an array of token ids" : "a JSON string";
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new EmbedError("BAD_INPUT", `${where}: not valid JSON (with --jsonl every line is ${expected})`, detail);
  }
  if (typeof v === "string" || (ids && Array.isArray(v) && v.every((x) => Number.isInteger(x)))) return v as EmbedInput;
  throw new EmbedError("BAD_INPUT", `${where}: expected ${expected}`, detail);
}

/** Inputs from stdin: one text per line; with `jsonl`, one JSON input per line, blank lines skipped. */
export async function* stdinInputs(stream: NodeJS.ReadableStream, o: { jsonl: boolean; ids: boolean }): AsyncGenerator<EmbedInput> {
  let n = 0;
  for await (const line of readLines(stream)) {
    n++;
    if (!o.jsonl) yield line;
    else if (line.trim() !== "") yield parseJsonlInput(line, `stdin line ${n}`, o.ids, { line: n });
  }
}
