/**
 * Hostile input against `gguf-embed serve` in a child process (so a crash or an OOM shows as a dead
 * process, not a dead test runner), started with short --header-timeout-ms/--body-timeout-ms. Each
 * case checks its status and error field, then that the process is alive and GET /health answers.
 * The last test checks that an ordinary request still gets the exact vector. Slow clients, API keys
 * and keep-alive are in server-abuse-conn.test.ts.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { runServe } from "../../src/cli/serve.js";
import { loadModel } from "../../src/node.js";
import { startChildServer, type ChildServer } from "../../scripts/load/child.js";
import { assertHealthy, rawRequest } from "../helpers/abuse.js";
import { gemmaFixture } from "../helpers/fixtures.js";
import { assertSameVector, call, FIXTURE, metric, type Res } from "../helpers/server.js";

const KEY = "abuse-test-key";
const auth = { authorization: `Bearer ${KEY}` };
let srv: ChildServer;

before(async () => {
  srv = await startChildServer("test:fixture", ["--api-key", KEY, "--header-timeout-ms", "1000", "--body-timeout-ms", "1000"]);
});
after(async () => {
  assert.deepEqual(await srv?.stop(), [0, null], "the server survived everything and exits cleanly on SIGTERM");
});

/** Status, and the error's param (both error shapes carry it), then the health check. */
async function expect(what: string, r: Res, status: number, param?: string | null, message?: RegExp): Promise<void> {
  assert.equal(r.status, status, `${what}: ${r.text.slice(0, 300)}`);
  if (param !== undefined) assert.equal(r.body?.error?.param ?? null, param, `${what}: param in ${r.text.slice(0, 300)}`);
  if (message) assert.match(r.body?.error?.message ?? "", message, what);
  await assertHealthy(srv, what);
}

const post = (path: string, raw: string, headers: Record<string, string> = {}) =>
  call(srv.url, path, { raw, headers: { ...auth, ...headers } });

test("malformed JSON: 400 in both error shapes", async () => {
  const bad = [
    '{"input": "a",',
    "{'input': 'a'}",
    '{"input": "a"} x',
    "NaN",
    '{"input": "\\u12"}',
    "\u0000",
    "{" + '"a":1,'.repeat(50_000),
  ];
  for (const raw of bad) await expect(`v1 ${JSON.stringify(raw)}`, await post("/v1/embeddings", raw), 400, null);
  await expect("invalid JSON on /embeddings", await post("/embeddings", "{nope"), 400);
  const r = await fetch(`${srv.url}/v1/embeddings`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
  });
  assert.equal(r.status, 400, "invalid UTF-8");
  await assertHealthy(srv, "invalid UTF-8");
});

test("a 10 MB body: 413 that the client gets to read (by Content-Length, chunked, and from fetch), 8 times each", async () => {
  // Refusing before the body is read and closing at once made the kernel reset the connection under
  // the still-arriving body, and about half of these clients got a reset instead of the 413.
  const size = 10 * 1024 * 1024,
    chunk = 65536,
    spaces = " ".repeat(chunk);
  const head = (framing: string) =>
    `POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`;
  for (let i = 0; i < 8; i++) {
    const t0 = Date.now();
    const declared = await rawRequest(srv.port, head(`Content-Length: ${size}`), { pieces: size / chunk, piece: spaces });
    assert.match(declared, /^HTTP\/1\.1 413 [\s\S]*BODY_TOO_LARGE/, `declared, try ${i}: ${declared.slice(0, 200)}`);
    assert.ok(Date.now() - t0 < 10_000, "answered promptly");
    // Chunked, no length: refused once 2 MiB (the default --body-limit) have been counted.
    const chunked = await rawRequest(srv.port, head("Transfer-Encoding: chunked"), {
      pieces: size / chunk,
      piece: `${chunk.toString(16)}\r\n${spaces}\r\n`,
      end: "0\r\n\r\n",
    });
    assert.match(chunked, /^HTTP\/1\.1 413 /, `chunked, try ${i}: ${chunked.slice(0, 200)}`);
    const f = await fetch(`${srv.url}/v1/embeddings`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: Buffer.alloc(size, 0x20),
    }).catch((e: Error) => e);
    assert.equal(
      f instanceof Error ? `${f.message} (${String((f.cause as Error | undefined)?.message)})` : f.status,
      413,
      `fetch, try ${i}`,
    );
    if (!(f instanceof Error)) await f.text();
    await assertHealthy(srv, `10 MB, try ${i}`);
  }
});

