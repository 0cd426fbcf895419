/**
 * Bulk embedding through the real CLI (node bin/gguf-embed.js, a child process): a run that is
 * interrupted (SIGINT, and kill -9 with a torn last line) and then resumed must end with exactly
 * one record per input, in order, byte-identical to an uninterrupted run.
 * Backend: wasm by default (the plain-JS path takes minutes for a few hundred inputs);
 * GGUF_EMBED_TEST_BACKEND=js runs the same tests on the reference path.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.js";
import { gemmaFixture } from "../helpers/fixtures.js";
import { capture } from "../helpers/cli-io.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const BACKEND = process.env.GGUF_EMBED_TEST_BACKEND ?? "wasm";
const N = 300,
  BATCH = 8;
const WORDS = ["cats", "dogs", "red planet", "tea", "the sea", "rain", "a quiet road", "music", "ice", "bread"];
let fixture: string, tmp: string, input: string, reference: string[];

function cli(args: string[]): ChildProcess & { done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [join(ROOT, "bin", "gguf-embed.js"), "embed", "--model", fixture, "--backend", BACKEND, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  child.stdout!.resume();
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((res) =>
    child.on("close", (code, signal) => res({ code, signal, stderr })),
  );
  return Object.assign(child, { done });
}

async function lineCount(path: string): Promise<number> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text.split("\n").length - 1;
}

/** Interrupt `child` with `signal` once `path` holds at least `minLines` complete lines. */
async function interruptAfter(child: ReturnType<typeof cli>, path: string, minLines: number, signal: NodeJS.Signals): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) assert.fail(`the run ended before ${minLines} lines were written`);
    if ((await lineCount(path)) >= minLines) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill(signal);
}

function checkFinal(text: string): void {
  const lines = text.split("\n");
  assert.equal(lines.pop(), "", "the output ends with a newline");
  assert.equal(lines.length, N, "one line per input");
  lines.forEach((l, i) => assert.equal((JSON.parse(l) as { index: number }).index, i));
  assert.equal(lines.length, reference.length);
  for (let i = 0; i < N; i++) assert.equal(lines[i], reference[i], `record ${i} equals the uninterrupted run's`);
}

before(async () => {
  fixture = await gemmaFixture({ nLayer: 6, weightType: "Q8_0", dense: true });
  tmp = await mkdtemp(join(tmpdir(), "gguf-embed-bulk-"));
  input = join(tmp, "input.txt");
  await writeFile(input, Array.from({ length: N }, (_, i) => `${WORDS[i % WORDS.length]} ${i}`).join("\n") + "\n");
  // The uninterrupted run every interrupted one is compared against.
  const out = join(tmp, "reference.jsonl");
  const r = await cli(["--input", input, "--output", out, "--batch", String(BATCH)]).done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`embed: ${N} inputs done \\(${N} this run\\) in \\d+`));
  reference = (await readFile(out, "utf8")).split("\n").slice(0, -1);
  assert.equal(reference.length, N);
  const first = JSON.parse(reference[0]) as { index: number; embedding: number[] };
  assert.deepEqual(Object.keys(first), ["index", "embedding"]);
  assert.equal(first.embedding.length, 768);
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test("SIGINT mid-run finishes the batch in flight and exits 130; --resume completes it exactly", async () => {
  const out = join(tmp, "sigint.jsonl");
  const child = cli(["--input", input, "--output", out, "--batch", String(BATCH)]);
  await interruptAfter(child, out, 40, "SIGINT");
  const r = await child.done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /SIGINT: finishing the current batch/);
  const m = /stopped after (\d+) inputs \(\d+ this run\); continue with --resume/.exec(r.stderr);
  assert.ok(m, r.stderr);
  const k = Number(m[1]);
  const text = await readFile(out, "utf8");
  assert.ok(text.endsWith("\n"), "a graceful stop leaves only complete lines");
  assert.equal(await lineCount(out), k);
  assert.ok(k >= 40 && k < N && k % BATCH === 0, `stopped mid-run at a batch boundary (${k})`);

  const r2 = await cli(["--input", input, "--output", out, "--batch", String(BATCH), "--resume"]).done;
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, new RegExp(`resuming after ${k} inputs already in`));
  assert.match(r2.stderr, new RegExp(`${N} inputs done \\(${N - k} this run\\)`));
  checkFinal(await readFile(out, "utf8"));
});

