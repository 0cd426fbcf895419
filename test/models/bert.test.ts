/**
 * bert and nomic-bert forward passes vs llama.cpp (node-llama-cpp, embedding mode, flash attention
 * off), same token ids, both L2-normalized, 1 - cos <= 1e-6, in the numerics profile of the CPU
 * variant node-llama-cpp loaded here (test/helpers/variants.ts). Synthetic weights, llama.cpp's
 * real vocabularies (test/helpers/bert-fixtures.ts):
 *  - MiniLM-L6 shape (6 x 384, 12 heads, FF 1536), WordPiece, mean pooling: Q8_0, F16, Q4_K
 *    (384-wide rows fall back to Q5_0 as llama-quantize does; ffn_down stays Q4_K), at 2/10/100/500 tokens;
 *  - a CLS-pooling variant with a fused attn_qkv (+ bias);
 *  - nomic-embed-text v1.5 shape (768 wide, 12 heads, FF 3072, ctx 2048, rope base 1000) with
 *    2 layers: Q8_0, Q4_K (F16 and the 12-layer model, every type, are in parity/bert-matrix.test.ts);
 *  - the WordPiece text pipeline: loadModel's text -> vector vs llama.cpp's getEmbeddingFor(text);
 *  - bert with the XLM-R unigram vocabulary (UGM, tokenizer.ggml.model = "t5") at width 1024
 *    (2 layers, 16 heads, FF 4096) Q8_0:
 *    - the forward on explicit ids <s> ... </s> spread over the whole vocabulary, 2/10/100/500 tokens
 *      (assertUgmParity: planModel / buildModel / pool on the wasm backend, below the embedder);
 *    - the text pipeline: the ids loadModel's model feeds its forward for each text (model.prepare:
 *      our UGM tokenizer, add_special, parse_special) equal llama.cpp's exactly, and loadModel's
 *      text -> vector matches llama.cpp's embedding of those ids. llama.cpp's ids are
 *      [bos, ...model.tokenize(text, true), eos]: node-llama-cpp tokenizes with add_special = false
 *      and parse_special as asked, and llama.cpp's UGM add_special adds BOS if add_bos_token and EOS
 *      if add_eos_token (llama_vocab::impl::tokenize), both true in this vocabulary (asserted from
 *      llama.cpp's own flags); that is what llama-server and llama-embedding feed. llama.cpp embeds
 *      those ids given explicitly (llamaEmbed), because node-llama-cpp's getEmbeddingFor(text)
 *      never prepends BOS for UGM (it appends EOS only).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { EmbeddingModel } from "../../src/embed/embedder.js";
import { loadModel } from "../../src/node.js";
import { assertUgmParity, bertFixture, type BertFixtureOptions } from "../helpers/bert-fixtures.js";
import { disposeModel, l2normalize, llamaEmbed, llamaModel, oneMinusCos } from "../helpers/llama.js";
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

/** Our text -> vector (loadModel, L2) vs llama.cpp's raw vectors `ref` of the same texts: 1 - cos <= 1e-6 for each; printed. */
async function assertTextParity(label: string, model: EmbeddingModel, texts: string[], ref: Float32Array[]): Promise<void> {
  const ours = await model.embed(texts, { normalize: "l2" });
  const d = texts.map((_, i) => oneMinusCos(ours[i]!, l2normalize(ref[i]!)));
  console.log(`# ${label} [${model.info.backend}, ${model.info.numerics.name}]: ${d.map((x) => x.toExponential(1)).join(", ")}`);
  texts.forEach((t, i) => assert.ok(d[i]! <= 1e-6, `${label}: "${t.slice(0, 60)}": 1 - cos = ${d[i]!.toExponential(2)}`));
}

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
      const ref: Float32Array[] = [];
      for (const t of texts) ref.push(Float32Array.from((await ctx.getEmbeddingFor(t)).vector));
      await assertTextParity(`text pipeline ${o.arch ?? "bert"} Q8_0`, model, texts, ref);
    } finally {
      await ctx.dispose();
      await model.close();
      await disposeModel(path);
    }
  }
});

const UGM_2X1024 = {
  vocab: "ugm",
  nLayer: 2,
  nEmbd: 1024,
  nFf: 4096,
  nHead: 16,
  contextLength: 8192,
  normEps: 1e-5,
  weightType: "Q8_0",
} as const satisfies BertFixtureOptions;

test("bert + XLM-R unigram vocab, 2 x 1024 (16 heads, FF 4096) Q8_0: 1 - cos <= 1e-6 at 2/10/100/500 tokens, <s> ... </s>", async () => {
  const path = await bertFixture(UGM_2X1024);
  await assertUgmParity(path, LENGTHS, (await llamaVariant()).numerics, "bert + UGM 2 x 1024 Q8_0");
});

test("text pipeline, bert + XLM-R unigram vocab 2 x 1024 Q8_0: our UGM ids equal llama.cpp's, text -> vector 1 - cos <= 1e-6", async () => {
  const texts = [
    "Hello world!",
    "Café naïve résumé — 東京は日本の首都です。 Москва — столица России. القاهرة هي عاصمة مصر. 🦙 emoji,   spaces.",
    "नमस्ते दुनिया। Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ ①②③ ﬁ ligature, x² and ½ (NFKC).",
    Array.from({ length: 6 }, (_, i) => `Sentence ${i}: embeddings map text to vectors so that similar meanings land close together.`).join(
      " ",
    ),
  ];
  const path = await bertFixture(UGM_2X1024);
  const { numerics } = await llamaVariant();
  const model = await loadModel(path, { threads: 2, numerics: numerics.name });
  try {
    assert.equal(model.info.architecture, "bert");
    assert.equal(model.info.pooling, "mean");
    const ref = await llamaModel(path);
    const { bos, eos, shouldPrependBosToken, shouldAppendEosToken } = ref.tokens;
    assert.deepEqual(
      [bos, eos, shouldPrependBosToken, shouldAppendEosToken],
      [0, 2, true, true],
      "llama.cpp: <s> = 0, </s> = 2, add_bos, add_eos",
    );
    const want = texts.map((t) => [bos!, ...ref.tokenize(t, true), eos!]);
    assert.deepEqual(
      model.prepare(texts).map((p) => Array.from(p.tokens)),
      want,
      "the ids our model feeds its forward differ from llama.cpp's",
    );
    assert.ok(want.at(-1)!.length >= 100, `the long text has ${want.at(-1)!.length} tokens`);
    console.log(`# text pipeline bert + UGM: ${want.map((w) => w.length).join("/")} tokens, ids equal llama.cpp's`);
    await assertTextParity("text pipeline bert + UGM 2 x 1024 Q8_0", model, texts, await llamaEmbed(path, want));
  } finally {
    await model.close();
    await disposeModel(path);
  }
});