test("100,000 prompts: 400 by count at once (--max-inputs, default 2048), nothing tokenized or queued", { timeout: 60_000 }, async () => {
  const before = await (await fetch(`${srv.url}/metrics`, { headers: auth })).text();
  for (const [what, input] of [
    ["strings", new Array(100_000).fill("a")],
    ["token arrays", new Array(100_000).fill([2, 5, 1])],
    ["2049 strings", new Array(2049).fill("a")],
  ] as const) {
    const t0 = Date.now();
    const r = await call(srv.url, "/v1/embeddings", { body: { input }, headers: auth });
    assert.ok(Date.now() - t0 < 3000, `${what}: answered in ${Date.now() - t0} ms`);
    await expect(what, r, 400, "input", new RegExp(`has ${input.length} prompts, more than the limit of 2048`));
    assert.equal(r.body.error.code, "TOO_MANY_INPUTS");
  }
  await expect(
    "content field",
    await call(srv.url, "/embeddings", { body: { content: new Array(5000).fill("b") }, headers: auth }),
    400,
    "content",
  );
  const after = await (await fetch(`${srv.url}/metrics`, { headers: auth })).text();
  assert.equal(metric(after, "gguf_embed_inputs_total"), metric(before, "gguf_embed_inputs_total"), "no input reached the model");
});

test("100,000-deep nesting: 400, never a stack overflow (500) or a crash", async () => {
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  const deepObj = '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000);
  await expect("unbalanced [", await post("/v1/embeddings", "[".repeat(100_000)), 400, null, /not valid JSON/);
  await expect("balanced top level", await post("/v1/embeddings", deep), 400, null, /must be a JSON object/);
  await expect("deep input", await post("/v1/embeddings", `{"input": ${deep}}`), 400, "input[0][0]");
  for (const field of ["task", "dimensions", "embd_normalize", "encoding_format", "pooling", "title", "truncate", "model"]) {
    await expect(`deep ${field}`, await post("/v1/embeddings", `{"input": "a", "${field}": ${deep}}`), 400, field);
    if (field !== "model")
      await expect(`deep object ${field}`, await post("/embeddings", `{"content": "a", "${field}": ${deepObj}}`), 400, field);
  }
  await expect("deep tokens", await post("/detokenize", `{"tokens": [1, ${deep}]}`), 400, "tokens[1]");
  await expect("deep content", await post("/tokenize", `{"content": ${deep}}`), 400, "content");
  const echo = await call(srv.url, "/v1/embeddings", { body: { input: "a", task: "x".repeat(1 << 20) }, headers: auth });
  await expect("1 MB task", echo, 400, "task");
  assert.ok(echo.text.length < 1000, `a 1 MB value is not echoed back (error body of ${echo.text.length} bytes)`);
});

