/**
 * `gguf-embed pull [model] [--offline] [--verify] [--quiet]`: put a model in the cache (or check
 * that it is there, intact and current) and print its local path on stdout. Progress and status go
 * to stderr.
 */
import { parseArgs } from "node:util";
import { DEFAULT_MODEL } from "../node/hub.js";
import { resolveOllamaModel } from "../node/ollama-store.js";
import { pullModel, type ResolveOptions } from "../node/resolve.js";
import type { CliIO } from "./io.js";
import { downloadProgress, formatBytes } from "./progress.js";

export const PULL_USAGE = `usage: gguf-embed pull [model] [--offline] [--verify] [--quiet] [--from-ollama]
  model        ${DEFAULT_MODEL} (default: EmbeddingGemma-300M Q8_0 from ggml-org/embeddinggemma-300M-GGUF)
               hf:owner/repo[:QUANT]        a repo's GGUF whose name contains QUANT (e.g. hf:ggml-org/embeddinggemma-300M-GGUF:Q8_0)
               hf:owner/repo/path/file.gguf one file of a repo
               https://host/path/file.gguf  any URL
               ollama:NAME[:TAG]            a model in the local Ollama store (e.g. ollama:embeddinggemma), used in place
  --offline    use the cache only (also GGUF_EMBED_OFFLINE=1); fails if the model is not cached
  --verify     re-hash cached files against the Hub's sha256 (their size is always checked)
  --quiet      no progress output
  --from-ollama  take the model from the local Ollama store: the same as an ollama: name
Where several files match, a name that says it carries the Dense layers wins, then a file whose GGUF
header has dense_2.weight. Prints the local path. Downloads resume where they stopped and are checked
(size, sha256 from the Hub) before they are used.
Environment: GGUF_EMBED_CACHE (cache dir; default $XDG_CACHE_HOME/gguf-embed or ~/.cache/gguf-embed),
HF_TOKEN (gated or private repos), HF_ENDPOINT (Hub mirror), GGUF_EMBED_OFFLINE=1,
OLLAMA_MODELS (Ollama's store; default ~/.ollama/models: the blob is checked against its manifest's sha256).
`;

/**
 * ResolveOptions that report downloads on the CLI's stderr (a progress bar per file); call
 * `done()` after resolving to close the last bar.
 */
export function cliResolveOptions(io: CliIO, o: { quiet?: boolean; offline?: boolean } = {}): ResolveOptions & { done(): void } {
  let bar: ReturnType<typeof downloadProgress> | undefined;
  const say = (m: string) => {
    if (!o.quiet) io.stderr.write(`gguf-embed: ${m}\n`);
  };
  const done = () => {
    bar?.finish();
    bar = undefined;
  };
  return {
    offline: o.offline ? true : undefined,
    onDownload(file, nBytes, dest) {
      done();
      say(`downloading ${file}${nBytes !== undefined ? ` (${formatBytes(nBytes)})` : ""} to ${dest}`);
      bar = o.quiet ? undefined : downloadProgress(io.stderr, "download");
    },
    onProgress: (n, total) => bar?.onProgress(n, total),
    onStatus: say,
    done,
  };
}

export async function runPull(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      offline: { type: "boolean" },
      verify: { type: "boolean" },
      quiet: { type: "boolean", short: "q" },
      "from-ollama": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.stdout.write(PULL_USAGE);
    return 0;
  }
  if (positionals.length > 1) {
    io.stderr.write(`gguf-embed pull: one model at a time\n${PULL_USAGE}`);
    return 2;
  }
  const spec = positionals[0] ?? DEFAULT_MODEL;
  if (values["from-ollama"] || /^ollama:/i.test(spec)) {
    // no download: the GGUF blob Ollama already has, its sha256 checked against the manifest
    const res = await resolveOllamaModel(spec.replace(/^ollama:/i, ""));
    if (!values.quiet) io.stderr.write(`gguf-embed: ${spec}: found in the Ollama store (${res.digest}), used in place\n`);
    io.stdout.write(res.path + "\n");
    return 0;
  }
  const opts = { ...cliResolveOptions(io, values), verify: values.verify };
  const res = await pullModel(spec, opts).finally(() => opts.done());
  if (!values.quiet) {
    const what = res.status === "downloaded" ? "downloaded" : res.status === "cached" ? "already in the cache" : "up to date with the Hub";
    io.stderr.write(`gguf-embed: ${spec}: ${what}\n`);
  }
  io.stdout.write(res.path + "\n");
  return 0;
}
