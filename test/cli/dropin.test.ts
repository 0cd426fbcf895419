/**
 * CLI details of issue 14: bench/inspect --help exit 0; tokenize --task; --pooling none prints one
 * row per token; model-loading progress on a TTY; NOT_FOUND for a missing .gguf says how to get
 * one; `list` and `rm` with sizes; `| head` exits quietly on EPIPE (through a real pipe).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.js";
import type { EmbeddingModel } from "../../src/embed/embedder.js";
import { loadModel } from "../../src/node.js";
import { gemmaFixture } from "../helpers/fixtures.js";
import { FIXTURE } from "../helpers/server.js";
import { captureIO } from "../helpers/cli-io.js";

const BIN = fileURLToPath(new URL("../../../bin/gguf-embed.js", import.meta.url));

const io = captureIO;

let path: string;
let model: EmbeddingModel;
before(async () => {
  path = await gemmaFixture(FIXTURE);
  model = await loadModel(path);
});
after(async () => {
  await model?.close();
});

test("bench --help and inspect --help print their usage and exit 0", async () => {
  for (const cmd of ["bench", "inspect"]) {
    const c = io();
    assert.equal(await main([cmd, "--help"], c.io), 0, cmd);
    assert.match(c.out.stdout, new RegExp(`usage: gguf-embed ${cmd}`));
    assert.equal(c.out.stderr, "");
  }
});

test("tokenize --task prepends the task prompt (EmbeddingGemma's model card text)", async () => {
  const c = io();
  assert.equal(await main(["tokenize", "--model", path, "--task", "query", "hello"], c.io), 0);
  const expected = model.tokenizer.encode("task: search result | query: hello", { addSpecial: true, parseSpecial: true });
  assert.deepEqual(JSON.parse(c.out.stdout), expected);
  const d = io();
  assert.equal(await main(["tokenize", "--model", path, "--task", "document", "--title", "T", "hello"], d.io), 0);
  assert.deepEqual(JSON.parse(d.out.stdout), model.tokenizer.encode("title: T | text: hello", { addSpecial: true, parseSpecial: true }));
  const bad = io();
  assert.equal(await main(["tokenize", "--model", path, "--task", "poetry", "x"], bad.io), 2);
  assert.match(bad.out.stderr, /--task must be one of/);
});

test("embed --pooling none prints one row per token (json, jsonl, csv); loading progress shows on a TTY only", async () => {
  const texts = ["hi there", "a"];
  const rows = await model.embed(texts, { pooling: "none" });
  const n = model.prepare(texts).map((p) => p.tokens.length);
  const tty = io({ tty: true });
  assert.equal(await main(["embed", "--model", path, "--pooling", "none", "--format", "jsonl", ...texts], tty.io), 0);
  const lines = tty.out.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as number[][]);
  assert.equal(lines.length, 2);
  lines.forEach((m, i) => {
    assert.equal(m.length, n[i], `input ${i}: one row per token`);
    m.forEach((row, t) => assert.deepEqual(row.map(Math.fround), Array.from(rows[i].subarray(t * 768, (t + 1) * 768)), `row ${t}`));
  });
  assert.match(tty.out.stderr, /\rloading model|loading model:/, "a progress line on a TTY");
  assert.match(tty.out.stderr, /loading model: .*B in /);

  const plain = io();
  assert.equal(await main(["embed", "--model", path, "--pooling", "none", "--format", "csv", "hi there"], plain.io), 0);
  assert.equal(plain.out.stdout.trim().split("\n").length, n[0], "csv: one line per token");
  assert.doesNotMatch(plain.out.stderr, /loading model/, "no progress when stderr is not a TTY");
  const json = io();
  assert.equal(await main(["embed", "--model", path, "--pooling", "none", "hi there"], json.io), 0);
  assert.equal((JSON.parse(json.out.stdout) as number[][][])[0].length, n[0]);
});

test("a missing .gguf file: NOT_FOUND says how to get a model", async () => {
  const c = io();
  assert.equal(await main(["embed", "--model", "embeddinggemma-300M-Q8_0.gguf", "hi"], c.io), 1);
  assert.match(
    c.out.stderr,
    /embeddinggemma-300M-Q8_0\.gguf: no such file; to get a model, run "gguf-embed pull embeddinggemma".*\[NOT_FOUND\]/,
  );
});

test("list shows cached models with sizes (and partial downloads); rm removes one with its sidecar", async () => {
  const cache = await mkdtemp(join(tmpdir(), "ge-cache-"));
  const saved = process.env.GGUF_EMBED_CACHE;
  process.env.GGUF_EMBED_CACHE = cache;
  try {
    const dir = join(cache, "org", "repo");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "m-Q8_0.gguf"), Buffer.alloc(3000));
    await writeFile(
      join(dir, "m-Q8_0.gguf.json"),
      JSON.stringify({ url: "u", repo: "org/repo", file: "m-Q8_0.gguf", nBytes: 3000, sha256: "x", downloadedAt: "" }),
    );
    await writeFile(join(dir, "m-F16.gguf.part"), Buffer.alloc(100));
    const l = io();
    assert.equal(await main(["list"], l.io), 0);
    assert.match(l.out.stdout, /3\.0 kB {2}org\/repo\/m-Q8_0\.gguf\n/);
    assert.match(l.out.stdout, /100 B {2}org\/repo\/m-F16\.gguf {2}\(partial\)/);
    assert.match(l.out.stdout, /3\.1 kB {2}total in /);
    const j = io();
    assert.equal(await main(["list", "--json"], j.io), 0);
    const listed = JSON.parse(j.out.stdout).models as { name: string; nBytes: number; source?: string }[];
    assert.deepEqual(
      listed.map((m) => [m.name, m.nBytes, m.source]),
      [
        ["org/repo/m-F16.gguf", 100, undefined],
        ["org/repo/m-Q8_0.gguf", 3000, "hf:org/repo/m-Q8_0.gguf"],
      ],
    );

    const r = io();
    assert.equal(await main(["rm", "org/repo/m-Q8_0.gguf"], r.io), 0);
    assert.match(r.out.stderr, /removed org\/repo\/m-Q8_0\.gguf \(3\.0 kB\)/);
    assert.equal(existsSync(join(dir, "m-Q8_0.gguf")) || existsSync(join(dir, "m-Q8_0.gguf.json")), false);
    // A model spec works too (resolved offline): hf:org/repo/file.gguf for the partial one.
    const missing = io();
    assert.equal(await main(["rm", "hf:org/repo/nothing.gguf"], missing.io), 1);
    assert.match(missing.out.stderr, /is not in the cache .*\[NOT_FOUND\]/);
    assert.equal(await main(["rm", "org/repo/m-F16.gguf"], io().io), 0);
    assert.equal(existsSync(dir), false, "empty directories are removed");
    const empty = io();
    assert.equal(await main(["list"], empty.io), 0);
    assert.match(empty.out.stderr, /holds no models/);
  } finally {
    if (saved === undefined) delete process.env.GGUF_EMBED_CACHE;
    else process.env.GGUF_EMBED_CACHE = saved;
    await rm(cache, { recursive: true, force: true });
  }
});

test("EPIPE: embed | head -c 50 and bulk --input | head -2 exit quietly (real pipes)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "ge-epipe-"));
  try {
    const input = join(dir, "in.txt");
    await writeFile(input, Array.from({ length: 300 }, (_, i) => `line ${i}`).join("\n") + "\n");
    const texts = Array.from({ length: 40 }, (_, i) => `text ${i}`);
    const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    const cases = [
      `${q(process.execPath)} ${q(BIN)} embed --model ${q(path)} --format jsonl ${texts.map(q).join(" ")} | head -c 50 >/dev/null`,
      `${q(process.execPath)} ${q(BIN)} embed --model ${q(path)} --input ${q(input)} --quiet | head -2 >/dev/null`,
    ];
    for (const cmd of cases) {
      const r = spawnSync("bash", ["-c", `${cmd}; echo "status=\${PIPESTATUS[0]}" >&2`], { encoding: "utf8", timeout: 600_000 });
      assert.match(r.stderr, /status=0\n$/, `${cmd}\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /EPIPE|Error|at /, r.stderr);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
