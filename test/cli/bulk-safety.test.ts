/**
 * Bulk mode's output file (issue 15, items 18-20), through the real CLI:
 * - two runs on the same output at once: the second fails at once with LOCKED (both used to exit 0,
 *   leaving 2,900 lines for 1,500 inputs);
 * - a full disk (the output is a link to /dev/full): one clear IO_ERROR naming the file, no stack;
 * - --resume checks every line: a damaged or missing middle line is refused, naming the line and
 *   the good bytes before it; --resume --verify also parses each line.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.js";
import { gemmaFixture } from "../helpers/fixtures.js";
import { capture } from "../helpers/cli-io.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const N = 40;
let fixture: string, tmp: string, input: string, reference: string[];

function cli(args: string[]) {
  const child = spawn(
    process.execPath,
    [join(ROOT, "bin", "gguf-embed.js"), "embed", "--model", fixture, "--backend", "wasm", "--threads", "1", ...args],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  child.stdout.resume();
  const done = new Promise<{ code: number | null; stderr: string }>((res) => child.on("close", (code) => res({ code, stderr })));
  return { child, done };
}

before(async () => {
  fixture = await gemmaFixture({ nLayer: 6, weightType: "Q8_0", dense: true });
  tmp = await mkdtemp(join(tmpdir(), "gguf-embed-bulk-safety-"));
  input = join(tmp, "input.txt");
  await writeFile(input, Array.from({ length: N }, (_, i) => `line number ${i} of the input`).join("\n") + "\n");
  const out = join(tmp, "reference.jsonl");
  const r = await cli(["--input", input, "--output", out, "--batch", "4", "--quiet"]).done;
  assert.equal(r.code, 0, r.stderr);
  reference = (await readFile(out, "utf8")).split("\n").slice(0, -1);
  assert.equal(reference.length, N);
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test("item 18: a second run on the same output fails at once with LOCKED; the first completes exactly", async () => {
  const out = join(tmp, "twice.jsonl");
  const a = cli(["--input", input, "--output", out, "--batch", "2", "--resume"]);
  const lines = async () => (await readFile(out, "utf8").catch(() => "")).split("\n").length - 1;
  for (const t0 = Date.now(); (await lines()) < 2 && a.child.exitCode === null && Date.now() - t0 < 60_000; )
    await new Promise((r) => setTimeout(r, 20));
  assert.ok((await lines()) >= 2 && a.child.exitCode === null, "the first run is writing");
  const b = await cli(["--input", input, "--output", out, "--batch", "2", "--resume"]).done;
  assert.equal(b.code, 1, b.stderr);
  assert.match(
    b.stderr,
    new RegExp(`twice\\.jsonl is locked by process ${a.child.pid} \\(.*twice\\.jsonl\\.lock\\); wait for it to finish \\[LOCKED\\]`),
  );
  const ra = await a.done;
  assert.equal(ra.code, 0, ra.stderr);
  assert.deepEqual((await readFile(out, "utf8")).split("\n").slice(0, -1), reference, "exactly one record per input, in order");
  assert.equal(existsSync(`${out}.lock`), false, "released");
});

test("item 19: a full disk is one IO_ERROR naming the output, without a stack; the lock is released", async () => {
  const out = join(tmp, "full.jsonl");
  await symlink("/dev/full", out);
  const c = capture();
  assert.equal(await main(["embed", "--model", fixture, "--input", input, "--output", out, "--batch", "4", "--quiet"], c.io), 1);
  assert.match(
    c.err,
    /^gguf-embed embed: .*full\.jsonl: cannot write: no space left on device \(ENOSPC\); the records written before this batch are complete in the file.* \[IO_ERROR\]\n$/,
  );
  assert.doesNotMatch(c.err, /\n\s+at /);
  assert.equal(existsSync(`${out}.lock`), false);
});

test("item 20: --resume refuses a damaged or missing middle line, naming it; --verify also parses every line", async () => {
  const write = (lines: string[], name: string) => writeFile(join(tmp, name), lines.join("\n") + "\n").then(() => join(tmp, name));
  const resume = async (out: string, extra: string[] = []) => {
    const c = capture();
    const code = await main(["embed", "--model", fixture, "--input", input, "--output", out, "--resume", "--quiet", ...extra], c.io);
    return { code, err: c.err };
  };
  const good = reference.slice(0, 10);
  const goodBytes = (k: number) => Buffer.byteLength(good.slice(0, k).join("\n") + "\n");

  const missing = await write([...good.slice(0, 4), ...good.slice(5)], "missing.jsonl");
  let r = await resume(missing);
  assert.equal(r.code, 1);
  assert.match(
    r.err,
    new RegExp(
      `line 5 of .*missing\\.jsonl should be the record of input 4 but is the record of input 5; refusing to append; its first 4 lines \\(${goodBytes(4)} bytes\\) are good: keep them with "truncate -s ${goodBytes(4)} .*missing\\.jsonl" and rerun \\[BAD_INPUT\\]`,
    ),
  );

  const garbage = await write([...good.slice(0, 6), "\u0000\u0000garbage", ...good.slice(7)], "garbage.jsonl");
  r = await resume(garbage);
  assert.match(r.err, /line 7 of .*garbage\.jsonl should be the record of input 6 but is not a record/);

  const cut = await write([...good.slice(0, 2), good[2].slice(0, 100), ...good.slice(3)], "cut.jsonl");
  r = await resume(cut);
  assert.match(r.err, /line 3 of .*cut\.jsonl should be the record of input 2 but is cut or damaged at its end/);

  // A damaged number keeps the line's shape: only --verify sees it.
  const damaged = good.slice();
  damaged[3] = damaged[3].replace(/,(-?0\.\d)/, ",x$1");
  assert.notEqual(damaged[3], good[3]);
  const inner = await write(damaged, "inner.jsonl");
  r = await resume(inner, ["--verify"]);
  assert.match(r.err, /line 4 of .*inner\.jsonl should be the record of input 3 but is not valid JSON/);
  assert.equal((await stat(inner)).size, Buffer.byteLength(damaged.join("\n") + "\n"), "a refused file is left untouched");

  // An intact prefix resumes (with --verify too) and completes exactly.
  const ok = await write(good, "ok.jsonl");
  r = await resume(ok, ["--verify", "--backend", "wasm", "--batch", "4"]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual((await readFile(ok, "utf8")).split("\n").slice(0, -1), reference);
});
