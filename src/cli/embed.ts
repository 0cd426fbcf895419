/**
 * `gguf-embed embed [--model M] [--task T] [--title S] [--dim N] [--normalize MODE]
 *   [--pooling P] [--truncate] [--format json|jsonl|csv] [--jsonl] [text...]`
 * Texts come from the arguments, or from stdin one per line. With --jsonl each stdin line is a JSON
 * string (a text) or a JSON array of integers (token ids used verbatim).
 * Bulk mode (--input/--output/--resume): streamed, batched, resumable; see bulk.ts.
 * M is a file path, a model name (default "embeddinggemma"), an hf: spec or a URL (resolve.ts).
 */
import { parseArgs } from "node:util";
import { EmbedError } from "../errors.js";
import type { EmbedInput, EmbedOptions } from "../embed/embedder.js";
import { checkNormalize } from "../embed/options.js";
import type { Pooling } from "../embed/pooling.js";
import { isTask } from "../embed/prompts.js";
import { loadModel } from "../node.js";
import { DEFAULT_MODEL } from "../node/hub.js";
import { resolveModel } from "../node/resolve.js";
import { prepareOutput, runBulk, type BulkArgs } from "./bulk.js";
import type { CliIO } from "./io.js";
import { stdinInputs } from "./lines.js";
import { loadProgress } from "./progress.js";
import { cliResolveOptions } from "./pull.js";

export const EMBED_USAGE = `usage: gguf-embed embed [--model M] [options] [text...]
  --model M         file.gguf | ${DEFAULT_MODEL} (default; downloaded on first use) | hf:owner/repo[:QUANT]
                    | hf:owner/repo/file.gguf | https://.../file.gguf   (see "gguf-embed pull --help")
  --offline         use only cached models (also GGUF_EMBED_OFFLINE=1)
  --task T          query | document | qa | fact-check | classification | clustering | similarity | code
  --title S         document title (with --task document)
  --dim N           Matryoshka truncation to N dimensions (then re-normalized)
  --normalize M     none | l2 (default) | maxabs | taxicab | pN
  --pooling P       mean | cls | last | none (default: the model's)
  --truncate        cut inputs longer than the context (keeps BOS/EOS) instead of failing
  --format F        json (default: one array of vectors) | jsonl (one vector per line) | csv
  --jsonl           stdin lines are JSON strings, or JSON arrays of token ids
Texts come from the arguments, or from stdin one per line.
Bulk mode, for large inputs (streamed, batched, resumable):
  --input FILE      one text per line (with --jsonl: one JSON string or token-id array per line)
  --output FILE     JSONL, one record per input in input order: {"index":i,"embedding":[...]}
                    (default: stdout)
  --resume          continue an interrupted --output: keep its complete lines, skip as many inputs
                    (every line must be the record of its input; a partial last line is dropped)
  --verify          with --resume: also parse every line and check its vector
  --overwrite       replace an existing --output
  --batch N         inputs per embed call and per write (default 32)
  --backend B       auto (default: wasm where WebAssembly SIMD exists) | wasm | js (the reference)
  --threads N       worker threads of the wasm backend (default: available parallelism)
  --numerics P      whose bits: auto (the llama.cpp CPU variant this machine loads) | amx | avx512 |
                    avx512-nobf16 | avx2 | a llama.cpp variant name (zen4, icelake, haswell, ...)
  --quiet           no progress on stderr
`;

