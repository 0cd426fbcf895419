/**
 * `gguf-embed queue` end to end: a private redis-server, the real CLI as separate processes, a
 * 2-layer synthetic model. The oracle is a single-process `gguf-embed embed --input --output` run
 * on the same input and model: the collected output must equal it byte for byte.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { gemmaFixture, SMALL_GEMMA } from "../helpers/fixtures.js";
import { chunkFile } from "../../src/queue/results.js";
import { cli, run, type Cli } from "./cli-child.js";
import { startRedis, type RedisServer } from "./redis-server.js";

const N = 2000,
  CHUNK = 100;
const WORDS = [
  "cats",
  "dogs",
  "red planet",
  "tea",
  "the sea",
  "rain",
  "a quiet road",
  "music",
  "ice",
  "bread",
  "Mars is red and cold",
  "printing presses",
];
const text = (i: number) => `${WORDS[i % WORDS.length]} ${i} ${WORDS[(i * 7) % WORDS.length]}`;
/** Short locks so that a killed worker's chunk is taken over within seconds. */
const FAST_STALL = ["--lock-duration", "1500", "--stalled-interval", "500", "--max-stalled", "5"];

let redis: RedisServer, client: Redis, tmp: string, model: string, input: string, reference: Buffer, refLines: string[];
const started: Cli[] = [];

function queueCli(sub: string, name: string, args: string[] = []): Cli {
  const c = cli(["queue", sub, "--redis", redis.url, "--name", name, ...args]);
  started.push(c);
  return c;
}
const queueRun = (sub: string, name: string, args: string[] = []) => queueCli(sub, name, args).done;
const worker = (name: string, extra: string[] = []) =>
  queueCli("work", name, ["--model", model, "--threads", "1", ...FAST_STALL, ...extra]);

const queues = new Map<string, Queue>();
/** BullMQ's view of a queue, in process (polling through the CLI would spawn a process each time). */
function bull(name: string): Queue {
  let q = queues.get(name);
  if (!q) queues.set(name, (q = new Queue(name, { connection: { url: redis.url, maxRetriesPerRequest: null }, prefix: "gguf-embed" })));
  return q;
}

