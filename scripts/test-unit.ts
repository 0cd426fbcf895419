/**
 * `npm run test:unit`: the fast tier for a first try on a laptop. It runs every compiled test file
 * under dist/test/ whose static import graph (relative imports, followed transitively) reaches none of
 * the modules that make a test slow or need something outside Node: child processes (the CLI, oracle
 * programs built with g++, redis-server, haproxy, the 60-second load run), Chromium
 * (playwright-core), llama.cpp itself (node-llama-cpp: the parity tests) and the AssemblyScript compiler
 * (assemblyscript/asc: the wasm rebuild check). Classification is by imports, not by a hand-kept list, so a new test lands in
 * the right tier by itself; `--list` prints both tiers. `npm test` runs everything.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Imports that put a test file in the full tier only. */
const FULL_ONLY = new Set([
  "node:child_process",
  "child_process",
  "playwright-core",
  "node:cluster",
  "node-llama-cpp",
  "assemblyscript/asc",
]);

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TESTS = join(ROOT, "dist", "test");

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (e.name.endsWith(".test.js")) out.push(p);
  }
  return out.sort();
}

const IMPORT = /(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^import\s*["']([^"']+)["']/gm;
const memo = new Map<string, string | null>();

/** The first full-tier module that `file` reaches, or null. */
function reachesFullOnly(file: string, seen = new Set<string>()): string | null {
  if (memo.has(file)) return memo.get(file)!;
  if (seen.has(file)) return null;
  seen.add(file);
  let found: string | null = null;
  let src = "";
  try {
    src = readFileSync(file, "utf8");
  } catch {
    return null;
  }
  for (const m of src.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (FULL_ONLY.has(spec)) found = `${relative(ROOT, file)} imports ${spec}`;
    else if (spec.startsWith(".")) found = reachesFullOnly(resolve(dirname(file), spec), seen);
    if (found) break;
  }
  memo.set(file, found);
  return found;
}

const unit: string[] = [];
const full: Array<[string, string]> = [];
for (const f of testFiles(TESTS)) {
  const why = reachesFullOnly(f);
  if (why) full.push([relative(ROOT, f), why]);
  else unit.push(relative(ROOT, f));
}

if (process.argv.includes("--list")) {
  console.log(`unit tier (${unit.length}):\n  ${unit.join("\n  ")}`);
  console.log(`full tier only (${full.length}):\n  ${full.map(([f, w]) => `${f}  (${w})`).join("\n  ")}`);
} else {
  // Files run side by side, one per core up to 4 (npm test runs them one at a time).
  const jobs = Math.max(1, Math.min(4, availableParallelism()));
  const r = spawnSync(process.execPath, ["--test", `--test-concurrency=${jobs}`, ...unit], { cwd: ROOT, stdio: "inherit" });
  process.exit(r.status ?? 1);
}
