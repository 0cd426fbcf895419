/**
 * Where the time of a forward pass goes on the wasm backend: the model's Backend calls (matmul,
 * attention and attentionKvF16, getRow, rmsNormRows, geglu, normRows, gelu, swiglu) are timed by
 * wrapping them; everything else in the forward pass (RoPE, residual adds, embedding scaling, pooling, dense, normalization, buffer
 * allocation and GC: plain JS) is the remainder. Phases as `gguf-embed bench` (a 10-token query, a 514-token document, short texts).
 * Usage: node dist/bench/profile.bench.js <model.gguf> [threads=2] [corpus=100]
 */
import { loadModel } from "../src/node.js";

const [path, threadsArg, corpusArg] = process.argv.slice(2);
if (!path) throw new Error("usage: profile.bench.js <model.gguf> [threads] [corpus]");
const threads = Number(threadsArg ?? 2),
  nCorpus = Number(corpusArg ?? 100);
const model = await loadModel(path, { backend: "wasm", threads });
const be = model.model.backend as unknown as Record<string, (...a: unknown[]) => unknown>;
const acc: Record<string, number> = {
  matmul: 0,
  attention: 0,
  attentionKvF16: 0,
  getRow: 0,
  rmsNormRows: 0,
  geglu: 0,
  normRows: 0,
  gelu: 0,
  swiglu: 0,
};
for (const k of Object.keys(acc)) {
  const f = be[k]!.bind(be);
  be[k] = (...a: unknown[]) => {
    const t0 = performance.now();
    const r = f(...a);
    acc[k]! += performance.now() - t0;
    return r;
  };
}

const text = "Semantic search ranks documents by the meaning of a query. Retrieval-augmented generation feeds them to a model. ";
let body: number[] = [];
while (body.length < 600) body = body.concat(Array.from(model.tokenizer.encode(text, { addSpecial: false })));
// the vocabulary's own special prefix and suffix (BOS ... EOS for Gemma, [CLS] ... [SEP] for WordPiece)
const pre = model.tokenizer.specialPrefix,
  suf = model.tokenizer.specialSuffix;
const list = (n: number) => [...pre, ...body.slice(0, n - pre.length - suf.length), ...suf];
let seed = 1;
const rnd = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296;
const docLen = Math.min(514, model.info.contextLength); // as `gguf-embed bench`: a BERT context of 512 takes 512
const phases: Array<[string, number[][], number]> = [
  ["10-token query", [list(10)], 20],
  [`${docLen}-token document`, [list(docLen)], 2],
  [`${nCorpus} texts of 10-100 tokens`, Array.from({ length: nCorpus }, () => list(10 + Math.floor(rnd() * 91))), 1],
];
console.log(`${path}, wasm backend, ${threads} thread(s); ms per run (share of wall time)`);
const pct = (x: number, wall: number) => `${x.toFixed(1)} (${((100 * x) / wall).toFixed(0)}%)`;
for (const [name, lists, reps] of phases) {
  await model.embed(lists.slice(0, 2)); // warm-up (and V8's wasm tier-up)
  for (const k of Object.keys(acc)) acc[k] = 0;
  const c0 = process.cpuUsage(),
    t0 = performance.now();
  for (let r = 0; r < reps; r++) await model.embed(lists);
  const wall = (performance.now() - t0) / reps,
    c = process.cpuUsage(c0);
  const mm = acc.matmul! / reps,
    at = (acc.attention! + acc.attentionKvF16!) / reps,
    gr = acc.getRow! / reps,
    el = (acc.rmsNormRows! + acc.geglu! + acc.normRows! + acc.gelu! + acc.swiglu!) / reps;
  console.log(
    `${name.padEnd(26)} wall ${wall.toFixed(1)}, cpu ${((c.user + c.system) / 1000 / reps).toFixed(1)} | matmul ${pct(mm, wall)}` +
      ` | attention ${pct(at, wall)} | norms+glu ${pct(el, wall)} | getRow ${pct(gr, wall)} | other JS ${pct(wall - mm - at - gr - el, wall)}`,
  );
}
await model.close();
