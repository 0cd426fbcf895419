/**
 * The user-facing semantics of EmbeddingModel.embed: normalization modes, Matryoshka dimensions,
 * pooling modes, task prompts, batching, long inputs and non-finite outputs. Expected values are
 * computed here from the spec's formulas (gemma-embedding.md §7, §9; llama-server-embeddings.md),
 * not by calling the code under test.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { loadModel, type EmbeddingModel } from "../../src/node.js";
import { applyPrompt } from "../../src/embed/prompts.js";
import type { EmbedError } from "../../src/errors.js";
import { gemmaFixture } from "../helpers/fixtures.js";

let path = "";
let model: EmbeddingModel; // with dense_2/dense_3
let plainPath = "";
let plain: EmbeddingModel; // without: pooled hidden states come out directly
before(async () => {
  path = await gemmaFixture({ nLayer: 6, weightType: "Q8_0", dense: true });
  model = await loadModel(path);
  plainPath = await gemmaFixture({ nLayer: 6, weightType: "Q8_0" });
  plain = await loadModel(plainPath);
});
after(async () => {
  await model?.close();
  await plain?.close();
});

const TEXTS = ["Hello world", "The quick brown fox", "東京は日本の首都です。"];
const norm2 = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0));

test("task prompts are the model card's strings, and raw text stays raw", () => {
  assert.equal(applyPrompt("gemma-embedding", "x"), "x");
  assert.equal(applyPrompt("gemma-embedding", "x", "query"), "task: search result | query: x");
  assert.equal(applyPrompt("gemma-embedding", "x", "document"), "title: none | text: x");
  assert.equal(applyPrompt("gemma-embedding", "x", "document", "My Title"), "title: My Title | text: x");
  assert.equal(applyPrompt("gemma-embedding", "x", "qa"), "task: question answering | query: x");
  assert.equal(applyPrompt("gemma-embedding", "x", "fact-check"), "task: fact checking | query: x");
  assert.equal(applyPrompt("gemma-embedding", "x", "classification"), "task: classification | query: x");
  assert.equal(applyPrompt("gemma-embedding", "x", "clustering"), "task: clustering | query: x");
  assert.equal(applyPrompt("gemma-embedding", "x", "similarity"), "task: sentence similarity | query: x");
  assert.equal(applyPrompt("gemma-embedding", "x", "code"), "task: code retrieval | query: x");
  assert.throws(
    () => applyPrompt("gemma-embedding", "x", "bogus" as never),
    (e: EmbedError) => e.code === "BAD_OPTION",
  );
  assert.throws(
    () => applyPrompt("gemma-embedding", "x", "query", "t"),
    (e: EmbedError) => e.code === "BAD_OPTION",
  );
});

test("a task prompt changes the tokens the model sees exactly as prefixing the text does", async () => {
  const [withTask] = model.prepare(["What is RAG?"], { task: "query" });
  const [prefixed] = model.prepare(["task: search result | query: What is RAG?"]);
  assert.deepEqual(Array.from(withTask.tokens), Array.from(prefixed.tokens));
  // spec tokenizer-spm.md §7: BOS + these ids + EOS
  assert.deepEqual(Array.from(prefixed.tokens), [2, 8071, 236787, 3927, 1354, 1109, 7609, 236787, 2900, 563, 630, 2807, 236881, 1]);
});

test("normalization modes follow common_embd_normalize's formulas", async () => {
  const [raw] = await model.embed([TEXTS[0]], { normalize: "none" });
  const check = async (mode: "l2" | "maxabs" | "taxicab" | "p3", scale: number) => {
    const [v] = await model.embed([TEXTS[0]], { normalize: mode });
    for (let i = 0; i < v.length; i++)
      assert.ok(Math.abs(v[i] - raw[i] * scale) <= 1e-6 * Math.abs(raw[i] * scale) + 1e-12, `${mode} component ${i}`);
  };
  const abs = Array.from(raw, Math.abs);
  await check("l2", 1 / norm2(raw));
  await check("maxabs", 32760 / Math.max(...abs));
  await check("taxicab", 1 / abs.reduce((a, x) => a + x, 0));
  await check("p3", 1 / Math.cbrt(abs.reduce((a, x) => a + x ** 3, 0)));
  const [dflt] = await model.embed([TEXTS[0]]);
  assert.ok(Math.abs(norm2(dflt) - 1) < 1e-6, "default is L2");
});

test("Matryoshka dimensions: first N components of the raw vector, re-normalized", async () => {
  const [raw] = await model.embed([TEXTS[1]], { normalize: "none" });
  for (const dims of [512, 256, 128]) {
    const [v] = await model.embed([TEXTS[1]], { dimensions: dims });
    assert.equal(v.length, dims);
    const n = norm2(raw.subarray(0, dims));
    for (let i = 0; i < dims; i++) assert.ok(Math.abs(v[i] - raw[i] / n) < 1e-6, `dims ${dims} component ${i}`);
  }
  const warnings: string[] = [];
  const [odd] = await model.embed([TEXTS[1]], { dimensions: 100, onWarning: (m) => warnings.push(m) });
  assert.equal(odd.length, 100);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /not a trained Matryoshka size/);
  await assert.rejects(model.embed([TEXTS[1]], { dimensions: 769 }), (e: EmbedError) => e.code === "BAD_OPTION");
});

test("pooling modes: cls is the first token, last the last, mean their average, none every token", async () => {
  // On a model without dense layers, so pooled vectors are plain functions of the token rows.
  // (With dense, mean-then-dense differs from dense-then-mean: dense quantizes its input.)
  const [perToken] = await plain.embed([TEXTS[0]], { pooling: "none", normalize: "none" });
  const [prep] = plain.prepare([TEXTS[0]]);
  const T = prep.tokens.length,
    d = plain.info.nEmbdOut;
  assert.equal(perToken.length, T * d);
  const [cls] = await plain.embed([TEXTS[0]], { pooling: "cls", normalize: "none" });
  const [last] = await plain.embed([TEXTS[0]], { pooling: "last", normalize: "none" });
  const [mean] = await plain.embed([TEXTS[0]], { pooling: "mean", normalize: "none" });
  for (let j = 0; j < d; j++) {
    assert.equal(cls[j], perToken[j], `cls ${j}`);
    assert.equal(last[j], perToken[(T - 1) * d + j], `last ${j}`);
    let s = 0,
      sa = 0;
    for (let t = 0; t < T; t++) {
      s += perToken[t * d + j];
      sa += Math.abs(perToken[t * d + j]);
    }
    // f32 accumulation: error bounded by a few ulps of the summed magnitudes
    assert.ok(Math.abs(mean[j] - s / T) <= 4e-7 * (sa / T), `mean ${j}: ${mean[j]} vs ${s / T}`);
  }
});

test("embedding many texts in one call equals embedding them one at a time", async () => {
  const texts = Array.from({ length: 6 }, (_, i) => `${TEXTS[i % 3]} #${i} ${"word ".repeat(i)}`);
  const together = await model.embed(texts, { maxBatchTokens: 4096 }); // one forward pass
  const split = await model.embed(texts, { maxBatchTokens: 20 }); // several passes; inputs longer than 20 run alone
  for (let i = 0; i < texts.length; i++) {
    const [alone] = await model.embed([texts[i]]);
    for (const [name, got] of [
      ["together", together[i]],
      ["split", split[i]],
    ] as const) {
      let maxRel = 0;
      for (let j = 0; j < alone.length; j++) maxRel = Math.max(maxRel, Math.abs(alone[j] - got[j]) / (Math.abs(alone[j]) || 1));
      assert.ok(maxRel <= 1e-7, `text ${i} (${name}): max rel diff ${maxRel}`);
    }
  }
});

test("inputs longer than the context: INPUT_TOO_LONG naming the input, or truncate keeping BOS and EOS", async () => {
  const long = "word ".repeat(2100);
  await assert.rejects(
    model.embed(["short", long]),
    (e: EmbedError) =>
      e.code === "INPUT_TOO_LONG" &&
      e.detail.index === 1 &&
      /input 1 has at least \d+ tokens, more than the model's context of 2048/.test(e.message),
  );
  const [p] = model.prepare([long], { truncate: true });
  assert.equal(p.tokens.length, model.info.contextLength);
  assert.equal(p.tokens[0], model.tokenizer.bosId);
  assert.equal(p.tokens[p.tokens.length - 1], model.tokenizer.eosId);
});

test("token-id inputs are used verbatim and checked against the vocabulary", async () => {
  const [a] = await model.embed([[2, 9259, 1902, 1]]);
  const [b] = await model.embed(["Hello world"]);
  assert.deepEqual(Array.from(a), Array.from(b));
  await assert.rejects(model.embed([[2, 262144, 1]]), (e: EmbedError) => e.code === "TOKEN_OUT_OF_RANGE" && e.detail.position === 1);
});

test("a model whose weights produce non-finite values raises NON_FINITE_OUTPUT naming the input", async () => {
  // Norm weights are checked at load (NON_FINITE_WEIGHT); a matmul weight is not. An Inf scale in the
  // first Q8_0 block of one token_embd row puts Inf into the residual stream of the inputs using it.
  const bytes = new Uint8Array(await readFile(plainPath));
  const t = plain.file.tensorByName.get("token_embd.weight")!;
  assert.equal(t.type, 8, "token_embd is Q8_0 (f16 scale, then 32 int8 per block)");
  const onlyFirst = plain.tokenizer
    .encode("fine", { addSpecial: false })
    .find((id) => !plain.tokenizer.encode("ok hello", { addSpecial: false }).includes(id))!;
  const rowBytes = (t.ne[0] / 32) * 34;
  new DataView(bytes.buffer, bytes.byteOffset + t.byteOffset + onlyFirst * rowBytes, 2).setUint16(0, 0x7c00, true);
  const bad = await loadModel(bytes);
  try {
    await assert.rejects(bad.embed(["ok hello", "fine"]), (e: EmbedError) => e.code === "NON_FINITE_OUTPUT" && e.detail.index === 1);
    assert.equal((await bad.embed(["ok hello"]))[0].every(Number.isFinite), true, "other inputs are unaffected");
  } finally {
    await bad.close();
  }
});
