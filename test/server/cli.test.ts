/**
 * `gguf-embed serve` as a command: argument checking, the resolveModel hook, the printed URL, and
 * graceful shutdown on SIGTERM in a child process (a request in flight completes, new connections
 * are refused, the process exits 0).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect, createServer, type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { runServe } from "../../src/cli/serve.js";
import { assertSameVector, fixtureModel, metric, rawPost } from "../helpers/server.js";
import { captureIO } from "../helpers/cli-io.js";

const CHILD = fileURLToPath(new URL("../helpers/serve-child.js", import.meta.url));

const io = captureIO;

test("serve rejects bad arguments with exit code 2 and the usage, before loading anything", async () => {
  const cases: [string[], RegExp][] = [
    [[], /--model <file.gguf> is required/],
    [["--model", "m.gguf", "--port", "70000"], /--port must be an integer from 0 to 65535, got "70000"/],
    [["--model", "m.gguf", "--max-batch-tokens", "0"], /--max-batch-tokens must be an integer from 1/],
    [["--model", "m.gguf", "--max-queue", "many"], /--max-queue must be an integer/],
    [["--model", "m.gguf", "--default-task", "poetry"], /--default-task must be one of query, document/],
    [["--model", "m.gguf", "--backend", "cuda"], /--backend must be auto, js or wasm/],
    [["--model", "m.gguf", "--bogus"], /Unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const { out, io: cio } = io();
    let resolved = false;
    const code = await runServe(args, cio, async (m) => ((resolved = true), m));
    assert.equal(code, 2, args.join(" "));
    assert.match(out.stderr, message);
    assert.match(out.stderr, /usage: gguf-embed serve --model/);
    assert.equal(resolved, false, "the model is not resolved when arguments are wrong");
  }
  const help = io();
  assert.equal(await runServe(["--help"], help.io), 0);
  assert.match(help.out.stdout, /--default-dimensions N/);
});

test("serve checks --default-dimensions against the loaded model (via resolveModel) and reports a busy port", async () => {
  const { path } = await fixtureModel().then(async (f) => (await f.model.close(), f));
  const { out, io: cio } = io();
  const seen: string[] = [];
  const code = await runServe(
    ["--model", "hf:some/repo", "--default-dimensions", "1024", "--port", "0"],
    cio,
    async (m) => (seen.push(m), path),
  );
  assert.deepEqual(seen, ["hf:some/repo"]);
  assert.equal(code, 2);
  assert.match(out.stderr, /--default-dimensions must be at most 768 for this model, got 1024/);
  assert.equal(out.stdout, "", "no server was started");

  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
  try {
    const busy = io();
    const port = String((taken.address() as AddressInfo).port);
    assert.equal(await runServe(["--model", path, "--port", port], busy.io), 1);
    assert.match(busy.out.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  } finally {
    taken.close();
  }
});

async function waitForText(get: () => string, re: RegExp, ms: number): Promise<RegExpMatchArray> {
  const t0 = Date.now();
  for (;;) {
    const m = get().match(re);
    if (m) return m;
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${re}; got: ${get()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("SIGTERM: the request in flight completes, new connections are refused, then exit 0", async () => {
  const { model } = await fixtureModel();
  const [expected] = await model.embed(["in flight"]);
  await model.close();

  const child = spawn(process.execPath, [CHILD, "--serve", "--model", "test:fixture", "--port", "0", "--api-key", "k"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "",
    stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<[number | null, string | null]>((resolve) => child.on("exit", (code, sig) => resolve([code, sig])));
  try {
    const [, url] = await waitForText(() => stdout, /listening on (http:\/\/127\.0\.0\.1:\d+)\n/, 60_000);
    const port = Number(new URL(url).port);

    // Headers and half of the body: the server is now reading this request.
    const body = JSON.stringify({ input: "in flight", encoding_format: "float" });
    const { req, response } = rawPost(url, "/v1/embeddings", {
      authorization: "Bearer k",
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    });
    req.write(body.slice(0, 10));
    for (let t0 = Date.now(); ; ) {
      const m = await fetch(`${url}/metrics`, { headers: { authorization: "Bearer k" } });
      if (metric(await m.text(), "gguf_embed_requests_in_flight") >= 2) break; // the scrape + ours
      assert.ok(Date.now() - t0 < 10_000, "the request never showed up as in flight");
      await new Promise((r) => setTimeout(r, 20));
    }

    child.kill("SIGTERM");
    await waitForText(() => stderr, /SIGTERM: finishing requests in flight/, 10_000);
    const refused = await new Promise<string>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.on("connect", () => (s.destroy(), resolve("connected")));
      s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    });
    assert.equal(refused, "ECONNREFUSED");

    req.end(body.slice(10));
    const r = await response;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.connection, "close");
    assertSameVector(JSON.parse(r.text).data[0].embedding, expected, "in-flight vector");

    assert.deepEqual(await exited, [0, null]);
    assert.match(stderr, /gguf-embed serve: stopped/);
    assert.match(stderr, /POST \/v1\/embeddings 200/);
  } finally {
    child.kill("SIGKILL");
  }
});
