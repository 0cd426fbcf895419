/**
 * `gguf-embed serve --model <gguf> [options]`: listen first (a port in use fails at once), load
 * the model (meanwhile /health answers 503 "loading", as llama-server), serve it over HTTP
 * (src/server/, docs/server.md), print the URL, and on SIGTERM/SIGINT answer every request already
 * received (closing idle and half-sent connections at once), then return 0. A second signal cuts
 * the remaining connections (returns 1). A blank API key is refused before the model is loaded.
 * llama-server's flags are accepted under their names (-m, -c, -b, -ub, -t, --pooling, --alias,
 * --api-key-file, --embeddings); ref: llama.cpp common/arg.cpp.
 */
import { readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { isTask, TASKS, type Task } from "../embed/prompts.js";
import type { LoadOptions } from "../embed/load.js";
import { checkPooling } from "../embed/options.js";
import type { Pooling } from "../embed/pooling.js";
import type { EmbeddingModel } from "../embed/embedder.js";
import { loadModel } from "../node.js";
import type { ResolveOptions } from "../node/resolve.js";
import { startServer, type EmbeddingServer } from "../server/http.js";
import type { CliIO } from "./io.js";
import { loadProgress } from "./progress.js";
import { cliResolveOptions } from "./pull.js";

export const SERVE_USAGE = `usage: gguf-embed serve --model <file.gguf> [options]
  -m, --model M            file.gguf | a model name | hf:owner/repo[:QUANT] | URL (as "gguf-embed embed")
  --host H                 address to listen on (default 127.0.0.1)
  --port N                 port (default 8080; 0 picks a free one)
  --api-key K              require "Authorization: Bearer K" (also env GGUF_EMBED_API_KEY)
  --api-key-file F         the key is the first line of file F
  --alias NAME             the model id that /v1/models, /api/tags and answers report (default: the file name)
  --offline                use only cached models (also GGUF_EMBED_OFFLINE=1)
  -c, --ctx-size N         most tokens per input (default 0: the model's trained context)
  -b, --batch-size N       the same as --max-batch-tokens (llama-server's names; -ub, --ubatch-size too)
  --pooling P              mean | cls | last | none: pooling when a request names none (default: the GGUF's)
  --embeddings             accepted for llama-server compatibility (this server only embeds)
  -t, --threads N          worker threads of the wasm backend (default: available parallelism)
  --backend B              auto (default: wasm where WebAssembly SIMD exists) | wasm | js
  --numerics P             auto (default) | amx | avx512 | avx512-nobf16 | avx2 | a llama.cpp variant name
  --max-batch-tokens N     token budget of one forward pass shared by queued requests (default 4096)
  --max-queue N            requests that may wait; more get 503 + Retry-After (default 64)
  --default-task T         task prompt when a request has none: ${TASKS.join(" | ")}
  --default-dimensions N   Matryoshka dimensions when a request has none
  --cors ORIGIN            allow browser calls from ORIGIN ("*" or a comma-separated list)
  --body-limit BYTES       largest request body (default 2097152)
  --max-inputs N           most prompts in one embedding request (default 2048)
  --header-timeout-ms MS   time allowed to send the request headers (default 30000)
  --body-timeout-ms MS     time allowed to send the request body (default 60000)
  --send-timeout-ms MS     a response the client stops reading is cut after this long (default 30000)
  --shutdown-timeout-ms MS on SIGTERM, requests still running after this long are cut (default 30000)
  --quiet                  no loading progress
Routes (docs/server.md): POST /v1/embeddings, GET /v1/models[/{id}] (OpenAI); POST /embedding,
/embeddings, /tokenize, /detokenize, GET /props (llama-server); POST /api/embed, /api/embeddings,
GET /api/tags, /api/version (Ollama); POST /embed, /embed_all, /tokenize, /decode, GET /info (TEI);
GET /health, /metrics.
`;

/** llama-server's two-letter short flags, which parseArgs cannot take: -ub -> --ubatch-size. */
const LONG_SPELLINGS: Record<string, string> = { "-ub": "--ubatch-size", "--embedding": "--embeddings" };

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // a split model's first part, or a path that is not a plain file
  }
}

function fail(io: CliIO, message: string): number {
  io.stderr.write(`gguf-embed serve: ${message}\n${SERVE_USAGE}`);
  return 2;
}

