/**
 * `gguf-embed embed --model <gguf> [--task T] [--title S] [--dim N] [--normalize MODE]
 *   [--pooling P] [--truncate] [--format json|jsonl|csv] [--jsonl] [text...]`
 * Texts come from the arguments, or from stdin one per line. With --jsonl each stdin line is a JSON
 * string (a text) or a JSON array of integers (token ids used verbatim).
 */
import { parseArgs } from "node:util";
import { EmbedError } from "../errors.js";
import type { EmbedInput, EmbedOptions } from "../embed/embedder.js";
import { parseNormalize, type Pooling } from "../embed/pooling.js";
import { isTask } from "../embed/prompts.js";
import { loadModel } from "../node.js";
import type { CliIO } from "./io.js";
import { readLines } from "./lines.js";

export const EMBED_USAGE = `usage: gguf-embed embed --model <file.gguf> [options] [text...]
  --task T          query | document | qa | fact-check | classification | clustering | similarity | code
  --title S         document title (with --task document)
  --dim N           Matryoshka truncation to N dimensions (then re-normalized)
  --normalize M     none | l2 (default) | maxabs | taxicab | pN
  --pooling P       mean | cls | last | none (default: the model's)
  --truncate        cut inputs longer than the context (keeps BOS/EOS) instead of failing
  --format F        json (default: one array of vectors) | jsonl (one vector per line) | csv
  --jsonl           stdin lines are JSON strings, or JSON arrays of token ids
Texts come from the arguments, or from stdin one per line.
`;

export async function runEmbed(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: "string", short: "m" },
      task: { type: "string" },
      title: { type: "string" },
      dim: { type: "string" },
      normalize: { type: "string" },
      pooling: { type: "string" },
      truncate: { type: "boolean" },
      format: { type: "string" },
      jsonl: { type: "boolean" },
      backend: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.stdout.write(EMBED_USAGE);
    return 0;
  }
  if (!values.model) throw new EmbedError("BAD_OPTION", "embed: --model <file.gguf> is required", { option: "model" });
  if (values.task !== undefined && !isTask(values.task)) throw new EmbedError("BAD_OPTION", `embed: unknown --task "${values.task}"`, { option: "task" });
  const format = values.format ?? "json";
  if (!["json", "jsonl", "csv"].includes(format)) throw new EmbedError("BAD_OPTION", `embed: --format must be json, jsonl or csv`, { option: "format" });
  const opts: EmbedOptions = {
    task: values.task as EmbedOptions["task"],
    title: values.title,
    dimensions: values.dim === undefined ? undefined : Number(values.dim),
    normalize: values.normalize === undefined ? undefined : parseNormalize(values.normalize),
    pooling: values.pooling as Pooling | undefined,
    truncate: values.truncate,
    onWarning: (m) => io.stderr.write(m + "\n"),
  };

  let inputs: EmbedInput[] = positionals;
  if (inputs.length === 0) {
    inputs = [];
    let n = 0;
    for await (const line of readLines(io.stdin)) {
      n++;
      if (!values.jsonl) {
        inputs.push(line);
        continue;
      }
      if (line.trim() === "") continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        throw new EmbedError("BAD_INPUT", `stdin line ${n}: not valid JSON`, { line: n });
      }
      if (typeof v === "string" || (Array.isArray(v) && v.every((x) => Number.isInteger(x)))) inputs.push(v as EmbedInput);
      else throw new EmbedError("BAD_INPUT", `stdin line ${n}: expected a JSON string or an array of token ids`, { line: n });
    }
  }

  const model = await loadModel(values.model, { backend: values.backend as "js" | "wasm" | undefined });
  try {
    const vecs = await model.embed(inputs, opts);
    const fmt = (v: Float32Array) => Array.from(v);
    if (format === "json") io.stdout.write(JSON.stringify(vecs.map(fmt)) + "\n");
    else if (format === "jsonl") for (const v of vecs) io.stdout.write(JSON.stringify(fmt(v)) + "\n");
    else for (const v of vecs) io.stdout.write(fmt(v).join(",") + "\n");
    return 0;
  } finally {
    await model.close();
  }
}
