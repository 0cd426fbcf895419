/**
 * bert and nomic-bert forward passes vs llama.cpp (node-llama-cpp, embedding mode, flash attention
 * off), same token ids, both L2-normalized, 1 - cos <= 1e-6, in the numerics profile of the CPU
 * variant node-llama-cpp loaded here (test/helpers/variants.ts). Synthetic weights, llama.cpp's
 * real vocabularies (test/helpers/bert-fixtures.ts):
 *  - MiniLM-L6 shape (6 x 384, 12 heads, FF 1536), WordPiece, mean pooling: Q8_0, F16, Q4_K
 *    (384-wide rows fall back to Q5_0 as llama-quantize does; ffn_down stays Q4_K);
 *  - a CLS-pooling variant with a fused attn_qkv (+ bias);
 *  - nomic-embed-text v1.5 shape (768 wide, 12 heads, FF 3072, ctx 2048, rope base 1000) with
 *    2 layers: Q8_0, F16, Q4_K (the 12-layer model is in parity/bert-matrix.test.ts);
 *  - the text pipeline: our WordPiece tokenizer + forward vs llama.cpp's getEmbeddingFor(text);
 *  - bert with the XLM-R unigram vocabulary at width 1024 (2 layers, 16 heads, FF 4096), explicit
 *    ids with <s> ... </s> (node-llama-cpp never prepends BOS for UGM), run below the tokenizer
 *    (no UGM tokenizer on this branch: planModel / buildModel / pool directly).
 * Lengths 2/10/100/500 tokens.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { EmbeddingModel } from "../../src/embed/embedder.js";
import { loadModel } from "../../src/node.js";
import { assertUgmParity, bertFixture, type BertFixtureOptions } from "../helpers/bert-fixtures.js";
import { disposeModel, l2normalize, llamaModel, oneMinusCos } from "../helpers/llama.js";
import { assertParity } from "../helpers/parity.js";
import { llamaVariant } from "../helpers/variants.js";

const fmt = (r: { length: number; oneMinusCos: number }) => `${r.length}t ${r.oneMinusCos.toExponential(1)}`;
const LENGTHS = [2, 10, 100, 500];
const TEXT =
  "The quick brown fox jumps over the lazy dog. Café naïve résumé — 東京は日本の首都です。 Москва 🦙 emoji, function add(a, b) { return a + b; } ";

/** Token lists of exactly these lengths: the tokenizer's special prefix ([CLS]), text ids, its suffix ([SEP]). */
function inputsOfLengths(model: EmbeddingModel, lengths: number[]): number[][] {
  const tok = model.tokenizer,
    pre = tok.specialPrefix,
    suf = tok.specialSuffix;
  assert.ok(pre.length === 1 && suf.length === 1, "WordPiece wraps text in [CLS] ... [SEP]");
  let body: number[] = [];
  while (body.length < Math.max(...lengths)) body = body.concat(tok.encode(TEXT, { addSpecial: false }));
  return lengths.map((n) => [...pre, ...body.slice(0, n - 2), ...suf]);
}
const NOMIC = { arch: "nomic-bert", nLayer: 2, nEmbd: 768, nFf: 3072, nHead: 12, contextLength: 2048, ropeFreqBase: 1000 } as const;

const CASES: { label: string; o: BertFixtureOptions; pooling: string }[] = [
  { label: "bert MiniLM-L6 Q8_0, mean", o: { weightType: "Q8_0" }, pooling: "mean" },
  { label: "bert MiniLM-L6 F16, mean", o: { weightType: "F16" }, pooling: "mean" },
  { label: "bert MiniLM-L6 Q4_K (Q5_0 fallback for 384-wide rows), mean", o: { weightType: "Q4_K" }, pooling: "mean" },
  { label: "bert MiniLM-L6 Q8_0, CLS pooling, fused attn_qkv", o: { weightType: "Q8_0", pooling: 2, fusedQkv: true }, pooling: "cls" },
  { label: "nomic-bert v1.5 shape (2 layers) Q8_0", o: { ...NOMIC, weightType: "Q8_0" }, pooling: "mean" },
  { label: "nomic-bert v1.5 shape (2 layers) F16", o: { ...NOMIC, weightType: "F16" }, pooling: "mean" },
  {
    label: "nomic-bert v1.5 shape (2 layers) Q4_K (token_embd Q8_0)",
    o: { ...NOMIC, weightType: "Q4_K", embdType: "Q8_0" },
    pooling: "mean",
  },
];

