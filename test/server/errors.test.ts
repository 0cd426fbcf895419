/**
 * The server's refusals and limits, each with its status and error body (OpenAI shape on /v1/*,
 * llama-server shape elsewhere), plus queueing behind a held forward pass: coalescing of waiting
 * requests and 503 on a full queue. The model's forward calls are paced (helpers/server.ts), so
 * these checks do not depend on timing.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import OpenAI from "openai";
import type { EmbeddingModel } from "../../src/embed/embedder.js";
import { EmbedError } from "../../src/errors.js";
import { startServer, type EmbeddingServer } from "../../src/server/http.js";
import { assertSameVector, call, fixtureModel, pacedModel, rawPost, until, type Res } from "../helpers/server.js";

const KEY = "sekret";
const auth = { authorization: `Bearer ${KEY}` };
let model: EmbeddingModel;
let paced: ReturnType<typeof pacedModel>;
let srv: EmbeddingServer;

before(async () => {
  ({ model } = await fixtureModel());
  paced = pacedModel(model);
  srv = await startServer(paced.served, { port: 0, apiKey: KEY, bodyLimit: 16384, maxQueue: 2, bodyTimeoutMs: 300, headersTimeoutMs: 300 });
});

after(async () => {
  await srv?.close();
  await model?.close();
});

/** OpenAI error shape on /v1/*: string code and the offending field in `param`. */
function assertOpenAIError(r: Res, status: number, code: string, param: string | null, message?: RegExp): void {
  assert.equal(r.status, status, r.text);
  assert.deepEqual(Object.keys(r.body.error).sort(), ["code", "message", "param", "type"]);
  assert.equal(r.body.error.code, code);
  assert.equal(r.body.error.param, param);
  assert.equal(
    r.body.error.type,
    status === 401
      ? "authentication_error"
      : status === 503
        ? "unavailable_error"
        : status >= 500
          ? "server_error"
          : status === 404
            ? "not_found_error"
            : "invalid_request_error",
  );
  if (message) assert.match(r.body.error.message, message);
}

const v1 = (body: unknown, headers: Record<string, string> = auth) => call(srv.url, "/v1/embeddings", { body, headers });

test("400: invalid JSON and non-object bodies, in both error shapes", async () => {
  assertOpenAIError(
    await call(srv.url, "/v1/embeddings", { raw: '{"input": "a",', headers: auth }),
    400,
    "INVALID_JSON",
    null,
    /not valid JSON/,
  );
  assertOpenAIError(await call(srv.url, "/v1/embeddings", { raw: "", headers: auth }), 400, "INVALID_JSON", null, /empty/);
  assertOpenAIError(
    await call(srv.url, "/v1/embeddings", { raw: '["a"]', headers: auth }),
    400,
    "INVALID_JSON",
    null,
    /must be a JSON object/,
  );
  const llama = await call(srv.url, "/embeddings", { raw: "{nope", headers: auth });
  assert.equal(llama.status, 400);
  assert.deepEqual(llama.body, { error: { code: 400, message: llama.body.error.message, type: "invalid_request_error" } });
  assert.match(llama.body.error.message, /not valid JSON/);
});

test("400: wrong types and values name the field (and the input index)", async () => {
  const cases: [unknown, string, RegExp][] = [
    [{}, "input", /"input" or "content" must be provided/],
    [{ input: 5 }, "input", /must be a string, an array of strings/],
    [{ input: [] }, "input", /must not be empty/],
    [{ input: ["a", 1] }, "input[1]", /mixes types/],
    [{ input: ["a", null] }, "input[1]", /got null/],
    [{ input: [1, 2.5] }, "input[1]", /integer token id/],
    [
      {
        input: [
          [1, 2],
          [3, "x"],
        ],
      },
      "input[1][1]",
      /integer token id/,
    ],
    [{ input: "a", encoding_format: "hex" }, "encoding_format", /"float" or "base64"/],
    [{ input: "a", dimensions: 0 }, "dimensions", /from 1 to 768/],
    [{ input: "a", dimensions: 769 }, "dimensions", /from 1 to 768/],
    [{ input: "a", dimensions: "64" }, "dimensions", /from 1 to 768/],
    [{ input: "a", task: "poetry" }, "task", /must be one of query, document/],
    [{ input: "a", truncate: "yes" }, "truncate", /boolean/],
    [{ input: "a", model: 7 }, "model", /string/],
    [{ input: "a", embd_normalize: 1.5 }, "embd_normalize", /integer >= -1/],
    [{ input: "a", title: "T" }, "title", /only applies to task "document"/],
    [{ input: "a", pooling: "none" }, "pooling", /not OAI compatible/],
  ];
  for (const [body, param, message] of cases) {
    const r = await v1(body);
    assert.equal(r.body?.error?.param, param, `${JSON.stringify(body)} -> ${r.text}`);
    assertOpenAIError(r, 400, r.body.error.code, param, message);
    assert.ok(["BAD_INPUT", "BAD_OPTION"].includes(r.body.error.code), r.text);
  }
  const fmt = await call(srv.url, "/embeddings", { body: { content: "a", encoding_format: "f16" }, headers: auth });
  assert.deepEqual([fmt.status, fmt.body.error.param], [400, "encoding_format"]);
  const tok = await call(srv.url, "/tokenize", { body: { content: 3 }, headers: auth });
  assert.deepEqual([tok.status, tok.body.error.param], [400, "content"]);
  const flag = await call(srv.url, "/tokenize", { body: { content: "a", add_special: "yes" }, headers: auth });
  assert.deepEqual([flag.status, flag.body.error.param], [400, "add_special"]);
  const de = await call(srv.url, "/detokenize", { body: { tokens: [1, "2"] }, headers: auth });
  assert.deepEqual([de.status, de.body.error.code, de.body.error.param], [400, 400, "tokens[1]"]);
  assert.equal(paced.calls.length, 0, "no request reached the model");
});

