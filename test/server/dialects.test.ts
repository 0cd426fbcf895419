/**
 * The routes of the servers people switch from, with their own clients where one is on npm:
 * Ollama (/api/embed, /api/embeddings, /api/tags, /api/version) through the `ollama` npm client,
 * GET /v1/models/{id} through the `openai` client, and TEI (/embed, /embed_all, /tokenize, /decode,
 * /info) and llama-server's GET /props in their documented JSON shapes (docs/server.md). Vectors
 * must equal the library's model.embed() bit for bit; the error bodies take each dialect's shape.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Ollama } from "ollama";
import OpenAI from "openai";
import type { EmbeddingModel } from "../../src/embed/embedder.js";
import { startServer, type EmbeddingServer } from "../../src/server/http.js";
import { loadModel } from "../../src/node.js";
import { assertSameVector, call, FIXTURE } from "../helpers/server.js";
import { gemmaFixture } from "../helpers/fixtures.js";

let model: EmbeddingModel;
let srv: EmbeddingServer;
let ollama: Ollama;

before(async () => {
  // A 64-token context (LoadOptions.contextLength, llama-server's -c) keeps the truncation cases cheap.
  model = await loadModel(await gemmaFixture(FIXTURE), { contextLength: 64 });
  assert.equal(model.info.contextLength, 64);
  srv = await startServer(model, { port: 0, modelId: "eg-test", modelSize: 12345, modelPath: "/models/eg-test.gguf" });
  ollama = new Ollama({ host: srv.url });
});

after(async () => {
  await srv?.close();
  await model?.close();
});

const TEXTS = ["The red planet", "hello"];

test("ollama client: embed (string and array), dimensions, truncate; vectors are the library's, L2-normalized", async () => {
  const expected = await model.embed(TEXTS);
  const r = await ollama.embed({ model: "embeddinggemma", input: TEXTS, keep_alive: "5m", options: { num_ctx: 2048 } });
  assert.equal(r.model, "embeddinggemma");
  assert.equal(r.embeddings.length, 2);
  r.embeddings.forEach((v, i) => assertSameVector(v, expected[i], `embed ${i}`));
  assert.equal(
    r.prompt_eval_count,
    model.prepare(TEXTS).reduce((s, p) => s + p.tokens.length, 0),
  );
  assert.ok(r.total_duration > 0);

  const one = await ollama.embed({ model: "m", input: "hello" });
  assert.equal(one.embeddings.length, 1);
  assertSameVector(one.embeddings[0], expected[1], "string input");

  const d = await ollama.embed({ model: "m", input: "hello", dimensions: 256 });
  assertSameVector(d.embeddings[0], await model.embed("hello", { dimensions: 256 }), "dimensions");

  // truncate defaults to true in Ollama: a text past the context is cut, not refused.
  const long = "word ".repeat(100);
  const cut = await ollama.embed({ model: "m", input: long });
  assertSameVector(cut.embeddings[0], await model.embed(long, { truncate: true }), "truncated");
  await assert.rejects(ollama.embed({ model: "m", input: long, truncate: false }), (e: Error & { status_code?: number }) => {
    assert.equal(e.status_code, 400);
    assert.match(e.message, /more than the model's context/);
    return true;
  });
  // An empty input gives no embeddings, as Ollama does.
  assert.deepEqual((await ollama.embed({ model: "m", input: [] })).embeddings, []);
});

test("ollama client: the older embeddings route gives the vector unnormalized; tags and version", async () => {
  const r = await ollama.embeddings({ model: "m", prompt: "hello" });
  assertSameVector(r.embedding, await model.embed("hello", { normalize: false }), "legacy");
  const norm = Math.hypot(...r.embedding);
  assert.ok(Math.abs(norm - 1) > 1e-3, `not normalized (norm ${norm})`);

  const tags = await ollama.list();
  assert.equal(tags.models.length, 1);
  const m = tags.models[0];
  assert.equal(m.name, "eg-test");
  assert.equal(m.size, 12345);
  assert.equal(m.details.format, "gguf");
  assert.equal(m.details.family, model.info.architecture);
  assert.equal(m.details.quantization_level, "Q8_0");

  const v = await ollama.version();
  assert.match(v.version, /^\d+\.\d+\.\d+/);
});

test("ollama errors are {error: message} with a string code", async () => {
  const r = await call(srv.url, "/api/embed", { body: { model: "m", input: [1, 2] } });
  assert.equal(r.status, 400);
  assert.equal(typeof r.body.error, "string");
  assert.match(r.body.error, /input\[0\] must be a string/);
  assert.equal(r.body.code, "BAD_INPUT");
  const p = await call(srv.url, "/api/embeddings", { body: { model: "m" } });
  assert.equal(p.status, 400);
  assert.match(p.body.error, /"prompt" is required/);
});

test("openai client: models.retrieve(id) answers for the served id, 404 model_not_found for another", async () => {
  const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: "x", maxRetries: 0 });
  const m = await client.models.retrieve("eg-test");
  assert.equal(m.id, "eg-test");
  assert.equal(m.object, "model");
  assert.equal(m.owned_by, "gguf-embed");
  await assert.rejects(client.models.retrieve("gpt-4"), (e: InstanceType<typeof OpenAI.APIError>) => {
    assert.equal(e.status, 404);
    assert.equal(e.code, "model_not_found");
    return true;
  });
  // An unknown path is 404 with a string code too (OpenAI's shape).
  const nf = await call(srv.url, "/nope");
  assert.equal(nf.status, 404);
  assert.equal(nf.body.error.code, "NOT_FOUND");
});

test("TEI /embed: inputs, normalize, dimensions, prompt_name, truncation_direction", async () => {
  const expected = await model.embed(TEXTS);
  const r = await call(srv.url, "/embed", { body: { inputs: TEXTS } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.length, 2);
  r.body.forEach((v: number[], i: number) => assertSameVector(v, expected[i], `tei ${i}`));

  const single = await call(srv.url, "/embed", { body: { inputs: "hello", normalize: false, dimensions: 128 } });
  assert.equal(single.body.length, 1, "a single input still gets a list");
  assertSameVector(single.body[0], await model.embed("hello", { normalize: false, dimensions: 128 }), "normalize false + dims");

  const q = await call(srv.url, "/embed", { body: { inputs: "hello", prompt_name: "Retrieval-query" } });
  const query = await model.embed("hello", { task: "query" });
  assertSameVector(q.body[0], query, "prompt_name -> task query");
  assert.notDeepEqual(q.body[0], Array.from(expected[1]));
  const doc = await call(srv.url, "/embed", { body: { inputs: "hello", prompt_name: "document" } });
  assertSameVector(doc.body[0], await model.embed("hello", { task: "document" }), "prompt_name document");

  // truncation_direction Left keeps the end of the text; Right (the default) its start.
  const long = "alpha ".repeat(60) + "omega ".repeat(60);
  const left = await call(srv.url, "/embed", { body: { inputs: long, truncate: true, truncation_direction: "Left" } });
  const right = await call(srv.url, "/embed", { body: { inputs: long, truncate: true } });
  assertSameVector(left.body[0], await model.embed(long, { truncate: true, truncationDirection: "left" }), "left");
  assertSameVector(right.body[0], await model.embed(long, { truncate: true }), "right");
  assert.notDeepEqual(left.body[0], right.body[0]);
  const ids = model.prepare([long], { truncate: true, truncationDirection: "left" })[0].tokens;
  const full = model.tokenizer.encode(long, { addSpecial: true });
  assert.equal(ids[0], model.tokenizer.bosId);
  assert.equal(ids[ids.length - 1], model.tokenizer.eosId);
  assert.deepEqual(Array.from(ids.subarray(1, -1)), full.slice(full.length - ids.length + 1, -1), "left keeps the last tokens");

  const bad = await call(srv.url, "/embed", { body: { inputs: "x", prompt_name: "nope" } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error_type, "validation");
  assert.match(bad.body.error, /prompt_name/);
  const tooLong = await call(srv.url, "/embed", { body: { inputs: long } });
  assert.equal(tooLong.status, 400);
  assert.equal(tooLong.body.error_type, "validation");
  assert.equal(tooLong.body.code, "INPUT_TOO_LONG");
});

test("TEI /embed_all gives raw per-token vectors; /tokenize {inputs} and /decode; /info", async () => {
  const text = "hi there";
  const a = await call(srv.url, "/embed_all", { body: { inputs: [text] } });
  assert.equal(a.status, 200, a.text);
  const rows = await model.embed(text, { pooling: "none", normalize: "none" });
  const n = model.prepare([text])[0].tokens.length;
  assert.equal(a.body[0].length, n);
  a.body[0].forEach((row: number[], t: number) => assertSameVector(row, rows.subarray(t * 768, (t + 1) * 768), `row ${t}`));

  const tok = model.tokenizer;
  const t = await call(srv.url, "/tokenize", { body: { inputs: ["hello world"] } });
  assert.equal(t.status, 200, t.text);
  const ids = tok.encode("hello world", { addSpecial: true });
  assert.deepEqual(
    t.body[0].map((x: { id: number }) => x.id),
    ids,
  );
  assert.deepEqual(t.body[0][0], { id: tok.bosId, text: "<bos>", special: true, start: null, stop: null });
  const words = t.body[0].filter((x: { special: boolean }) => !x.special);
  // Every piece found in the text, in order, covering it.
  assert.equal(words.map((x: { start: number; stop: number }) => "hello world".slice(x.start, x.stop)).join(""), "hello world");
  const noSpecial = await call(srv.url, "/tokenize", { body: { inputs: "hello", add_special_tokens: false } });
  assert.deepEqual(
    noSpecial.body[0].map((x: { id: number }) => x.id),
    tok.encode("hello", { addSpecial: false }),
  );
  // llama-server's {content} form still answers on the same path.
  assert.deepEqual((await call(srv.url, "/tokenize", { body: { content: "hello" } })).body, {
    tokens: tok.encode("hello", { addSpecial: false }),
  });

  const d = await call(srv.url, "/decode", { body: { ids } });
  assert.deepEqual(d.body, ["hello world"]);
  const d2 = await call(srv.url, "/decode", { body: { ids: [ids, ids], skip_special_tokens: false } });
  assert.deepEqual(d2.body, [tok.decode(ids, { unparseSpecial: true }), tok.decode(ids, { unparseSpecial: true })]);
  assert.match(d2.body[0], /^<bos>hello world/);
  const bad = await call(srv.url, "/decode", { body: { ids: [1, 1e9] } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error_type, "validation");

  const info = await call(srv.url, "/info");
  assert.equal(info.body.model_id, "eg-test");
  assert.equal(info.body.max_input_length, model.info.contextLength);
  assert.deepEqual(info.body.model_type, { embedding: { pooling: model.info.pooling } });
  assert.equal(typeof info.body.max_batch_tokens, "number");
});

test("llama-server GET /props", async () => {
  const p = await call(srv.url, "/props");
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.default_generation_settings.n_ctx, 64, "the -c context, not n_ctx_train");
  assert.equal(p.body.total_slots, 1);
  assert.equal(p.body.model_alias, "eg-test");
  assert.equal(p.body.model_path, "/models/eg-test.gguf");
  assert.equal(p.body.bos_token, "<bos>");
});

test("while the model loads, /health is 503 loading (as llama-server) and embedding routes wait for nothing", async () => {
  let done!: (m: EmbeddingModel) => void;
  const pending = new Promise<EmbeddingModel>((r) => (done = r));
  const s = await startServer(pending, { port: 0 });
  try {
    const h = await call(s.url, "/health");
    assert.equal(h.status, 503);
    assert.deepEqual(h.body.error, { code: 503, message: "Loading model", type: "unavailable_error" });
    const e = await call(s.url, "/api/embed", { body: { model: "m", input: "x" } });
    assert.equal(e.status, 503);
    assert.equal(e.body.error, "Loading model");
    done(model);
    await s.ready;
    assert.deepEqual((await call(s.url, "/health")).body, { status: "ok" });
    assertSameVector((await call(s.url, "/embed", { body: { inputs: "x" } })).body[0], await model.embed("x"), "after loading");
  } finally {
    await s.close();
  }
});