/** Write to stdout, waiting when the pipe is full; a closed pipe (EPIPE) rejects, and main exits quietly. */
function write(io: CliIO, s: string): Promise<void> {
  return new Promise((resolve, reject) => {
    io.stdout.write(s, (e) => (e ? reject(e) : resolve()));
  });
}

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
      threads: { type: "string" },
      numerics: { type: "string" },
      offline: { type: "boolean" },
      input: { type: "string", short: "i" },
      output: { type: "string", short: "o" },
      resume: { type: "boolean" },
      overwrite: { type: "boolean" },
      verify: { type: "boolean" },
      batch: { type: "string" },
      quiet: { type: "boolean", short: "q" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.stdout.write(EMBED_USAGE);
    return 0;
  }
  if (values.task !== undefined && !isTask(values.task))
    throw new EmbedError("BAD_OPTION", `unknown --task "${values.task}"`, { option: "task" });
  const format = values.format ?? "json";
  if (!["json", "jsonl", "csv"].includes(format))
    throw new EmbedError("BAD_OPTION", `--format must be json, jsonl or csv`, { option: "format" });
  const opts: EmbedOptions = {
    task: values.task as EmbedOptions["task"],
    title: values.title,
    dimensions: values.dim === undefined ? undefined : Number(values.dim),
    normalize: values.normalize === undefined ? undefined : checkNormalize(values.normalize, "--normalize"),
    pooling: values.pooling as Pooling | undefined,
    truncate: values.truncate,
    onWarning: (m) => io.stderr.write(m + "\n"),
  };

  const load = async () => {
    const ro = cliResolveOptions(io, { quiet: values.quiet, offline: values.offline });
    const path = await resolveModel(values.model ?? DEFAULT_MODEL, ro).finally(() => ro.done());
    const threads = values.threads === undefined ? undefined : Number(values.threads);
    if (threads !== undefined && (!Number.isInteger(threads) || threads < 1))
      throw new EmbedError("BAD_OPTION", `--threads must be a positive integer, got ${values.threads}`, { option: "threads" });
    // load warnings (e.g. a gemma-embedding file without its Dense layers) go to stderr once, and --quiet silences them
    const onWarning = (m: string) => {
      if (!values.quiet) io.stderr.write(`gguf-embed: warning: ${m}\n`);
    };
    const bar = loadProgress(io.stderr, { quiet: values.quiet });
    const model = await loadModel(path, {
      backend: values.backend as "auto" | "js" | "wasm" | undefined,
      threads,
      numerics: values.numerics as string | undefined,
      onWarning,
      onProgress: bar.onProgress,
    }).finally(() => bar.finish());
    return model;
  };

  if (values.input !== undefined || values.output !== undefined || values.resume || values.overwrite || values.verify) {
    if (positionals.length > 0)
      throw new EmbedError("BAD_OPTION", "texts as arguments cannot be combined with --input/--output", { option: "input" });
    if (values.format !== undefined)
      throw new EmbedError("BAD_OPTION", "--input/--output write JSONL records; --format does not apply", { option: "format" });
    const batch = values.batch === undefined ? 32 : Number(values.batch);
    if (!Number.isInteger(batch) || batch < 1)
      throw new EmbedError("BAD_OPTION", `--batch must be a positive integer, got ${values.batch}`, { option: "batch" });
    const bulk: BulkArgs = {
      input: values.input,
      output: values.output,
      resume: !!values.resume,
      overwrite: !!values.overwrite,
      verify: !!values.verify,
      jsonl: !!values.jsonl,
      batch,
      quiet: !!values.quiet,
      opts,
    };
    const { skip, release } = await prepareOutput(bulk, io); // locks the output for the run
    try {
      const model = await load();
      try {
        return await runBulk(model, bulk, io, skip);
      } finally {
        await model.close();
      }
    } finally {
      await release();
    }
  }

  let inputs: EmbedInput[] = positionals;
  if (inputs.length === 0) {
    inputs = [];
    for await (const x of stdinInputs(io.stdin, { jsonl: !!values.jsonl, ids: true })) inputs.push(x);
  }

  const model = await load();
  try {
    const vecs = await model.embed(inputs, opts);
    // --pooling none: each input's vector is (nTokens x dims), printed one row per token: json and
    // jsonl give an array of rows per input, csv one line per token.
    const width = (opts.pooling ?? model.info.pooling) === "none" ? (opts.dimensions ?? model.info.nEmbdOut) : undefined;
    const rows = (v: Float32Array): number[][] => {
      const out: number[][] = [];
      for (let t = 0; t < v.length; t += width ?? v.length) out.push(Array.from(v.subarray(t, t + (width ?? v.length))));
      return out;
    };
    const fmt = (v: Float32Array) => (width ? rows(v) : Array.from(v));
    if (format === "json") await write(io, JSON.stringify(vecs.map(fmt)) + "\n");
    else if (format === "jsonl") for (const v of vecs) await write(io, JSON.stringify(fmt(v)) + "\n");
    else
      for (const v of vecs)
        await write(
          io,
          rows(v)
            .map((r) => r.join(","))
            .join("\n") + "\n",
        );
    return 0;
  } finally {
    await model.close();
  }
}
