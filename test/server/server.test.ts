/**
 * `gguf-embed serve` routes against the 6-layer synthetic EmbeddingGemma: every embedding route's
 * vectors must equal the library's model.embed() bit for bit (float and base64, through the official
 * openai client too), including when requests arrive together and share forward passes.
 * Error shapes, limits and batching mechanics: server-errors.test.ts; the CLI and SIGTERM:
 * cli.test.ts.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import type { EmbeddingModel } from "../../src/embed/embedder.js";
import { startServer, type EmbeddingServer } from "../../src/server/http.js";
import { assertSameVector, call, fixtureModel, fromBase64F32, metric } from "../helpers/server.js";

const KEY = "test-key-123";
let model: EmbeddingModel;
let srv: EmbeddingServer;
let client: OpenAI;
const auth = { authorization: `Bearer ${KEY}` };

before(async () => {
  ({ model } = await fixtureModel());
  srv = await startServer(model, { port: 0, apiKey: KEY, modelId: "eg-test" });
  client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: KEY, maxRetries: 0 });
});

after(async () => {
  await srv?.close();
  await model?.close();
});

const TEXTS = ["The red planet", "hello"];

test("openai client: float, base64 and default encodings equal model.embed, with usage and model echoed", async () => {
  const expected = await model.embed(TEXTS);
  const nTokens = model.prepare(TEXTS).reduce((s, p) => s + p.tokens.length, 0);

  const f = await client.embeddings.create({ model: "whatever-model", input: TEXTS, encoding_format: "float" });
  assert.equal(f.object, "list");
  assert.equal(f.model, "whatever-model");
  assert.deepEqual(f.usage, { prompt_tokens: nTokens, total_tokens: nTokens });
  assert.deepEqual(
    f.data.map((d) => [d.object, d.index]),
    [
      ["embedding", 0],
      ["embedding", 1],
    ],
  );
  f.data.forEach((d, i) => assertSameVector(d.embedding, expected[i], `float ${i}`));

  // Explicit base64: the client hands the string through; it must be the f32 bytes, little-endian.
  const b = await client.embeddings.create({ model: "m", input: TEXTS, encoding_format: "base64" });
  b.data.forEach((d, i) => {
    assert.equal(typeof d.embedding, "string");
    assert.equal((d.embedding as unknown as string).length, Math.ceil((768 * 4) / 3) * 4);
    assertSameVector(fromBase64F32(d.embedding as unknown as string), expected[i], `base64 ${i}`);
  });

  // No encoding_format: the client asks for base64 and decodes it itself.
  const d = await client.embeddings.create({ model: "m", input: TEXTS[1] });
  assert.equal(d.data.length, 1);
  assertSameVector(d.data[0].embedding, expected[1], "client-decoded");
});

test("openai client: dimensions and the task extension select the same vector as the library", async () => {
  const opts = { task: "query", dimensions: 256 } as const;
  const [expected] = await model.embed(["hello"], opts);
  const [plain] = await model.embed(["hello"], { dimensions: 256 });
  assert.notDeepEqual(Array.from(expected), Array.from(plain), "the task prompt must change the vector for this check to mean anything");
  const r = await client.embeddings.create({
    model: "m",
    input: "hello",
    encoding_format: "float",
    ...opts,
  } as OpenAI.EmbeddingCreateParams);
  assert.equal(r.data[0].embedding.length, 256);
  assertSameVector(r.data[0].embedding, expected, "task+dims");
  assert.equal(r.usage.prompt_tokens, model.prepare(["hello"], opts)[0].tokens.length);
});

test("token-id inputs are used verbatim (number[] and number[][])", async () => {
  const ids = [
    [2, 1234, 1],
    [2, 99, 100, 1],
  ];
  const expected = await model.embed(ids);
  const many = await call(srv.url, "/v1/embeddings", { body: { input: ids }, headers: auth });
  assert.equal(many.status, 200, many.text);
  assert.equal(many.body.usage.prompt_tokens, 7);
  many.body.data.forEach((d: { embedding: number[] }, i: number) => assertSameVector(d.embedding, expected[i], `ids ${i}`));
  const one = await call(srv.url, "/v1/embeddings", { body: { input: ids[0] }, headers: auth });
  assert.equal(one.body.data.length, 1);
  assertSameVector(one.body.data[0].embedding, expected[0], "flat ids");
});

test("llama-server /embedding and /embeddings: 2-D rows, embd_normalize, pooling none per token, content on /v1", async () => {
  const text = "hi there";
  const [l2] = await model.embed([text]);
  const [raw] = await model.embed([text], { normalize: "none" });
  const [taxi] = await model.embed([text], { normalize: "taxicab" });
  const [tokens] = await model.embed([text], { pooling: "none", normalize: "none" });
  const nTok = model.prepare([text])[0].tokens.length;

  const e = await call(srv.url, "/embedding", { body: { content: text }, headers: auth });
  assert.equal(e.status, 200, e.text);
  assert.equal(e.body.length, 1);
  assert.equal(e.body[0].index, 0);
  assert.equal(e.body[0].embedding.length, 1, "pooled output is one row");
  assertSameVector(e.body[0].embedding[0], l2, "default l2");

  const n = await call(srv.url, "/embeddings", { body: { input: [text, text], embd_normalize: -1 }, headers: auth });
  assert.deepEqual(
    n.body.map((x: { index: number }) => x.index),
    [0, 1],
  );
  assertSameVector(n.body[1].embedding[0], raw, "embd_normalize -1");
  const t = await call(srv.url, "/embeddings", { body: { content: text, embd_normalize: 1 }, headers: auth });
  assertSameVector(t.body[0].embedding[0], taxi, "embd_normalize 1");

  // pooling none: one raw row per token, BOS and EOS included, even with embd_normalize 2.
  const p = await call(srv.url, "/embeddings", { body: { content: text, pooling: "none", embd_normalize: 2 }, headers: auth });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body[0].embedding.length, nTok);
  p.body[0].embedding.forEach((row: number[], r: number) =>
    assertSameVector(row, tokens.subarray(r * 768, (r + 1) * 768), `token row ${r}`),
  );

  // content (no input) on the OAI route answers in the llama-server format, as llama-server does.
  const c = await call(srv.url, "/v1/embeddings", { body: { content: text }, headers: auth });
  assert.ok(Array.isArray(c.body), c.text);
  assertSameVector(c.body[0].embedding[0], l2, "content on /v1");
});

test("/tokenize and /detokenize follow llama-server's fields and defaults", async () => {
  const tok = model.tokenizer;
  const text = "hi <start_of_turn> \u{F0000}";
  const plain = await call(srv.url, "/tokenize", { body: { content: text }, headers: auth });
  assert.deepEqual(plain.body, { tokens: tok.encode(text, { addSpecial: false, parseSpecial: true }) });
  assert.ok(plain.body.tokens.includes(105), "<start_of_turn> parsed as one special token by default");
  const opts = await call(srv.url, "/tokenize", { body: { content: text, add_special: true, parse_special: false }, headers: auth });
  assert.deepEqual(opts.body.tokens, tok.encode(text, { addSpecial: true, parseSpecial: false }));
  assert.equal(opts.body.tokens[0], tok.bosId);

  const pieces = await call(srv.url, "/tokenize", { body: { content: text, with_pieces: true }, headers: auth });
  const list = pieces.body.tokens as { id: number; piece: string | number[] }[];
  assert.deepEqual(
    list.map((p) => p.id),
    plain.body.tokens,
  );
  assert.deepEqual(list.find((p) => p.id === 105)?.piece, "<start_of_turn>");
  // U+F0000 has no token: byte fallback, and a lone byte is not UTF-8, so it comes as [byte].
  assert.deepEqual(
    list.slice(-4).map((p) => p.piece),
    [[0xf3], [0xb0], [0x80], [0x80]],
  );

  const de = await call(srv.url, "/detokenize", { body: { tokens: plain.body.tokens }, headers: auth });
  assert.deepEqual(de.body, { content: text });
  const bos = await call(srv.url, "/detokenize", {
    body: { tokens: [tok.bosId, ...tok.encode("ok", { addSpecial: false })] },
    headers: auth,
  });
  assert.equal(bos.body.content, "<bos>ok", "special tokens are rendered, as common_token_to_piece does");
});

test("/health and /v1/models need no key; /metrics does and counts requests, tokens and batches", async () => {
  assert.deepEqual((await call(srv.url, "/health")).body, { status: "ok" });
  assert.deepEqual((await call(srv.url, "/v1/health")).body, { status: "ok" });
  const m = await call(srv.url, "/v1/models");
  assert.equal(m.status, 200);
  assert.equal(m.body.object, "list");
  assert.equal(m.body.data[0].id, "eg-test");
  assert.equal(m.body.data[0].object, "model");
  assert.equal(m.body.data[0].meta.n_embd_out, 768);
  assert.equal(m.body.data[0].meta.n_ctx_train, 2048);
  assert.equal((await client.models.list()).data[0].id, "eg-test");

  assert.equal((await call(srv.url, "/metrics")).status, 401);
  const before = await call(srv.url, "/metrics", { headers: auth });
  assert.match(before.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const ok = `gguf_embed_requests_total{route="/v1/embeddings",method="POST",status="200"}`;
  const r = await client.embeddings.create({ model: "m", input: ["metrics one", "two"], encoding_format: "float" });
  await call(srv.url, "/nope", { headers: auth });
  const afterText = (await call(srv.url, "/metrics", { headers: auth })).text;
  const d = (s: string) => metric(afterText, s) - metric(before.text, s);
  assert.equal(d(ok), 1);
  assert.equal(d(`gguf_embed_requests_total{route="other",method="GET",status="404"}`), 1);
  assert.equal(d("gguf_embed_tokens_total"), r.usage.prompt_tokens);
  assert.equal(d("gguf_embed_inputs_total"), 2);
  assert.equal(d("gguf_embed_batches_total"), 1);
  assert.equal(d(`gguf_embed_request_duration_seconds_count{route="/v1/embeddings"}`), 1);
  assert.equal(
    metric(afterText, `gguf_embed_request_duration_seconds_bucket{route="/v1/embeddings",le="+Inf"}`),
    metric(afterText, `gguf_embed_request_duration_seconds_count{route="/v1/embeddings"}`),
  );
  assert.equal(metric(afterText, "gguf_embed_queue_depth"), 0);
  assert.equal(metric(afterText, "gguf_embed_requests_in_flight"), 1, "only the scrape itself");
});

test("concurrent requests (mixed routes and options) each get their own single-request vectors", async () => {
  const jobs = [
    { path: "/v1/embeddings", body: { input: "alpha", encoding_format: "float" }, opts: {} },
    { path: "/v1/embeddings", body: { input: ["beta gamma", "delta"], encoding_format: "base64" }, opts: {} },
    { path: "/embeddings", body: { content: "epsilon", embd_normalize: -1 }, opts: { normalize: "none" as const } },
    { path: "/v1/embeddings", body: { input: "zeta", dimensions: 128, encoding_format: "float" }, opts: { dimensions: 128 } },
    { path: "/v1/embeddings", body: { input: [[2, 5, 7, 1]], encoding_format: "float" }, opts: {} },
  ];
  const expected: Float32Array[][] = [];
  for (const j of jobs) {
    const b = j.body as { input?: string | string[] | number[][]; content?: string };
    const inputs = b.content !== undefined ? [b.content] : typeof b.input === "string" ? [b.input] : b.input!;
    expected.push(await model.embed(inputs, j.opts));
  }
  const batchesBefore = srv.metrics.batches;
  const results = await Promise.all(jobs.map((j) => call(srv.url, j.path, { body: j.body, headers: auth })));
  results.forEach((r, k) => {
    assert.equal(r.status, 200, r.text);
    const vecs =
      jobs[k].path === "/embeddings"
        ? r.body.map((x: { embedding: number[][] }) => x.embedding[0])
        : r.body.data.map((x: { embedding: number[] | string }) =>
            typeof x.embedding === "string" ? fromBase64F32(x.embedding) : x.embedding,
          );
    assert.equal(vecs.length, expected[k].length);
    vecs.forEach((v: number[], i: number) => assertSameVector(v, expected[k][i], `request ${k} input ${i}`));
  });
  console.log(`# ${jobs.length} concurrent requests took ${srv.metrics.batches - batchesBefore} forward calls`);
});

test("server defaults: --default-task and --default-dimensions apply when omitted; null turns them off; CORS", async () => {
  const s = await startServer(model, { port: 0, defaultTask: "query", defaultDimensions: 128, cors: "http://a.example" });
  try {
    const [withDefaults] = await model.embed(["mars"], { task: "query", dimensions: 128 });
    const [without] = await model.embed(["mars"]);
    const r1 = await call(s.url, "/v1/embeddings", { body: { input: "mars" } });
    assertSameVector(r1.body.data[0].embedding, withDefaults, "defaults applied");
    assert.equal(r1.body.usage.prompt_tokens, model.prepare(["mars"], { task: "query" })[0].tokens.length);
    const r2 = await call(s.url, "/embeddings", { body: { content: "mars", task: null, dimensions: null } });
    assertSameVector(r2.body[0].embedding[0], without, "defaults off");

    const pre = await fetch(`${s.url}/v1/embeddings`, {
      method: "OPTIONS",
      headers: {
        origin: "http://a.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "http://a.example");
    assert.match(pre.headers.get("access-control-allow-methods") ?? "", /POST/);
    assert.match(pre.headers.get("access-control-allow-headers") ?? "", /authorization/);
    assert.equal(
      (await call(s.url, "/health", { headers: { origin: "http://a.example" } })).headers.get("access-control-allow-origin"),
      "http://a.example",
    );
    assert.equal(
      (await call(s.url, "/health", { headers: { origin: "http://evil.example" } })).headers.get("access-control-allow-origin"),
      null,
    );
    assert.equal(
      (await call(srv.url, "/health", { headers: { origin: "http://a.example" } })).headers.get("access-control-allow-origin"),
      null,
      "no --cors, no CORS headers",
    );
  } finally {
    await s.close();
  }
});
