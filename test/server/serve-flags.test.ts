/**
 * `gguf-embed serve` with llama-server's flags (-m, -c, -b, -ub, -t, --pooling, --alias,
 * --api-key-file, --embeddings, --host, --port), --offline, and the start-up order: the port is
 * taken before the model loads, so a busy port fails at once, without loading anything.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runServe } from "../../src/cli/serve.js";
import { isEmbedError } from "../../src/errors.js";
import { loadModel } from "../../src/node.js";
import { resolveModel } from "../../src/node/resolve.js";
import { gemmaFixture } from "../helpers/fixtures.js";
import { assertSameVector, call, FIXTURE } from "../helpers/server.js";
import { captureIO } from "../helpers/cli-io.js";
import { withEnv } from "../helpers/env.js";

const CHILD = fileURLToPath(new URL("../helpers/serve-child.js", import.meta.url));

const io = captureIO;

test("a busy port fails before the model is loaded (the model path is never opened)", async () => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
  try {
    const port = String((taken.address() as AddressInfo).port);
    const c = io();
    const t0 = Date.now();
    assert.equal(await runServe(["-m", "/nonexistent/never-loaded.gguf", "--port", port], c.io), 1);
    assert.match(c.out.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    assert.doesNotMatch(c.out.stderr, /NOT_FOUND|no such file/, "nothing was loaded");
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    taken.close();
  }
});

test("flag errors: --pooling, --api-key-file (blank, missing, with --api-key); --offline refuses an uncached model", async () => {
  const dir = await mkdtemp(join(tmpdir(), "ge-flags-"));
  try {
    const blank = join(dir, "blank.key");
    await writeFile(blank, "  \n");
    const cases: [string[], RegExp][] = [
      [["-m", "m.gguf", "--pooling", "rank"], /"--pooling" must be mean, cls, last or none/],
      [["-m", "m.gguf", "--api-key-file", blank], /the API key is empty or blank \(--api-key-file/],
      [["-m", "m.gguf", "--api-key-file", join(dir, "none")], /cannot read --api-key-file/],
      [["-m", "m.gguf", "--api-key-file", blank, "--api-key", "k"], /not both/],
      [["-m", "m.gguf", "-c", "many"], /--ctx-size must be an integer/],
    ];
    for (const [args, re] of cases) {
      const c = io();
      assert.equal(await runServe(args, c.io), 2, args.join(" "));
      assert.match(c.out.stderr, re);
    }
    await withEnv({ GGUF_EMBED_CACHE: dir }, () =>
      assert.rejects(runServe(["-m", "hf:org/absent:Q8_0", "--offline", "--port", "0"], io().io, resolveModel), (e) =>
        isEmbedError(e, "OFFLINE"),
      ),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("llama-server's flags: -c caps inputs, --pooling, --alias, --api-key-file, -b/-ub/-t/--embeddings accepted", async () => {
  const dir = await mkdtemp(join(tmpdir(), "ge-flags-"));
  const model = await loadModel(await gemmaFixture(FIXTURE));
  const keyFile = join(dir, "key");
  await writeFile(keyFile, "s3cret\n");
  const child = spawn(
    process.execPath,
    [
      CHILD,
      "--serve",
      "-m",
      "test:fixture",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "-c",
      "16",
      "-b",
      "64",
      "-ub",
      "32",
      "-t",
      "1",
      "--pooling",
      "cls",
      "--alias",
      "my-model",
      "--api-key-file",
      keyFile,
      "--embeddings",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "",
    stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  try {
    const t0 = Date.now();
    while (!/listening on (http:\/\/\S+)/.test(stdout)) {
      if (Date.now() - t0 > 300_000 || child.exitCode !== null) assert.fail(`no URL; stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /listening on (http:\/\/\S+)/.exec(stdout)![1];
    assert.match(stderr, /listening on http:\/\/127\.0\.0\.1:\d+; loading/, "the port is taken before loading");
    const auth = { authorization: "Bearer s3cret" };

    assert.equal((await call(url, "/v1/models")).body.data[0].id, "my-model");
    assert.equal((await call(url, "/props")).status, 401);
    const props = (await call(url, "/props", { headers: auth })).body;
    assert.equal(props.default_generation_settings.n_ctx, 16);
    assert.equal(props.pooling, "cls");
    assert.equal(props.model_alias, "my-model");

    const e = await call(url, "/v1/embeddings", { body: { input: "hello" }, headers: auth });
    assert.equal(e.status, 200, e.text);
    assert.equal(e.body.model, "my-model");
    assertSameVector(e.body.data[0].embedding, await model.embed("hello", { pooling: "cls" }), "--pooling cls");
    const long = await call(url, "/embedding", { body: { content: "word ".repeat(40) }, headers: auth });
    assert.equal(long.status, 400);
    assert.match(long.body.error.message, /more than the model's context of 16/);
  } finally {
    child.kill("SIGTERM");
    assert.equal(await exited, 0, stderr);
    await model.close();
    await rm(dir, { recursive: true, force: true });
  }
});