test("415 for other content types, 404 for unknown routes, 405, 431, and 400 for an unparsable target (was a crash)", async () => {
  for (const type of [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/json",
    "application/jsonx",
  ]) {
    await expect(
      type,
      await post("/v1/embeddings", '{"input":"a"}', { "content-type": type }),
      415,
      null,
      /Content-Type must be application\/json/,
    );
  }
  for (const path of ["/v2/embeddings", "/v1/embeddings/", "/%2e%2e/etc/passwd", "/v1/" + "x".repeat(8000), "/embeddings%00", "/ünïcode"]) {
    await expect(`404 ${path.slice(0, 30)}`, await call(srv.url, path, { headers: auth }), 404);
  }
  await expect("DELETE", await call(srv.url, "/v1/embeddings", { method: "DELETE", headers: auth }), 405);
  assert.match(await rawRequest(srv.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
  await assertHealthy(srv, "20 KB header");
  for (const target of ["http://[", "http://a:99999/health", "http://%zz/"]) {
    const head = await rawRequest(srv.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(head, /^HTTP\/1\.1 400 /, `${target}: ${head.slice(0, 200)}`);
    assert.match(head, /BAD_REQUEST_TARGET|not a valid URL/);
    await assertHealthy(srv, `target ${target}`);
  }
  for (const smuggle of [
    "Content-Length: 5\r\nTransfer-Encoding: chunked",
    "Content-Length: 5\r\nContent-Length: 6",
    "Content-Length: -1",
    "Content-Length: abc",
  ]) {
    assert.match(
      await rawRequest(srv.port, `POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n${smuggle}\r\n\r\n{}`),
      /^HTTP\/1\.1 400 /,
      smuggle,
    );
    await assertHealthy(srv, smuggle);
  }
});

test("token arrays over the context or outside the vocabulary: 400 naming the input and the position", async () => {
  const long = new Array(2049).fill(5);
  await expect(
    "2049 ids at input[2]",
    await call(srv.url, "/v1/embeddings", { body: { input: [[2, 1], [2, 1], long] }, headers: auth }),
    400,
    "input[2]",
    /input 2 has 2049 tokens, more than the model's context of 2048/,
  );
  await expect(
    "100,000 ids as one prompt",
    await call(srv.url, "/embedding", { body: { content: new Array(100_000).fill(7) }, headers: auth }),
    400,
    "content[0]",
    /100000 tokens/,
  );
  const oov: [number, string][] = [
    [262144, "262144"],
    [-1, "-1"],
    [2 ** 31, "2147483648"],
    [1e308, "1e\\+308"],
  ];
  for (const [id, shown] of oov) {
    await expect(
      `id ${id}`,
      await call(srv.url, "/v1/embeddings", {
        body: {
          input: [
            [2, 1],
            [2, 5, id, 1],
          ],
        },
        headers: auth,
      }),
      400,
      "input[1]",
      new RegExp(`input 1: token 2 is ${shown}, outside the vocabulary`),
    );
  }
  await expect(
    "detokenize out of range",
    await call(srv.url, "/detokenize", { body: { tokens: [2, 5, 262144] }, headers: auth }),
    400,
    "tokens[2]",
  );
});

test("negative, fractional, non-finite and huge numbers where integers are expected: 400 naming the field", async () => {
  const v1 = (extra: string) => post("/v1/embeddings", `{"input": "a", ${extra}}`);
  const cases: [string, string][] = [
    ['"dimensions": -1', "dimensions"],
    ['"dimensions": 0.5', "dimensions"],
    ['"dimensions": 1e400', "dimensions"],
    ['"dimensions": -1e400', "dimensions"],
    ['"dimensions": 1e308', "dimensions"],
    ['"dimensions": "NaN"', "dimensions"],
    ['"dimensions": "128"', "dimensions"],
    ['"dimensions": 9007199254740993', "dimensions"],
    ['"embd_normalize": -2', "embd_normalize"],
    ['"embd_normalize": 1.5', "embd_normalize"],
    ['"embd_normalize": 1e400', "embd_normalize"],
    ['"embd_normalize": "2"', "embd_normalize"],
  ];
  for (const [extra, param] of cases) await expect(extra, await v1(extra), 400, param);
  await expect("input 1e999999", await post("/v1/embeddings", '{"input": 1e999999}'), 400, "input");
  await expect("embd_normalize 1e308", await v1('"embd_normalize": 1e308'), 400, "embd_normalize"); // an integer, but no p-norm
  const ids: [string, string][] = [
    ["[2, -5, 1]", "input 0: token 1 is -5"],
    ["[2, 1.5, 1]", "input\\[1\\] must be an integer"],
    ["[2, 1e400, 1]", "got the number Infinity"],
    ["[2, -1e400]", "got the number -Infinity"],
  ];
  for (const [arr, msg] of ids)
    await expect(`input ${arr}`, await post("/v1/embeddings", `{"input": ${arr}}`), 400, undefined, new RegExp(msg));
  for (const arr of ["[-1]", "[1.5]", "[1e400]", "[1e308]"])
    await expect(`detokenize ${arr}`, await post("/detokenize", `{"tokens": ${arr}}`), 400, "tokens[0]");
  await expect("add_special 1", await post("/tokenize", '{"content": "a", "add_special": 1}'), 400, "add_special");
});

test("the new limit flags are checked like the others (exit 2, before loading anything)", async () => {
  for (const flag of ["--max-inputs", "--header-timeout-ms", "--body-timeout-ms"]) {
    let err = "";
    const stderr = new PassThrough().on("data", (d) => (err += d));
    assert.equal(
      await runServe(["--model", "m.gguf", flag, "0"], { stdin: new PassThrough(), stdout: new PassThrough(), stderr }),
      2,
      flag,
    );
    assert.match(err, new RegExp(`${flag} must be an integer from 1`));
  }
});

test("after all of it, an ordinary request still gets the exact vector", async () => {
  const model = await loadModel(await gemmaFixture(FIXTURE));
  const [expected] = await model.embed(["still standing"]);
  await model.close();
  const r = await call(srv.url, "/v1/embeddings", { body: { input: "still standing" }, headers: auth });
  assert.equal(r.status, 200, r.text);
  assertSameVector(r.body.data[0].embedding, expected);
  assert.doesNotMatch(srv.stderr(), /error: /, "no internal error was logged");
});
