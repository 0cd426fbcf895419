/**
 * BullMQ and ioredis are optional peer dependencies: the library and every other command work
 * without them, and `gguf-embed queue` then fails with MISSING_DEPENDENCY and the install command.
 * The end-to-end case runs a copy of the built CLI from a directory with no node_modules above it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbedError } from "../../src/errors.js";
import { loadQueueDeps } from "../../src/queue/deps.js";
import { gemmaFixture, SMALL_GEMMA } from "../helpers/fixtures.js";
import { ROOT, run } from "./cli-child.js";
import { freePort } from "./redis-server.js";

test("a missing bullmq or ioredis is MISSING_DEPENDENCY naming the package and the install command", async () => {
  await assert.rejects(loadQueueDeps({ bullmq: "bullmq-not-installed-for-this-test" }), (e: unknown) => {
    assert.ok(e instanceof EmbedError);
    assert.equal(e.code, "MISSING_DEPENDENCY");
    assert.equal(e.detail.package, "bullmq");
    assert.match(
      e.message,
      new RegExp(
        '^the optional package "bullmq" is not installed \\(cannot import "bullmq-not-installed-for-this-test"\\); ' +
          "the queue commands need bullmq and ioredis: run `npm i bullmq ioredis`$",
      ),
    );
    return true;
  });
  await assert.rejects(
    loadQueueDeps({ ioredis: "./no-such-ioredis.js" }),
    (e: unknown) => e instanceof EmbedError && e.code === "MISSING_DEPENDENCY" && e.detail.package === "ioredis",
  );
  const deps = await loadQueueDeps();
  assert.equal(typeof deps.bullmq.Worker, "function");
  assert.equal(typeof deps.Redis, "function");
});

test("the CLI without node_modules: queue fails clearly, the rest works", async () => {
  const dir = await mkdtemp(join(tmpdir(), "gguf-embed-nodeps-"));
  try {
    await cp(join(ROOT, "bin"), join(dir, "bin"), { recursive: true });
    await cp(join(ROOT, "dist", "src"), join(dir, "dist", "src"), { recursive: true });
    await cp(join(ROOT, "package.json"), join(dir, "package.json"));
    const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as {
      dependencies?: object;
      peerDependenciesMeta: Record<string, { optional: boolean }>;
    };
    assert.equal(pkg.dependencies, undefined, "no runtime dependency");
    assert.deepEqual(pkg.peerDependenciesMeta, { bullmq: { optional: true }, ioredis: { optional: true } });
    const bin = join(dir, "bin", "gguf-embed.js");
    const r = await run(["queue", "status", "--name", "x", "--redis", "redis://127.0.0.1:1"], { bin });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^gguf-embed queue: the optional package "bullmq" is not installed .*: run `npm i bullmq ioredis` \[MISSING_DEPENDENCY\]\n$/,
    );
    const model = await gemmaFixture(SMALL_GEMMA);
    const e = await run(["embed", "--model", model, "--threads", "1", "cats"], { bin });
    assert.equal(e.code, 0, e.stderr);
    assert.equal((JSON.parse(e.stdout) as number[][])[0].length, 256);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("an unreachable Redis is REDIS_ERROR naming the URL without its password, at once", async () => {
  const port = await freePort(); // nothing listens there
  const t0 = Date.now();
  const r = await run(["queue", "status", "--name", "x", "--redis", `redis://:s3cret@127.0.0.1:${port}`]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(
      `^gguf-embed queue: cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.* \\[REDIS_ERROR\\]\\n$`,
    ),
  );
  assert.doesNotMatch(r.stderr, /s3cret/);
  assert.ok(Date.now() - t0 < 10_000);
  const bad = await run(["queue", "status", "--name", "x:y"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--name must be 1-100 letters, digits/);
});
