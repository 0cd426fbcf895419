/**
 * Tokenizer throughput, ours vs llama.cpp's (node-llama-cpp 3.22.1, vocab-only load of the same
 * vocab: the converter-faithful Gemma 3 vocab for SPM, or with "wpm" llama.cpp's own BERT test vocab
 * models/ggml-vocab-bert-bge.gguf), on ~1 MB of the committed mixed corpus
 * (test/fixtures/tokenizer-corpus.jsonl). Rounds alternate between the two; medians are reported.
 * Both sides tokenize with add_special = false, parse_special = true; llama.cpp's time includes the
 * N-API call (string conversion, result array), ours includes UTF-8 encoding.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/tokenizer.bench.js [rounds] [spm|wpm]
 */
import { readFileSync } from "node:fs";
import { getLlama } from "node-llama-cpp";
import { gemma3VocabFixture } from "../scripts/gen/gemma3-vocab.js";
import { FileSource } from "../src/node/fs-source.js";
import { loadTokenizer } from "../src/tokenizer/index.js";
import { llamaSourceFile } from "../test/helpers/llama-src.js";

const rounds = Number(process.argv[2] ?? 7);
const algorithm = process.argv[3] ?? "spm";
const corpus = readFileSync(new URL("../../test/fixtures/tokenizer-corpus.jsonl", import.meta.url), "utf8")
  .trim()
  .split("\n")
  .map((l) => (JSON.parse(l) as { text: string }).text);
const texts: string[] = [];
let nBytes = 0;
for (const t of corpus) {
  if (nBytes >= 1 << 20) break;
  texts.push(t);
  nBytes += Buffer.byteLength(t);
}
const joined = texts.join("\n");

const path = algorithm === "wpm" ? llamaSourceFile("models/ggml-vocab-bert-bge.gguf") : await gemma3VocabFixture("converter");
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
const ref = await llama.loadModel({ modelPath: path, vocabOnly: true });
const source = await FileSource.open(path);
const ours = await loadTokenizer(source);
await source.close();

type Run = () => number;
const cases: [string, Run, Run][] = [
  [
    `${texts.length} texts`,
    () => texts.reduce((n, t) => n + ours.encode(t, { addSpecial: false, parseSpecial: true }).length, 0),
    () => texts.reduce((n, t) => n + ref.tokenize(t, true).length, 0),
  ],
  ["one 1 MB string", () => ours.encode(joined, { addSpecial: false, parseSpecial: true }).length, () => ref.tokenize(joined, true).length],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(
  `${algorithm} (${ours.vocab.model}, ${ours.nVocab} tokens); corpus: ${texts.length} texts, ${nBytes} bytes; ` +
    `${rounds} rounds, alternating; node ${process.version}`,
);
for (const [name, runOurs, runRef] of cases) {
  const tOurs: number[] = [];
  const tRef: number[] = [];
  let nOurs = 0;
  let nRef = 0;
  for (let r = 0; r < rounds; r++) {
    for (const [run, times, set] of [
      [runOurs, tOurs, (n: number) => (nOurs = n)],
      [runRef, tRef, (n: number) => (nRef = n)],
    ] as const) {
      const t0 = performance.now();
      set(run());
      times.push(performance.now() - t0);
    }
  }
  if (nOurs !== nRef) throw new Error(`${name}: token counts differ (ours ${nOurs}, llama.cpp ${nRef})`);
  const mo = median(tOurs);
  const mr = median(tRef);
  const rate = (ms: number) => `${(((nOurs / ms) * 1000) / 1e6).toFixed(2)} M tok/s`;
  console.log(
    `${name}: ${nOurs} tokens | ours ${mo.toFixed(1)} ms (${rate(mo)}) | llama.cpp ${mr.toFixed(1)} ms (${rate(mr)}) | ours/llama.cpp speed ${(mr / mo).toFixed(2)}x`,
  );
}
await ref.dispose();
await llama.dispose();
