/**
 * Hostile connections: slow headers (slowloris), stalled and trickled bodies, idle sockets, clients
 * that hang up while queued, API keys (401, and the digest comparison), and keep-alive while the
 * event loop is blocked. The server runs in a child process with --header-timeout-ms and
 * --body-timeout-ms of 1 s; the comparison spy and the blocked-loop case need an in-process server.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { startChildServer, type ChildServer } from "../../scripts/load/child.js";
import type { ServedModel } from "../../src/server/context.js";
import { startServer } from "../../src/server/http.js";
import { assertHealthy, lateClient } from "../helpers/abuse.js";
import { call } from "../helpers/server.js";

const KEY = "conn-test-key-0123456789";
const auth = { authorization: `Bearer ${KEY}` };
const TIMEOUT_MS = 1000;
let srv: ChildServer;

before(async () => {
  srv = await startChildServer("test:fixture", [
    "--api-key",
    KEY,
    "--header-timeout-ms",
    String(TIMEOUT_MS),
    "--body-timeout-ms",
    String(TIMEOUT_MS),
  ]);
});
after(async () => {
  assert.deepEqual(await srv?.stop(), [0, null], "exits cleanly on SIGTERM");
});

/** A socket that writes `first`, then `each` every `everyMs` until the server closes it. Resolves with what it read and when. */
function slowSender(first: string, each: string, everyMs: number): Promise<{ got: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s: Socket = connect(srv.port, "127.0.0.1");
    let got = "";
    const tick = setInterval(() => s.destroyed || s.write(each), everyMs);
    const cut = setTimeout(() => s.destroy(), 20_000); // bounded even if the server never cuts it
    s.on("data", (d) => (got += d.toString("latin1"))).on("error", () => {});
    s.on("close", () => {
      clearInterval(tick);
      clearTimeout(cut);
      resolve({ got, ms: Date.now() - t0 });
    });
    if (first) s.write(first);
  });
}

/** Ordinary requests while the slow ones hold their sockets: each answered within 5 s. */
async function othersServed(what: string): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    assert.equal((await call(srv.url, "/health")).status, 200, `${what}: /health`);
    const r = await call(srv.url, "/tokenize", { body: { content: "still served" }, headers: auth });
    assert.equal(r.status, 200, `${what}: /tokenize ${r.text}`);
    assert.ok(Date.now() - t0 < 5000, `${what}: answered in ${Date.now() - t0} ms`);
  }
}

test("slowloris: 30 connections trickling headers are cut by the header timeout; others are served meanwhile", async () => {
  const slow = Array.from({ length: 30 }, (_, i) => slowSender(`POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nX-${i}: `, "a", 100));
  await othersServed("during slowloris");
  for (const { got, ms } of await Promise.all(slow)) {
    assert.ok(ms >= TIMEOUT_MS - 50 && ms < TIMEOUT_MS + 5000, `cut after ${ms} ms`);
    assert.match(got, /^(HTTP\/1\.1 408 |$)/, "408 (or a plain close)");
  }
  // A connection that sends nothing at all is cut too (Node's header timer starts at accept).
  const idle = await slowSender("", "", 1000);
  assert.ok(idle.ms < TIMEOUT_MS + 5000, `an idle connection was kept ${idle.ms} ms`);
  await assertHealthy(srv, "slowloris");
});

test("bodies that stall or trickle get 408 at the body deadline; others are served meanwhile", async () => {
  const head = (n: number) =>
    `POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: ${n}\r\n\r\n`;
  const stalled = Array.from({ length: 10 }, () => slowSender(head(100) + '{"input": "a', "", 60_000));
  const trickled = Array.from({ length: 10 }, () => slowSender(head(100_000) + '{"input": "', "b", 100));
  await othersServed("during slow bodies");
  for (const { got, ms } of await Promise.all([...stalled, ...trickled])) {
    assert.match(got, /^HTTP\/1\.1 408 [\s\S]*"code":"BODY_TIMEOUT"/, got.slice(0, 300));
    assert.ok(ms >= TIMEOUT_MS - 50 && ms < TIMEOUT_MS + 5000, `408 after ${ms} ms`);
  }
  await assertHealthy(srv, "slow bodies");
});

