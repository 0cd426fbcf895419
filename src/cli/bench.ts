/**
 * `gguf-embed bench --model <gguf> [--threads N] [--rounds R] [--backend wasm|js] [--no-llama]`:
 * our runtime against llama.cpp (node-llama-cpp, when installed) on the same model, the same
 * token ids and the same thread count, alternating rounds in one process, medians and ratios:
 *   - a 10-token query (latency, ms)
 *   - a 514-token document (tokens/s), or the model's context length if that is shorter (BERT: 512)
 *   - a corpus of short texts, 10-100 tokens each (texts/s; --corpus N, default 1000)
 *   - RSS right after loading ours (before llama.cpp loads), against the file size
 *   - peak RSS of the process (both runtimes share it)
 */
import { parseArgs } from "node:util";
import { availableParallelism } from "node:os";
import { stat } from "node:fs/promises";
import { EmbedError } from "../errors.js";
import { loadModel } from "../node.js";
import type { EmbeddingModel } from "../embed/embedder.js";
import type { CliIO } from "./io.js";

interface Runner {
  name: string;
  embed(tokenLists: number[][]): Promise<void>;
  close(): Promise<void>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function ours(model: EmbeddingModel): Promise<Runner> {
  const ref = model.info.numerics.reference?.length ? `; reference for ${model.info.numerics.reference.join(", ")}` : "";
  return {
    name: `gguf-embed (${model.info.backend}${model.info.simd ? `, ${model.info.simd} SIMD` : ""}, numerics ${model.info.numerics.name}${ref})`,
    embed: async (t) => {
      await model.embed(t);
    },
    close: () => model.close(),
  };
}

async function llamaCpp(path: string, threads: number): Promise<Runner> {
  let mod: typeof import("node-llama-cpp");
  try {
    mod = await import("node-llama-cpp");
  } catch (e) {
    throw new EmbedError(
      "BAD_OPTION",
      "bench: node-llama-cpp is not installed (it is a devDependency); pass --no-llama to bench ours alone",
      {},
      { cause: e },
    );
  }
  const llama = await mod.getLlama({ gpu: false, build: "never" });
  const model = await llama.loadModel({ modelPath: path, defaultContextFlashAttention: false });
  const ctx = await model.createEmbeddingContext({ contextSize: 2048, batchSize: 2048, threads });
  return {
    name: "llama.cpp (node-llama-cpp)",
    embed: async (lists) => {
      for (const t of lists) await ctx.getEmbeddingFor(t as never);
    },
    close: async () => {
      await ctx.dispose();
      await model.dispose();
    },
  };
}

/** Token lists of exact lengths: the tokenizer's special prefix (BOS, [CLS]), body tokens from a varied text, its suffix (EOS, [SEP]). */
function tokenLists(model: EmbeddingModel, lengths: number[]): number[][] {
  const text = "Semantic search ranks documents by the meaning of a query. Retrieval-augmented generation feeds them to a model. ";
  let body: number[] = [];
  while (body.length < Math.max(...lengths)) body = body.concat(Array.from(model.tokenizer.encode(text, { addSpecial: false })));
  const pre = model.tokenizer.specialPrefix,
    suf = model.tokenizer.specialSuffix;
  return lengths.map((n) => [...pre, ...body.slice(0, n - pre.length - suf.length), ...suf]);
}

export const BENCH_USAGE = `usage: gguf-embed bench --model <file.gguf> [options]
  --threads N      threads for both engines (default: available parallelism)
  --rounds N       timed rounds per phase (default 5)
  --backend B      wasm (default) | js
  --numerics P     auto | amx | avx512 | avx512-nobf16 | avx2 | a llama.cpp variant name
  --corpus N       texts in the corpus phase (default 1000)
  --no-llama       time gguf-embed alone (no node-llama-cpp run)
`;

export async function runBench(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string", short: "m" },
      threads: { type: "string" },
      rounds: { type: "string", default: "5" },
      backend: { type: "string", default: "wasm" },
      numerics: { type: "string" },
      corpus: { type: "string", default: "1000" },
      "no-llama": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.stdout.write(BENCH_USAGE);
    return 0;
  }
  if (!values.model) throw new EmbedError("BAD_OPTION", "bench: --model <file.gguf> is required", { option: "model" });
  const threads = Number(values.threads ?? availableParallelism());
  const rounds = Number(values.rounds);
  const rss0 = process.memoryUsage().rss;
  const model = await loadModel(values.model, { backend: values.backend as "js" | "wasm", threads, numerics: values.numerics });
  const rssOurs = process.memoryUsage().rss; // before llama.cpp loads its copy
  const fileBytes = (await stat(values.model)).size;
  const runners = [await ours(model)];
  if (!values["no-llama"]) runners.push(await llamaCpp(values.model, threads));
  const out = (s: string) => io.stdout.write(s + "\n");
  out(`model ${values.model}, ${threads} thread(s), ${rounds} rounds, ${runners.map((r) => r.name).join(" vs ")}`);
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  out(
    `RSS after loading ours: ${mib(rssOurs)} MiB (${(rssOurs / fileBytes).toFixed(2)}x the ${mib(fileBytes)} MiB file; ${mib(rss0)} MiB before loading)`,
  );

  const docLen = Math.min(514, model.info.contextLength); // a BERT context of 512 takes 512
  let seed = 1;
  const rnd = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296;
  const phases: { name: string; lists: number[][]; unit: string; score: (ms: number) => number }[] = [
    { name: "10-token query", lists: tokenLists(model, [10]), unit: "ms", score: (ms) => ms },
    { name: `${docLen}-token document`, lists: tokenLists(model, [docLen]), unit: "tokens/s", score: (ms) => docLen / (ms / 1000) },
  ];
  const nCorpus = Number(values.corpus);
  const corpus = tokenLists(
    model,
    Array.from({ length: nCorpus }, () => 10 + Math.floor(rnd() * 91)),
  );
  phases.push({ name: `${nCorpus} short texts (10-100 tokens)`, lists: corpus, unit: "texts/s", score: (ms) => nCorpus / (ms / 1000) });

  for (const ph of phases) {
    const times = runners.map(() => [] as number[]);
    for (const r of runners) await r.embed(ph.lists.slice(0, 2)); // warm-up
    const nRounds = ph.lists.length > 100 ? Math.max(1, Math.min(rounds, 2)) : rounds;
    for (let k = 0; k < nRounds; k++) {
      for (let i = 0; i < runners.length; i++) {
        const t0 = performance.now();
        await runners[i].embed(ph.lists);
        times[i].push(performance.now() - t0);
      }
    }
    const scores = times.map((t) => ph.score(median(t)));
    const ratio = scores.length > 1 ? `  ratio ${(scores[0] / scores[1]).toFixed(2)}x` : "";
    out(`${ph.name.padEnd(34)} ${runners.map((r, i) => `${r.name}: ${scores[i].toFixed(1)} ${ph.unit}`).join("  |  ")}${ratio}`);
  }
  out(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (both runtimes in one process)`);
  for (const r of runners) await r.close();
  return 0;
}