test("kill -9 mid-run, with a torn last line: --resume drops the partial line and completes exactly", async () => {
  const out = join(tmp, "kill9.jsonl");
  const child = cli(["--input", input, "--output", out, "--batch", "5"]);
  await interruptAfter(child, out, 40, "SIGKILL");
  const r = await child.done;
  assert.equal(r.signal, "SIGKILL");
  const complete = (await readFile(out, "utf8")).lastIndexOf("\n") + 1;
  const k = (await readFile(out, "utf8")).slice(0, complete).split("\n").length - 1;
  assert.ok(k >= 40 && k < N, `killed mid-run (${k} lines)`);
  // A kill can stop a write half-way: make sure the file ends with half of the next record.
  const torn = reference[k].slice(0, reference[k].length >> 1);
  await writeFile(out, (await readFile(out)).subarray(0, complete));
  await appendFile(out, torn);

  const r2 = await cli(["--input", input, "--output", out, "--batch", String(BATCH), "--resume"]).done;
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, new RegExp(`dropped a partial last line \\(${Buffer.byteLength(torn)} bytes\\)`));
  assert.match(r2.stderr, new RegExp(`resuming after ${k} inputs`));
  checkFinal(await readFile(out, "utf8"));
});

test("an existing output needs --resume or --overwrite; a foreign output is not appended to", async () => {
  const out = join(tmp, "exists.jsonl");
  await writeFile(out, reference.slice(0, 3).join("\n") + "\n");
  const c = capture();
  assert.equal(await main(["embed", "--model", fixture, "--input", input, "--output", out], c.io), 1);
  assert.match(c.err, /exists\.jsonl already exists; pass --resume to continue it or --overwrite to start over \[BAD_OPTION\]/);
  // Records that do not start at input 0 (e.g. another run's tail): refuse, before loading anything.
  await writeFile(out, reference.slice(5, 8).join("\n") + "\n");
  const c2 = capture();
  assert.equal(await main(["embed", "--model", fixture, "--input", input, "--output", out, "--resume"], c2.io), 1);
  assert.match(
    c2.err,
    /line 1 of .*exists\.jsonl should be the record of input 0 but is the record of input 5; refusing to append \[BAD_INPUT\]/,
  );
  assert.equal((await stat(out)).size, Buffer.byteLength(reference.slice(5, 8).join("\n") + "\n"), "untouched");
  const c3 = capture();
  assert.equal(await main(["embed", "--model", fixture, "--resume", "hello"], c3.io), 1);
  assert.match(c3.err, /texts as arguments cannot be combined with --input\/--output/);
});

test("--input without --output streams records to stdout; --jsonl takes JSON strings and token ids", async () => {
  const small = join(tmp, "small.jsonl");
  await writeFile(small, `${JSON.stringify(`${WORDS[0]} 0`)}\n[2, 9259, 1]\n${JSON.stringify(`${WORDS[2]} 2`)}\n`);
  const c = capture();
  assert.equal(await main(["embed", "--model", fixture, "--backend", BACKEND, "--input", small, "--jsonl", "--quiet"], c.io), 0, c.err);
  const lines = c.out.split("\n").slice(0, -1);
  assert.equal(lines.length, 3);
  assert.equal(lines[0], reference[0]);
  assert.equal(lines[2], reference[2]);
  assert.deepEqual(Object.keys(JSON.parse(lines[1])), ["index", "embedding"]);
  assert.equal(JSON.parse(lines[1]).index, 1);
  assert.equal(c.err, "", "--quiet");
  const bad = join(tmp, "bad.jsonl");
  await writeFile(bad, `"ok"\nnot json\n`);
  const c2 = capture();
  assert.equal(await main(["embed", "--model", fixture, "--backend", BACKEND, "--input", bad, "--jsonl", "--quiet"], c2.io), 1);
  assert.match(c2.err, /input line 2: not valid JSON/);
});