test("clients that hang up while their request is queued do not disturb the server", async () => {
  const sockets = Array.from({ length: 10 }, (_, i) => {
    const body = JSON.stringify({ input: [`abandoned request ${i}`] });
    const s = connect(srv.port, "127.0.0.1");
    s.on("error", () => {});
    s.write(
      `POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    return s;
  });
  await new Promise((r) => setTimeout(r, 200));
  for (const s of sockets) s.destroy();
  const r = await call(srv.url, "/v1/embeddings", { body: { input: "after the hang-ups" }, headers: auth });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.data[0].embedding.length, 768);
  await assertHealthy(srv, "hang-ups");
  assert.doesNotMatch(srv.stderr(), /error: /, "no internal error was logged");
});

test("API keys: 401 without one or with a wrong one of any length (never 500); /health stays public", async () => {
  const wrong = [
    ["no header", {}],
    ["same length", { authorization: `Bearer ${KEY.slice(0, -1)}X` }],
    ["shorter", { authorization: "Bearer c" }],
    ["longer", { authorization: `Bearer ${KEY}0` }],
    ["8 KB", { authorization: `Bearer ${"k".repeat(8192)}` }],
    ["UTF-8 bytes", { authorization: `Bearer ${Buffer.from("ключ-🔑").toString("latin1")}` }],
    ["empty bearer", { authorization: "Bearer " }],
    ["other scheme", { authorization: `Basic ${KEY}` }],
    ["wrong X-Api-Key", { "x-api-key": KEY.toUpperCase() }],
    ["key as a prefix", { authorization: `Bearer ${KEY.slice(0, 10)}` }],
  ] as const;
  for (const [what, headers] of wrong) {
    const r = await call(srv.url, "/v1/embeddings", { body: { input: "a" }, headers });
    assert.equal(r.status, 401, `${what}: ${r.text}`);
    assert.equal(r.body.error.code, "UNAUTHORIZED", what);
    await assertHealthy(srv, what);
  }
  assert.equal((await call(srv.url, "/tokenize", { body: { content: "a" }, headers: { "x-api-key": KEY } })).status, 200);
  assert.equal((await call(srv.url, "/tokenize", { body: { content: "a" }, headers: auth })).status, 200);
});

/** A server without a model (these routes never reach it). */
const NO_MODEL = { info: { name: "none", nEmbdOut: 768, pooling: "mean" } } as unknown as ServedModel;

test("the key check compares SHA-256 digests with crypto.timingSafeEqual, whatever the key's length", async () => {
  const crypto = createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto");
  const original = crypto.timingSafeEqual;
  const seen: [number, number][] = [];
  crypto.timingSafeEqual = (a, b) => (seen.push([a.byteLength, b.byteLength]), original(a, b));
  syncBuiltinESMExports(); // http.ts's named import now sees the spy
  const s = await startServer(NO_MODEL, { port: 0, apiKey: KEY });
  try {
    for (const key of ["x", KEY.slice(0, -1) + "X", KEY + "0", "k".repeat(8192), Buffer.from("ключ").toString("latin1"), KEY]) {
      seen.length = 0;
      const r = await call(s.url, "/metrics", { headers: { authorization: `Bearer ${key}` } });
      assert.equal(r.status, key === KEY ? 200 : 401, key.slice(0, 20));
      assert.deepEqual(seen, [[32, 32]], `one comparison of two 32-byte digests for a key of ${key.length} chars`);
    }
  } finally {
    crypto.timingSafeEqual = original;
    syncBuiltinESMExports();
    await s.close();
  }
});

test("keep-alive: a request sent while the event loop is blocked past keepAliveTimeout is answered, not reset", async () => {
  const s = await startServer(NO_MODEL, { port: 0, keepAliveTimeoutMs: 200 });
  const sock = connect(s.port, "127.0.0.1");
  try {
    let got = "";
    let closed = false;
    sock
      .on("data", (d) => (got += d))
      .on("close", () => (closed = true))
      .on("error", () => {});
    const req = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    sock.write(req);
    for (let t0 = Date.now(); !got.includes('{"status":"ok"}') && Date.now() - t0 < 5000; ) await new Promise((r) => setTimeout(r, 10));
    got = "";
    // Like a long forward pass: the next request arrives while the loop is blocked 1.5 s (in the check
    // phase, as the queue runs batches), so the keep-alive timer (200 ms + Node's 1 s margin) is due
    // before the socket is read.
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        sock.write(req);
        const t0 = Date.now();
        while (Date.now() - t0 < 1500);
        resolve();
      }),
    );
    for (let t0 = Date.now(); !got.includes('{"status":"ok"}') && !closed && Date.now() - t0 < 5000; )
      await new Promise((r) => setTimeout(r, 10));
    assert.match(got, /^HTTP\/1\.1 200 /, `answered (closed: ${closed})`);
    await new Promise((r) => setTimeout(r, 2000));
    assert.ok(closed, "an idle kept-alive connection is still closed after keepAliveTimeout");
  } finally {
    sock.destroy();
    await s.close();
  }
});

test("header timeout vs a long forward pass: a request sent during it on a connection opened before it is answered, not cut", async () => {
  const blocking = {
    ...NO_MODEL,
    prepare: (inputs: unknown[]) => inputs.map((_, index) => ({ index, tokens: Int32Array.of(2, 1) })),
    embedPrepared: async (p: unknown[]) => {
      for (const t0 = Date.now(); Date.now() - t0 < 4000; ); // a 4 s forward pass
      return p.map(() => new Float32Array(768));
    },
  } as unknown as ServedModel;
  const s = await startServer(blocking, { port: 0, headersTimeoutMs: 1500 });
  try {
    // Another process connects now and sends its request 2.5 s later, while our loop is blocked.
    const client = await lateClient(s.port);
    const pass = call(s.url, "/v1/embeddings", { body: { input: "x" } }); // starts the blocking pass
    assert.equal((await pass).status, 200);
    const out = await client.exited;
    assert.match(out, /got HTTP\/1\.1 200 /, out);
  } finally {
    await s.close();
  }
});