interface Status {
  chunks: { waiting: number; active: number; done: number; failed: number; delayed: number };
  records: { done: number; failed: number };
  etaSeconds?: number;
  tokens: number;
}
async function status(name: string): Promise<Status> {
  const r = await queueRun("status", name, ["--json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Status;
}

async function waitUntil(what: string, f: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!(await f())) {
    if (Date.now() - t0 > timeoutMs) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

before(async () => {
  model = await gemmaFixture(SMALL_GEMMA);
  tmp = await mkdtemp(join(tmpdir(), "gguf-embed-queue-"));
  input = join(tmp, "input.txt");
  await writeFile(input, Array.from({ length: N }, (_, i) => text(i)).join("\n") + "\n");
  redis = await startRedis();
  client = new Redis(redis.url);
  const ref = join(tmp, "reference.jsonl");
  const r = await run(["embed", "--model", model, "--input", input, "--output", ref, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  reference = await readFile(ref);
  refLines = reference.toString("utf8").split("\n").slice(0, -1);
  assert.equal(refLines.length, N);
});

after(async () => {
  for (const q of queues.values()) await q.close();
  for (const c of started) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
  await Promise.all(started.map((c) => c.done));
  client?.disconnect();
  await redis?.stop();
  await rm(tmp, { recursive: true, force: true });
});

test("3 workers, one kill -9'd mid-chunk and one restarted: the collected output equals a single-process run byte for byte", async () => {
  const add = await queueRun("add", "big", ["--input", input, "--chunk", String(CHUNK)]);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stderr, /2000 inputs in 20 chunks of 100: 20 chunk\(s\) added, 0 already queued/);
  const again = await queueRun("add", "big", ["--input", input, "--chunk", String(CHUNK)]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /0 chunk\(s\) added, 20 already queued/);
  assert.deepEqual(
    await bull("big").getJobCounts("waiting", "active", "completed"),
    { waiting: 20, active: 0, completed: 0 },
    "the second add added no job",
  );
  const early = await queueRun("collect", "big", ["--output", join(tmp, "early.jsonl")]);
  assert.equal(early.code, 1);
  assert.match(early.stderr, /0 of 20 chunks done \(20 waiting.*\[QUEUE_INCOMPLETE\]/);

  const w1 = worker("big", ["--verbose"]);
  const k = Number((await w1.waitFor(/chunk (\d+): started/))[1]);
  w1.child.kill("SIGKILL"); // mid-chunk: a 100-input chunk takes hundreds of ms, this lands within a few
  assert.equal((await w1.done).signal, "SIGKILL");
  assert.equal(await client.exists(`gguf-embed-job:big:result:${k}`), 0, `chunk ${k} was killed before its result was written`);
  const q = bull("big");
  {
    assert.equal(await q.getJobState(`chunk-${k}`), "active", "the killed worker's chunk is still locked");
    const others = [worker("big"), worker("big"), worker("big", ["--verbose"])]; // two more, and the first restarted
    await waitUntil("all 20 chunks are done", async () => (await q.getJobCounts("completed")).completed === 20);
    const job = await q.getJob(`chunk-${k}`);
    assert.ok(job, "the job of the killed chunk");
    assert.ok(job.stalledCounter >= 1, `chunk ${k} was found stalled and put back (stalledCounter ${job.stalledCounter})`);
    assert.notEqual(job.returnvalue.worker, `${hostname()}:${w1.child.pid}`, "another worker finished it");
    assert.equal(job.data.lines, undefined, "a done chunk's input lines are dropped from Redis");
    for (const w of others) w.child.kill("SIGTERM");
    for (const w of others) {
      const r = await w.done;
      assert.equal(r.code, 0, `SIGTERM stops a worker cleanly: ${r.stderr}`);
      assert.match(r.stderr, /SIGTERM: finishing the chunk in flight/);
    }
  }

  const out = join(tmp, "big.jsonl");
  const c = await queueRun("collect", "big", ["--output", out]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr, /2000 records written to/);
  const got = await readFile(out);
  const lines = got.toString("utf8").split("\n");
  assert.equal(lines.pop(), "");
  assert.equal(lines.length, N, "exactly one line per input");
  lines.forEach((l, i) => assert.ok(l.startsWith(`{"index":${i},"embedding":[`), `line ${i + 1} is the record of input ${i}`));
  assert.ok(got.equals(reference), "byte-identical to `gguf-embed embed --input --output`");

  const st = await queueRun("status", "big");
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, /chunks: 0 waiting, 0 active, 20 done, 0 failed/);
  assert.match(st.stdout, /records: 2000 of 2000 written \(0 with an error\), \d+ tokens/);
  assert.match(st.stdout, /throughput: [\d.]+ tokens\/s, [\d.]+ inputs\/s over all workers .*ETA done/);
  assert.match(st.stdout, /per chunk: embedding [\d.]+ ms, result write [\d.]+ ms, .*overhead [\d.]+% of embedding time/);
  const again2 = await queueRun("collect", "big", ["--output", out]);
  assert.equal(again2.code, 1);
  assert.match(again2.stderr, /already exists; pass --overwrite/);
});

const POISON: Record<number, { line: string; code: string }> = {
  3: { line: "{not json", code: "BAD_INPUT" },
  11: { line: "[2, 99999999, 1]", code: "TOKEN_OUT_OF_RANGE" },
  17: { line: JSON.stringify(Array.from({ length: 2100 }, (_, i) => `w${i}`).join(" ")), code: "INPUT_TOO_LONG" },
  25: { line: "[]", code: "BAD_INPUT" },
};

test("poisoned inputs fail only their own records, with the error stored in their place", async () => {
  const n = 30,
    path = join(tmp, "poison.jsonl");
  await writeFile(path, Array.from({ length: n }, (_, i) => POISON[i]?.line ?? JSON.stringify(text(i))).join("\n") + "\n");
  assert.equal((await queueRun("add", "poison", ["--input", path, "--jsonl", "--chunk", "10"])).code, 0);
  const w = await queueRun("work", "poison", ["--model", model, "--until-done", "--threads", "1"]);
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stderr, /pinned queue "poison" to eg-v1-L2/);
  assert.match(w.stderr, /all 3 chunks are done\n/);
  const s = await status("poison");
  assert.deepEqual(s.chunks, { waiting: 0, active: 0, done: 3, failed: 0, delayed: 0 });
  assert.deepEqual(s.records, { done: 30, failed: 4 });

  const out = join(tmp, "poison-out.jsonl");
  const c = await queueRun("collect", "poison", ["--output", out]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr, /30 records written .*; 4 input\(s\) failed/);
  const toStdout = await queueRun("collect", "poison", ["--quiet"]);
  assert.equal(toStdout.code, 0, toStdout.stderr);
  assert.equal(toStdout.stdout, await readFile(out, "utf8"), "without --output, the same records on stdout");
  const lines = (await readFile(out, "utf8")).split("\n").slice(0, -1);
  assert.equal(lines.length, n);
  for (let i = 0; i < n; i++) {
    if (!POISON[i]) {
      assert.equal(lines[i], refLines[i], `input ${i}: the same record as the single-process run`);
      continue;
    }
    const r = JSON.parse(lines[i]) as { index: number; error: { code: string; message: string } };
    assert.deepEqual(Object.keys(r), ["index", "error"]);
    assert.equal(r.index, i);
    assert.equal(r.error.code, POISON[i].code, lines[i]);
    assert.match(r.error.message, new RegExp(`^input line ${i + 1}: `));
  }
});

test("a worker with a different model file is refused before it takes a chunk", async () => {
  // The same model with one byte changed (as a different quantization or a re-conversion would be).
  const other = join(tmp, "other.gguf");
  await copyFile(model, other);
  const fh = await open(other, "r+");
  const size = (await fh.stat()).size;
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, size - 1);
  b[0] ^= 1;
  await fh.write(b, 0, 1, size - 1);
  await fh.close();
  const path = join(tmp, "pinned.txt");
  await writeFile(path, Array.from({ length: 20 }, (_, i) => text(i)).join("\n") + "\n");
  const add = await queueRun("add", "pinned", ["--input", path, "--chunk", "10", "--model", model]);
  assert.equal(add.code, 0, add.stderr);
  const w = await queueRun("work", "pinned", ["--model", other, "--until-done"]);
  assert.equal(w.code, 1);
  assert.match(
    w.stderr,
    new RegExp(
      'queue "pinned" is embedded with eg-v1-L2.*\\.gguf \\(sha256 [0-9a-f]{16}…, \\d+ bytes\\), ' +
        "but this model is other\\.gguf .*refusing to work on it \\[MODEL_MISMATCH\\]",
    ),
  );
  assert.doesNotMatch(w.stderr, /working on queue/);
  assert.equal((await bull("pinned").getJobCounts("waiting")).waiting, 2, "no chunk was taken");
  const add2 = await queueRun("add", "pinned", ["--input", path, "--chunk", "10", "--model", other]);
  assert.equal(add2.code, 1);
  assert.match(add2.stderr, /\[MODEL_MISMATCH\]/);
  const add3 = await queueRun("add", "pinned", ["--input", input, "--chunk", "10"]);
  assert.equal(add3.code, 1);
  assert.match(add3.stderr, /queue "pinned" already holds another job \(20 inputs.*\[QUEUE_MISMATCH\]/);
});

test("--results DIR: a failed result write is retried with backoff; a worker without the shared directory is refused", async () => {
  const n = 300,
    path = join(tmp, "dir.txt"),
    dir = join(tmp, "results");
  await writeFile(path, Array.from({ length: n }, (_, i) => text(i)).join("\n") + "\n");
  const add = await queueRun("add", "dir", ["--input", path, "--chunk", "100", "--results", dir, "--backoff-ms", "300"]);
  assert.equal(add.code, 0, add.stderr);
  const elsewhere = await queueRun("work", "dir", ["--model", model, "--results", join(tmp, "not-shared"), "--until-done"]);
  assert.equal(elsewhere.code, 1);
  assert.match(elsewhere.stderr, /not-shared\/dir is not the results directory of queue "dir" \(no \.queue-id file\).*\[QUEUE_MISMATCH\]/);

  // A directory where chunk 1's file goes: its rename fails until the directory is removed.
  const blocker = chunkFile(dir, "dir", 1);
  await mkdir(join(blocker, "x"), { recursive: true });
  const w = worker("dir", ["--until-done"]);
  await w.waitFor(/chunk 1: attempt 1 of 5 failed: .*(EISDIR|ENOTEMPTY|EEXIST)/);
  await rm(blocker, { recursive: true });
  const r = await w.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /all 3 chunks are done\n/);
  const out = join(tmp, "dir-out.jsonl");
  const c = await queueRun("collect", "dir", ["--output", out]);
  assert.equal(c.code, 0, c.stderr);
  assert.ok(
    (await readFile(out)).equals(Buffer.from(refLines.slice(0, n).join("\n") + "\n")),
    "equals the single-process run's first 300 records",
  );

  const drop = await queueRun("drop", "dir");
  assert.equal(drop.code, 0, drop.stderr);
  assert.match(drop.stderr, /dropped queue "dir" and its results in /);
  const gone = await queueRun("status", "dir");
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /there is no queue "dir" on this Redis/);
  assert.deepEqual(await client.keys("*:dir:*"), [], "no key of the dropped queue is left");
});