test("the openai client surfaces status, code and param of a refused request", async () => {
  const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: KEY, maxRetries: 0 });
  await assert.rejects(client.embeddings.create({ model: "m", input: "a", dimensions: 4096 }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.BadRequestError);
    assert.equal(e.status, 400);
    assert.equal(e.param, "dimensions");
    assert.equal(e.code, "BAD_INPUT");
    return true;
  });
  const bad = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: "wrong", maxRetries: 0 });
  await assert.rejects(bad.embeddings.create({ model: "m", input: "a" }), OpenAI.AuthenticationError);
});

test("400: token ids outside the vocabulary and inputs over the context, with index and counts", async () => {
  const oov = await v1({
    input: [
      [2, 5, 1],
      [2, 262144, 1],
    ],
  });
  assertOpenAIError(oov, 400, "TOKEN_OUT_OF_RANGE", "input[1]", /input 1: token 1 is 262144, outside the vocabulary \[0, 262144\)/);
  const neg = await call(srv.url, "/embeddings", { body: { input: [-1] }, headers: auth });
  assert.deepEqual([neg.status, neg.body.error.code, neg.body.error.param], [400, 400, "input[0]"]);
  const de = await call(srv.url, "/detokenize", { body: { tokens: [2, 999999] }, headers: auth });
  assert.deepEqual([de.status, de.body.error.param], [400, "tokens[1]"]);

  const long = "word ".repeat(2100);
  const nTok = model.tokenizer.encode(long).length;
  assert.ok(nTok > 2048);
  const r = await v1({ input: ["short", long] });
  // Tokenizing stops once the text is known to be too long, so the count is a lower bound.
  assertOpenAIError(r, 400, "INPUT_TOO_LONG", "input[1]", /input 1 has at least \d+ tokens, more than the model's context of 2048/);
  const counted = Number(/at least (\d+)/.exec(r.body.error.message)![1]);
  assert.ok(counted > 2048 && counted <= nTok, `${counted} of ${nTok}`);
  const ids = await call(srv.url, "/embedding", { body: { content: new Array(2049).fill(5) }, headers: auth });
  assert.deepEqual([ids.status, ids.body.error.param], [400, "content[0]"]);
  assert.match(ids.body.error.message, /2049 tokens/);
  assert.equal(paced.calls.length, 0, "rejected before any forward pass");
});

test("401 without or with a wrong key (Bearer or X-Api-Key); /health stays public", async () => {
  assertOpenAIError(await v1({ input: "a" }, {}), 401, "UNAUTHORIZED", null, /missing API key/);
  const wrong = await v1({ input: "a" }, { authorization: "Bearer sekreT" });
  assertOpenAIError(wrong, 401, "UNAUTHORIZED", null, /invalid API key/);
  assert.match(wrong.headers.get("www-authenticate") ?? "", /^Bearer/);
  assert.equal((await v1({ input: "a" }, { authorization: KEY })).status, 401, "the Bearer scheme is required in Authorization");
  assert.equal((await call(srv.url, "/tokenize", { body: { content: "a" }, headers: { "x-api-key": "nope" } })).status, 401);
  assert.equal((await call(srv.url, "/tokenize", { body: { content: "a" }, headers: { "x-api-key": KEY } })).status, 200);
  assert.equal((await call(srv.url, "/tokenize", { body: { content: "a" }, headers: { authorization: `bearer ${KEY}` } })).status, 200);
  assert.equal((await call(srv.url, "/health")).status, 200);
  assert.equal((await call(srv.url, "/embeddings", { body: { content: "a" } })).body.error.type, "authentication_error");
});

test("404 unknown route, 405 wrong method (with Allow), 415 wrong content type", async () => {
  // An unknown path has no dialect: OpenAI's shape, with a string code like every other error (issue 14).
  assertOpenAIError(await call(srv.url, "/v2/embeddings", { headers: auth }), 404, "NOT_FOUND", null, /no route GET \/v2\/embeddings/);
  assertOpenAIError(await call(srv.url, "/v1/nothing", { headers: auth }), 404, "NOT_FOUND", null);
  const m = await call(srv.url, "/v1/embeddings", { headers: auth });
  assertOpenAIError(m, 405, "METHOD_NOT_ALLOWED", null, /use POST/);
  assert.equal(m.headers.get("allow"), "POST, OPTIONS");
  assert.equal((await call(srv.url, "/health", { method: "POST", raw: "{}" })).status, 405);
  const t = await call(srv.url, "/v1/embeddings", { raw: '{"input":"a"}', headers: { ...auth, "content-type": "text/plain" } });
  assertOpenAIError(t, 415, "UNSUPPORTED_MEDIA_TYPE", null, /application\/json/);
  const ok = await call(srv.url, "/tokenize", {
    raw: '{"content":"a"}',
    headers: { ...auth, "content-type": "application/json; charset=utf-8" },
  });
  assert.equal(ok.status, 200);
});

test("413 over the body limit, by Content-Length and by counting a chunked body", async () => {
  const big = JSON.stringify({ input: "x".repeat(17000) });
  assertOpenAIError(
    await call(srv.url, "/v1/embeddings", { raw: big, headers: auth }),
    413,
    "BODY_TOO_LARGE",
    null,
    /limit of 16384 bytes/,
  );
  const { req, response } = rawPost(srv.url, "/embeddings", {
    ...auth,
    "content-type": "application/json",
    "transfer-encoding": "chunked",
  });
  req.write('{"content": "');
  req.write("y".repeat(10000));
  req.end("y".repeat(10000) + '"}');
  const r = await response;
  assert.equal(r.status, 413);
  assert.equal(JSON.parse(r.text).error.code, 413);
});

test("408 when a body stalls, and Node's headers timeout for stalled headers", async () => {
  const { req, response } = rawPost(srv.url, "/v1/embeddings", { ...auth, "content-type": "application/json", "content-length": 100 });
  req.write('{"input": "a');
  const t0 = Date.now();
  const r = await response;
  assert.equal(r.status, 408);
  assert.equal(JSON.parse(r.text).error.code, "BODY_TIMEOUT");
  assert.ok(Date.now() - t0 >= 250, "not before the deadline");
  req.destroy();

  const sock = connect(srv.port, "127.0.0.1");
  sock.write("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n");
  let got = "";
  sock.on("data", (d) => (got += d.toString()));
  await new Promise((resolve) => sock.on("close", resolve));
  assert.match(got, /^HTTP\/1\.1 408/);
});

test("waiting requests coalesce into one forward pass behind a running one; a full queue answers 503", async () => {
  const single = await Promise.all(["b one", "c two", "d three"].map(async (t) => (await model.embed([t]))[0]));
  paced.calls.length = 0;
  paced.hold();
  const a = v1({ input: "a zero" });
  await until(() => paced.calls.length === 1, 5000, "the first forward call");
  const rest = ["b one", "c two"].map((t) => v1({ input: t }));
  await until(() => srv.queue.depth === 2, 5000, "two waiting requests");
  const full = await v1({ input: "d three" });
  assertOpenAIError(full, 503, "QUEUE_FULL", null, /2 requests are already waiting/);
  assert.equal(full.headers.get("retry-after"), "1");
  const llamaFull = await call(srv.url, "/embeddings", { body: { content: "d three" }, headers: auth });
  assert.deepEqual([llamaFull.status, llamaFull.body.error.type], [503, "unavailable_error"]);
  paced.release();
  const [ra, rb, rc] = await Promise.all([a, ...rest]);
  assert.deepEqual([ra.status, rb.status, rc.status], [200, 200, 200]);
  assert.equal(paced.calls.length, 2, "b and c shared the second forward call");
  assert.equal(paced.calls[1].length, 2);
  assertSameVector(rb.body.data[0].embedding, single[0], "b");
  assertSameVector(rc.body.data[0].embedding, single[1], "c");
  const rd = await v1({ input: "d three" });
  assertSameVector(rd.body.data[0].embedding, single[2], "d after the queue drained");
});

test("500 for a model failure (non-client EmbedError), in the server_error type", async () => {
  paced.failWith = () => new EmbedError("NON_FINITE_OUTPUT", "input 0: the embedding contains NaN at component 3", { index: 0 });
  try {
    const r = await v1({ input: "nan please" });
    assertOpenAIError(r, 500, "NON_FINITE_OUTPUT", "input[0]", /NaN/);
    const l = await call(srv.url, "/embedding", { body: { content: "nan please" }, headers: auth });
    assert.deepEqual([l.status, l.body.error.code, l.body.error.type], [500, 500, "server_error"]);
  } finally {
    paced.failWith = undefined;
  }
});