for (const c of CASES) {
  test(`${c.label}: 1 - cos <= 1e-6 vs llama.cpp at ${LENGTHS.join("/")} tokens`, async () => {
    const path = await bertFixture(c.o);
    const { numerics } = await llamaVariant();
    const model = await loadModel(path, { threads: 2, numerics: numerics.name });
    try {
      assert.equal(model.info.architecture, c.o.arch ?? "bert");
      assert.equal(model.info.pooling, c.pooling);
      const res = await assertParity(path, model, inputsOfLengths(model, LENGTHS), 1e-6);
      const ref = model.info.numerics.reference?.length ? `; reference for ${model.info.numerics.reference.join(", ")}` : "";
      console.log(`# ${c.label} [${model.info.backend}, ${numerics.name}${ref}]: ${res.map(fmt).join(", ")}`);
    } finally {
      await model.close();
      await disposeModel(path);
    }
  });
}

test("bert MiniLM-L6 Q8_0 on the js reference backend equals the wasm backend bit for bit (100 tokens)", async () => {
  const path = await bertFixture({ weightType: "Q8_0" });
  const { numerics } = await llamaVariant();
  const wasm = await loadModel(path, { backend: "wasm", threads: 2, numerics: numerics.name });
  const js = await loadModel(path, { backend: "js", numerics: numerics.name });
  try {
    const ids = inputsOfLengths(wasm, [100]);
    assert.deepEqual((await js.embed(ids))[0], (await wasm.embed(ids))[0]);
  } finally {
    await wasm.close();
    await js.close();
  }
});

test("text pipeline: our WordPiece tokenizer + forward equals llama.cpp's getEmbeddingFor(text) (MiniLM-L6 Q8_0, nomic Q8_0)", async () => {
  const texts = [
    "Hello world!",
    "Embeddings map text to vectors; similar meanings land close together.",
    "Café naïve résumé — 東京 and Москва, 🦙 emoji,   spaces.",
  ];
  const { numerics } = await llamaVariant();
  for (const o of [{ weightType: "Q8_0" }, { ...NOMIC, weightType: "Q8_0" }] as BertFixtureOptions[]) {
    const path = await bertFixture(o);
    const model = await loadModel(path, { threads: 2, numerics: numerics.name });
    const ctx = await (await llamaModel(path)).createEmbeddingContext({ contextSize: 512, batchSize: 512, threads: 2 });
    try {
      const ours = await model.embed(texts, { normalize: "l2" });
      for (let i = 0; i < texts.length; i++) {
        const ref = l2normalize(Float32Array.from((await ctx.getEmbeddingFor(texts[i]!)).vector));
        const d = oneMinusCos(ours[i]!, ref);
        assert.ok(d <= 1e-6, `${o.arch ?? "bert"}: "${texts[i]}": 1 - cos = ${d.toExponential(2)}`);
      }
    } finally {
      await ctx.dispose();
      await model.close();
      await disposeModel(path);
    }
  }
});

test("bert + XLM-R unigram vocab, 2 x 1024 (16 heads, FF 4096) Q8_0: 1 - cos <= 1e-6 at 2/10/100/500 tokens, <s> ... </s>", async () => {
  const path = await bertFixture({
    vocab: "ugm",
    nLayer: 2,
    nEmbd: 1024,
    nFf: 4096,
    nHead: 16,
    contextLength: 8192,
    normEps: 1e-5,
    weightType: "Q8_0",
  });
  await assertUgmParity(path, LENGTHS, (await llamaVariant()).numerics, "bert + UGM 2 x 1024 Q8_0");
});
