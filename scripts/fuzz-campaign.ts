/**
 * Long GGUF fuzz campaign: `npm run fuzz -- [--cases 1000000] [--seed 1] [--batch 10000] [--out DIR] [--fresh]
 * [--fixtures DIR]` (default test/fixtures/fuzz).
 *
 * Cases come in batches; batch k is fc.sample(fuzzCaseArb) with seed mix(seed, k), so any batch can
 * be regenerated alone and a run can stop and resume at a batch boundary. DIR (default
 * .cache/fuzz-campaign/seed-<seed>) holds state.json (next batch, counts, outcome histogram,
 * slowest case, largest memory growth; rewritten after every batch) and crashes.jsonl.
 * Every failing case is minimized (shortest failing prefix) and saved once per failure signature
 * as test/fixtures/fuzz/crash-<sha256[:12]>.gguf with a README line; test/fuzz-gguf.test.ts replays
 * every file there. Exit code 1 if this run found a new crash.
 */
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { checkCase, minimize } from "./fuzz/harness.js";
import { applyCase, fuzzCaseArb, type FuzzCase } from "./fuzz/mutate.js";

interface State {
  seed: number;
  batch: number;
  nextBatch: number;
  cases: number;
  elapsedMs: number;
  outcomes: Record<string, number>;
  slowest: { ms: number; batch: number; index: number };
  maxGrowth: { bytes: number; batch: number; index: number };
  signatures: string[];
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

const seed = Number(arg("seed", "1"));
const total = Number(arg("cases", "1000000"));
const batch = Number(arg("batch", "10000"));
const out = resolve(arg("out", join(".cache", "fuzz-campaign", `seed-${seed}`)));
const fixtures = resolve(arg("fixtures", join("test", "fixtures", "fuzz")));
if (![seed, total, batch].every(Number.isSafeInteger) || batch <= 0) {
  console.error("usage: fuzz-campaign [--cases N] [--seed S] [--batch B] [--out DIR] [--fresh]");
  process.exit(2);
}

mkdirSync(out, { recursive: true });
const statePath = join(out, "state.json");
let state: State = { seed, batch, nextBatch: 0, cases: 0, elapsedMs: 0, outcomes: {}, slowest: { ms: 0, batch: -1, index: -1 }, maxGrowth: { bytes: 0, batch: -1, index: -1 }, signatures: [] };
if (existsSync(statePath) && !process.argv.includes("--fresh")) {
  const prev = JSON.parse(readFileSync(statePath, "utf8")) as State;
  if (prev.seed !== seed || prev.batch !== batch) {
    console.error(`${statePath} is for seed ${prev.seed} batch ${prev.batch}; use --fresh or another --out`);
    process.exit(2);
  }
  state = prev;
  console.log(`resuming at batch ${state.nextBatch} (${state.cases.toLocaleString()} cases done)`);
}

/** Save a crash as a regression fixture, once per signature. */
function saveCrash(bytes: Uint8Array, failure: string, c: FuzzCase, seedName: string, where: string): void {
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 12);
  const name = `crash-${hash}.gguf`;
  mkdirSync(fixtures, { recursive: true });
  writeFileSync(join(fixtures, name), bytes);
  const line = `- \`${name}\` (${bytes.length} bytes, from seed file ${seedName}; ${where}): was \`${failure.replaceAll("`", "'")}\`\n`;
  appendFileSync(join(fixtures, "README.md"), line);
  appendFileSync(join(out, "crashes.jsonl"), JSON.stringify({ file: name, failure, where, case: c }, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
  console.log(`  CRASH saved ${name}: ${failure}`);
}

const mix = (s: number, k: number) => (Math.imul(s ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(k + 1, 0xc2b2ae35)) >>> 0;
let newCrashes = 0;
const nBatches = Math.ceil(total / batch);
const started = performance.now();
const casesAtStart = state.cases;

for (let k = state.nextBatch; k < nBatches; k++) {
  const t0 = performance.now();
  const cases = fc.sample(fuzzCaseArb, { seed: mix(seed, k), numRuns: Math.min(batch, total - k * batch) });
  for (let i = 0; i < cases.length; i++) {
    const { seedName, bytes } = applyCase(cases[i]);
    const r = await checkCase(bytes);
    state.outcomes[r.outcome] = (state.outcomes[r.outcome] ?? 0) + 1;
    if (r.ms > state.slowest.ms) state.slowest = { ms: r.ms, batch: k, index: i };
    if (r.growth > state.maxGrowth.bytes) state.maxGrowth = { bytes: r.growth, batch: k, index: i };
    if (r.failure && !state.signatures.includes(r.failure)) {
      state.signatures.push(r.failure);
      newCrashes++;
      saveCrash(await minimize(bytes, r.failure), r.failure, cases[i], seedName, `fuzz-campaign --seed ${seed} --batch ${batch}, batch ${k} case ${i}`);
    }
  }
  state.cases += cases.length;
  state.nextBatch = k + 1;
  state.elapsedMs += performance.now() - t0;
  writeFileSync(statePath, JSON.stringify(state, null, 1));
  const rate = (state.cases - casesAtStart) / ((performance.now() - started) / 1000);
  const top = Object.entries(state.outcomes).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([o, n]) => `${o} ${((100 * n) / state.cases).toFixed(1)}%`).join(", ");
  console.log(`batch ${k + 1}/${nBatches}: ${state.cases.toLocaleString()} cases, ${rate.toFixed(0)}/s, crashes ${state.signatures.length}, slowest ${state.slowest.ms.toFixed(1)} ms, max growth ${(state.maxGrowth.bytes / 2 ** 20).toFixed(1)} MiB | ${top}`);
}

console.log(`done: ${state.cases.toLocaleString()} cases in ${(state.elapsedMs / 1000).toFixed(0)} s of fuzzing; outcomes ${JSON.stringify(state.outcomes)}; ${state.signatures.length} distinct crash(es), ${newCrashes} new in this run`);
process.exit(newCrashes > 0 ? 1 : 0);
