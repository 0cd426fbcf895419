/**
 * The shape of src/'s import graph (README "Where things are"): no import circle between files
 * (type-only imports included), and dependencies that point one way between folders:
 * errors → tensor → gguf, quant → tokenizer, runtime → kernels → models → embed → node → server → the entries
 * (index.ts, node.ts) → cli/queue (the command line is a user of the Node entry).
 * Reads the TypeScript sources, so it checks what a reader sees, type imports included.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "src");

/** A folder may import folders of a lower rank and its own; cli and queue share a rank (the queue reuses the CLI's record format). */
const RANK: Record<string, number> = {
  "errors.ts": 0,
  tensor: 1,
  gguf: 2,
  quant: 2,
  tokenizer: 3,
  runtime: 3,
  kernels: 4,
  models: 5,
  embed: 6,
  node: 7,
  server: 8,
  "index.ts": 9,
  "node.ts": 10,
  cli: 11,
  queue: 11,
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith(".ts") && e.name !== "binary.ts") out.push(p);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)[^;]*?from\s*["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g;
const graph = new Map<string, string[]>();
for (const f of sources(SRC)) {
  const deps: string[] = [];
  for (const m of readFileSync(f, "utf8").matchAll(IMPORT)) {
    deps.push(normalize(join(dirname(f), (m[1] ?? m[2])!.replace(/\.js$/, ".ts"))));
  }
  graph.set(f, deps);
}
const top = (f: string) => relative(SRC, f).split("/")[0]!;

test("the source graph was read (a guard against an empty scan)", () => {
  assert.ok(graph.size > 100, `${graph.size} files`);
  assert.ok([...graph.values()].reduce((n, d) => n + d.length, 0) > 300);
});

test("no import circle between files in src/ (type-only imports included)", () => {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const circles: string[] = [];
  const visit = (f: string) => {
    state.set(f, 1);
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 1) circles.push([...stack.slice(stack.indexOf(d)), d].map((x) => relative(SRC, x)).join(" -> "));
      else if (!state.has(d) && graph.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  assert.deepEqual(circles, []);
});

test("dependencies point one way between folders; quant/ never imports kernels/", () => {
  const wrong: string[] = [];
  for (const [f, deps] of graph) {
    const from = top(f);
    assert.ok(from in RANK, `src/${from} has no rank in this test: place it in the stairs`);
    for (const d of deps) {
      const to = top(d);
      if (to !== from && RANK[to]! >= RANK[from]! && !(RANK[to] === RANK[from] && from !== "quant"))
        wrong.push(`${relative(SRC, f)} -> ${relative(SRC, d)}`);
      if (from === "quant" && to === "kernels") wrong.push(`${relative(SRC, f)} -> ${relative(SRC, d)}`);
    }
  }
  assert.deepEqual(wrong, []);
});
