/** The `gguf-embed` command: argv dispatch and error printing only. */
import { EmbedError } from "../errors.js";
import { DEFAULT_NUMERICS, NUMERICS } from "../kernels/numerics.js";
import { EMBED_USAGE, runEmbed } from "./embed.js";
import { BENCH_USAGE, runBench } from "./bench.js";
import { runList, runRm } from "./cache.js";
import { runInspect } from "./inspect.js";
import { runServe } from "./serve.js";
import { resolveModel } from "../node/resolve.js";
import { packageVersion } from "../server/version.js";
import { PULL_USAGE, runPull } from "./pull.js";
import type { CliIO } from "./io.js";
import { runTokenize } from "./tokenize.js";

const HELP = `gguf-embed: GGUF text embeddings in pure TypeScript (vectors match llama.cpp)

usage: gguf-embed <command> [options]

commands:
  embed      embed texts:     gguf-embed embed [--model m.gguf|hf:owner/repo:Q8_0] "some text"
             files:           gguf-embed embed --input texts.txt --output vectors.jsonl [--resume]
  tokenize   show token ids:  gguf-embed tokenize --model m.gguf [--pieces] "some text"
  inspect    show a GGUF's header, metadata and tensors: gguf-embed inspect m.gguf [--json]
  serve      HTTP server (OpenAI, Ollama, TEI and llama-server routes): gguf-embed serve --model m.gguf [--port 8080]
  pull       download a model into the cache: gguf-embed pull [embeddinggemma | hf:owner/repo[:QUANT] | URL]
  list       cached models and their sizes: gguf-embed list [--json]
  rm         remove a cached model: gguf-embed rm <name>
  bench      benchmark against llama.cpp: gguf-embed bench --model m.gguf [--threads N]
  queue      bulk embedding on many machines (BullMQ on Redis): gguf-embed queue add|work|status|collect --help

Run "gguf-embed <command> --help" for a command's options.

numerics profiles (--numerics on embed, serve and bench; docs/numerics.md): whose bits the vectors are
${NUMERICS.map((p) => `  ${p.name.padEnd(14)} llama.cpp's ${p.variants.join(", ")} CPU variant${p.variants.length > 1 ? "s" : ""}`).join("\n")}
  auto           (default) the variant llama.cpp loads on this CPU; "${DEFAULT_NUMERICS.name}" where that cannot be read
`;

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.stdout.write(HELP);
        return 0;
      case "--version":
      case "-v":
        io.stdout.write(packageVersion() + "\n");
        return 0;
      case "embed":
        return await runEmbed(rest, io);
      case "tokenize":
        return await runTokenize(rest, io);
      case "inspect":
        return await runInspect(rest, io);
      case "bench":
        return await runBench(rest, io);
      case "pull":
        return await runPull(rest, io);
      case "serve":
        return await runServe(rest, io, resolveModel);
      case "list":
      case "ls":
        return await runList(rest, io);
      case "rm":
        return await runRm(rest, io);
      case "queue":
        return await (await import("./queue.js")).runQueue(rest, io);
      default:
        io.stderr.write(`gguf-embed: unknown command "${cmd}"\n\n${HELP}`);
        return 2;
    }
  } catch (e) {
    // The reader of stdout went away (`| head`): stop quietly, as Unix tools do.
    if ((e as { code?: string } | null)?.code === "EPIPE") return 0;
    if (e instanceof EmbedError) {
      io.stderr.write(`gguf-embed ${cmd}: ${e.message} [${e.code}]\n`);
      return 1;
    }
    if (e instanceof TypeError && (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      const usage = cmd === "embed" ? EMBED_USAGE : cmd === "pull" ? PULL_USAGE : cmd === "bench" ? BENCH_USAGE : "";
      io.stderr.write(`gguf-embed ${cmd}: ${e.message}\n${usage}`);
      return 2;
    }
    throw e;
  }
}