/** A whole number in [min, max], or an error message naming the flag. */
function intFlag(name: string, v: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | string | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return /^\d+$/.test(v.trim()) && n >= min && n <= max ? n : `--${name} must be an integer from ${min} to ${max}, got "${v}"`;
}

export async function runServe(
  args: string[],
  io: CliIO,
  resolveModel: (m: string, o?: ResolveOptions) => Promise<string> = async (m) => m,
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: args.map((a) => LONG_SPELLINGS[a] ?? a),
      options: {
        model: { type: "string", short: "m" },
        host: { type: "string" },
        port: { type: "string" },
        "api-key": { type: "string" },
        "api-key-file": { type: "string" },
        alias: { type: "string" },
        offline: { type: "boolean" },
        "ctx-size": { type: "string", short: "c" },
        "batch-size": { type: "string", short: "b" },
        "ubatch-size": { type: "string" },
        pooling: { type: "string" },
        embeddings: { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        threads: { type: "string", short: "t" },
        backend: { type: "string" },
        numerics: { type: "string" },
        "max-batch-tokens": { type: "string" },
        "max-queue": { type: "string" },
        "default-task": { type: "string" },
        "default-dimensions": { type: "string" },
        cors: { type: "string" },
        "body-limit": { type: "string" },
        "max-inputs": { type: "string" },
        "header-timeout-ms": { type: "string" },
        "body-timeout-ms": { type: "string" },
        "send-timeout-ms": { type: "string" },
        "shutdown-timeout-ms": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    return fail(io, (e as Error).message);
  }
  if (values.help) {
    io.stdout.write(SERVE_USAGE);
    return 0;
  }
  if (!values.model) return fail(io, "--model <file.gguf> is required");
  const ints = {
    port: intFlag("port", values.port, 0, 65535),
    threads: intFlag("threads", values.threads, 1, 1024),
    maxBatchTokens: intFlag("max-batch-tokens", values["max-batch-tokens"], 1),
    batchSize: intFlag("batch-size", values["batch-size"], 1),
    ubatchSize: intFlag("ubatch-size", values["ubatch-size"], 1),
    ctxSize: intFlag("ctx-size", values["ctx-size"], 0),
    maxQueue: intFlag("max-queue", values["max-queue"], 1),
    defaultDimensions: intFlag("default-dimensions", values["default-dimensions"], 1),
    bodyLimit: intFlag("body-limit", values["body-limit"], 1),
    maxInputs: intFlag("max-inputs", values["max-inputs"], 1),
    headersTimeoutMs: intFlag("header-timeout-ms", values["header-timeout-ms"], 1),
    bodyTimeoutMs: intFlag("body-timeout-ms", values["body-timeout-ms"], 1),
    sendTimeoutMs: intFlag("send-timeout-ms", values["send-timeout-ms"], 1),
    shutdownTimeoutMs: intFlag("shutdown-timeout-ms", values["shutdown-timeout-ms"], 0),
  };
  for (const v of Object.values(ints)) if (typeof v === "string") return fail(io, v);
  const num = (v: number | string | undefined) => v as number | undefined;
  const task = values["default-task"];
  if (task !== undefined && !isTask(task)) return fail(io, `--default-task must be one of ${TASKS.join(", ")}, got "${task}"`);
  if (values.backend !== undefined && !["auto", "js", "wasm"].includes(values.backend))
    return fail(io, `--backend must be auto, js or wasm, got "${values.backend}"`);
  let pooling: Pooling | undefined;
  try {
    pooling = values.pooling === undefined ? undefined : checkPooling(values.pooling, "--pooling");
  } catch (e) {
    return fail(io, (e as Error).message);
  }
  // An empty key would match an empty X-Api-Key header: refuse it rather than serve wide open.
  let apiKey = values["api-key"] ?? process.env.GGUF_EMBED_API_KEY;
  let from = values["api-key"] !== undefined ? "--api-key" : "GGUF_EMBED_API_KEY";
  if (values["api-key-file"] !== undefined) {
    if (values["api-key"] !== undefined) return fail(io, "give --api-key or --api-key-file, not both");
    try {
      apiKey = readFileSync(values["api-key-file"], "utf8").split(/\r?\n/)[0];
    } catch (e) {
      return fail(io, `cannot read --api-key-file: ${(e as Error).message}`);
    }
    from = `--api-key-file ${values["api-key-file"]}`;
  }
  if (apiKey !== undefined && apiKey.trim() === "") {
    return fail(io, `the API key is empty or blank (${from}); set a real key, or unset it to serve without one`);
  }
  // -b and -ub both bound what one forward pass takes; the smallest given wins.
  const batches = [ints.maxBatchTokens, ints.batchSize, ints.ubatchSize].filter((v): v is number => typeof v === "number");
  const maxBatchTokens = batches.length > 0 ? Math.min(...batches) : undefined;

  const ro = cliResolveOptions(io, { quiet: values.quiet, offline: values.offline });
  const path = await resolveModel(values.model, ro).finally(() => ro.done());
  const host = values.host ?? "127.0.0.1";
  const bar = loadProgress(io.stderr, { quiet: values.quiet });
  // The server starts with a model still to come; loading begins once the port is ours.
  let provide!: (m: Promise<EmbeddingModel>) => void;
  const loading = new Promise<EmbeddingModel>((r) => (provide = r));
  // Listen before loading: a port in use fails now, not after the load; /health says "loading" meanwhile.
  let server: EmbeddingServer;
  try {
    server = await startServer(loading, {
      host: values.host,
      port: num(ints.port),
      apiKey,
      cors: values.cors,
      maxBatchTokens,
      maxQueue: num(ints.maxQueue),
      bodyLimit: num(ints.bodyLimit),
      maxInputs: num(ints.maxInputs),
      headersTimeoutMs: num(ints.headersTimeoutMs),
      bodyTimeoutMs: num(ints.bodyTimeoutMs),
      sendTimeoutMs: num(ints.sendTimeoutMs),
      shutdownTimeoutMs: num(ints.shutdownTimeoutMs),
      defaultTask: task as Task | undefined,
      defaultDimensions: num(ints.defaultDimensions),
      defaultPooling: pooling,
      modelId: values.alias ?? basename(path),
      modelPath: path,
      modelSize: fileSize(path),
      log: (line) => io.stderr.write(`${new Date().toISOString()} ${line}\n`),
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EADDRINUSE" && code !== "EACCES" && code !== "EADDRNOTAVAIL") throw e;
    io.stderr.write(`gguf-embed serve: cannot listen on ${host}:${values.port ?? 8080}: ${(e as Error).message}\n`);
    return 1;
  }
  io.stderr.write(`gguf-embed serve: listening on ${server.url}; loading ${basename(path)}\n`);
  provide(
    loadModel(path, {
      backend: values.backend as LoadOptions["backend"],
      threads: num(ints.threads),
      numerics: values.numerics as string | undefined,
      contextLength: num(ints.ctxSize),
      onProgress: bar.onProgress,
      onWarning: (m) => io.stderr.write(`gguf-embed serve: warning: ${m}\n`),
    }),
  );
  try {
    await server.ready;
  } catch (e) {
    bar.finish();
    server.closeNow();
    throw e;
  }
  bar.finish();
  const model = await loading;
  const dims = num(ints.defaultDimensions);
  if (dims !== undefined && dims > model.info.nEmbdOut) {
    server.closeNow();
    await model.close();
    return fail(io, `--default-dimensions must be at most ${model.info.nEmbdOut} for this model, got ${dims}`);
  }
  if (ints.threads !== undefined && model.info.backend === "js") {
    io.stderr.write(`gguf-embed serve: --threads applies to the wasm backend only\n`);
  }
  const i = model.info;
  io.stderr.write(
    `gguf-embed serve: ${basename(path)} (${i.architecture}, ${i.nLayer} layers, ${i.nEmbdOut}-d, context ${i.contextLength}, ${i.backend} backend${i.simd ? `, ${i.simd} SIMD, ${i.threads} thread(s)` : ""}, numerics ${i.numerics.name})\n`,
  );
  io.stdout.write(`listening on ${server.url}\n`);

  const running = server;
  const code = await new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      if (++signals === 1) {
        const what = "finishing requests in flight; every request received gets an answer (send again to stop now)";
        io.stderr.write(`gguf-embed serve: ${sig}: ${what}\n`);
        void running.close().then(() => done(0));
      } else {
        running.closeNow();
        done(1);
      }
    };
    const done = (c: number) => {
      process.off("SIGTERM", onSignal).off("SIGINT", onSignal);
      resolve(c);
    };
    process.on("SIGTERM", onSignal).on("SIGINT", onSignal);
  });
  await model.close();
  io.stderr.write(`gguf-embed serve: stopped\n`);
  return code;
}
