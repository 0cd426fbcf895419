/**
 * Issue 15 item 14: download locks (src/node/cache.ts acquireLock). A lock file that holds a live
 * but unrelated pid (pid reuse after a crash, pid 1 in a container) used to block forever with
 * "waiting for another process"; now a lock is stale when its file has not been touched (the
 * owner's heartbeat) for staleMs, and a live owner keeps it as long as it likes. `embed`, `serve`
 * and loadModel resolve models through the same pullModel/resolveModel path tested here.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbedError } from "../../src/errors.js";
import { acquireLock } from "../../src/node/cache.js";
import { pullModel } from "../../src/node/resolve.js";
import { startFakeHub, type FakeHub } from "../helpers/fake-hub.js";

const FILE = new Uint8Array(5000).fill(7);
let hub: FakeHub;
let tmp: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "gguf-embed-lock-"));
  hub = await startFakeHub({ "org/m": { files: [{ path: "m-Q8_0.gguf", content: FILE }] } });
});
after(async () => {
  await hub.close();
  await rm(tmp, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

test("a stale lock of a live, unrelated pid (old format, or pid 1 in JSON) is taken over instead of waited on forever", async () => {
  for (const [i, content] of ["1", JSON.stringify({ pid: 1, host: "elsewhere", token: "x", started: "2020-01-01T00:00:00Z" })].entries()) {
    const cache = join(tmp, `stale${i}`);
    const dir = join(cache, "org", "m");
    await mkdir(dir, { recursive: true });
    const lock = join(dir, "m-Q8_0.gguf.lock");
    await writeFile(lock, content);
    const old = new Date(Date.now() - 3600_000);
    await utimes(lock, old, old); // nobody has touched it for an hour
    const status: string[] = [];
    const res = await within(
      pullModel("hf:org/m:Q8_0", {
        env: { GGUF_EMBED_CACHE: cache, HF_ENDPOINT: hub.endpoint, HF_HOME: join(tmp, "none") },
        onStatus: (m) => status.push(m),
      }),
      10_000,
      "pull",
    );
    assert.deepEqual(new Uint8Array(await readFile(res.path)), FILE);
    await assert.rejects(readFile(lock), "the lock is released afterwards");
  }
});

test("a live owner keeps its lock past staleMs (heartbeat); the waiter gets it after the release", async () => {
  const path = join(tmp, "live.lock");
  const release = await acquireLock(path, { staleMs: 300 });
  let waited = false;
  const t0 = Date.now();
  const waiter = acquireLock(path, { staleMs: 300, onWait: () => (waited = true) });
  await sleep(1500); // five stale periods
  const owner = JSON.parse(await readFile(path, "utf8")) as { pid: number; token: string };
  assert.equal(owner.pid, process.pid);
  await release();
  const release2 = await within(waiter, 5000, "waiter");
  assert.ok(waited, "the waiter waited");
  assert.ok(Date.now() - t0 >= 1500, "and did not take the live lock over");
  await release2();
});

test("wait: false fails at once with LOCKED naming the owner; a lock taken over is not removed by its old owner's release", async () => {
  const path = join(tmp, "busy.lock");
  const release = await acquireLock(path, { staleMs: 200 });
  await assert.rejects(
    acquireLock(path, { wait: false, what: "out.jsonl" }),
    (e: unknown) =>
      e instanceof EmbedError && e.code === "LOCKED" && new RegExp(`out\\.jsonl is locked by process ${process.pid}`).test(e.message),
  );
  // Another process took the lock over (as after a long freeze): the old owner's release must not remove it.
  const theirs = JSON.stringify({ pid: process.pid + 1, host: "elsewhere", token: "theirs", started: new Date().toISOString() });
  await writeFile(path, theirs);
  await release();
  assert.equal(await readFile(path, "utf8"), theirs);
  await rm(path);
});

test("mutual exclusion: 6 concurrent takers of a stale lock hold it one at a time", async () => {
  const path = join(tmp, "race.lock");
  await writeFile(path, "1");
  const old = new Date(Date.now() - 3600_000);
  await utimes(path, old, old);
  let inside = 0,
    most = 0;
  await within(
    Promise.all(
      Array.from({ length: 6 }, async () => {
        const release = await acquireLock(path, { staleMs: 5000 });
        inside++;
        most = Math.max(most, inside);
        await sleep(30);
        inside--;
        await release();
      }),
    ),
    20_000,
    "takers",
  );
  assert.equal(most, 1);
});
