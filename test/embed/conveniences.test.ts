/**
 * Library conveniences (issue 14): embed("one text") gives one vector, `signal` aborts queued
 * batches with ABORTED, countTokens counts what embed would see (past the context too),
 * contextLength (llama.cpp's n_ctx) caps inputs, truncationDirection "left" keeps a text's end.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { EmbeddingModel } from "../../src/embed/embedder.js";
import { isEmbedError } from "../../src/errors.js";
import { loadModel } from "../../src/node.js";
import { gemmaFixture } from "../helpers/fixtures.js";
import { FIXTURE } from "../helpers/server.js";

let model: EmbeddingModel;
before(async () => {
  model = await loadModel(await gemmaFixture(FIXTURE), { contextLength: 32 });
});
after(async () => {
  await model?.close();
});

test("embed(string) resolves to one Float32Array equal to embed([string])[0]; arrays still give arrays", async () => {
  const one = await model.embed("hello");
  assert.ok(one instanceof Float32Array);
  const [batch] = await model.embed(["hello"]);
  assert.deepEqual(one, batch);
  const many = await model.embed(["a", "b"]);
  assert.equal(many.length, 2);
  await assert.rejects(model.embed(42 as unknown as string), (e) => isEmbedError(e, "BAD_INPUT"));
});

test("an aborted signal rejects with ABORTED; aborting between batches drops the rest", async () => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(model.embed(["x"], { signal: ac.signal }), (e) => isEmbedError(e, "ABORTED"));

  // The first batch runs inside the call; the abort lands before the second one starts.
  const live = new AbortController();
  const texts = Array.from({ length: 6 }, (_, i) => `text number ${i}`);
  const p = model.embed(texts, { signal: live.signal, maxBatchTokens: 8 });
  live.abort(new Error("user cancelled"));
  await assert.rejects(p, (e) => isEmbedError(e, "ABORTED") && /aborted/.test((e as Error).message));

  // An untouched signal changes nothing.
  const ok = await model.embed(texts, { signal: new AbortController().signal, maxBatchTokens: 8 });
  assert.deepEqual(ok, await model.embed(texts, { maxBatchTokens: 8 }));
  await assert.rejects(model.embed(["x"], { signal: "no" as unknown as AbortSignal }), (e) => isEmbedError(e, "BAD_OPTION"));
});

test("countTokens counts BOS, EOS and the task prompt, and counts texts past the context", async () => {
  assert.equal(model.countTokens("hello world"), model.prepare(["hello world"])[0].tokens.length);
  assert.equal(model.countTokens("hello", { task: "query" }), model.prepare(["hello"], { task: "query" })[0].tokens.length);
  assert.ok(model.countTokens("hello", { task: "query" }) > model.countTokens("hello"));
  const long = "word ".repeat(100);
  assert.equal(model.countTokens(long), model.tokenizer.encode(long, { addSpecial: true }).length);
  assert.ok(model.countTokens(long) > 32);
});

test("contextLength caps inputs (INPUT_TOO_LONG names it); truncation keeps BOS/EOS, right or left", async () => {
  assert.equal(model.info.contextLength, 32);
  const long = "one two three four five six seven eight nine ten ".repeat(5);
  assert.throws(
    () => model.prepare([long]),
    (e) => isEmbedError(e, "INPUT_TOO_LONG") && /context of 32/.test((e as Error).message),
  );
  const full = model.tokenizer.encode(long, { addSpecial: true });
  const right = model.prepare([long], { truncate: true })[0].tokens;
  const left = model.prepare([long], { truncate: true, truncationDirection: "left" })[0].tokens;
  const { bosId, eosId } = model.tokenizer;
  assert.deepEqual(Array.from(right), [...full.slice(0, 31), eosId]);
  assert.deepEqual(Array.from(left), [bosId, ...full.slice(full.length - 31)]);
  assert.throws(
    () => model.prepare([long], { truncate: true, truncationDirection: "up" as "left" }),
    (e) => isEmbedError(e, "BAD_OPTION"),
  );
});
