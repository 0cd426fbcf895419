/**
 * Long GGUF fuzz campaign: `npm run fuzz -- [--cases 1000000] [--seed 1] [--batch 10000] [--out DIR]
 * [--fixtures DIR] [--fresh]`.
 *
 * Cases come in batches; batch k is fc.sample(fuzzCaseArb) with seed mix(seed, k), so any case can
 * be regenerated from (seed, batch, k, index) alone. DIR (default .cache/fuzz-campaign/seed-<seed>)
 * holds state.json (where to resume, counts, outcome histogram, slowest case, largest memory growth,
 * crash signatures; rewritten every 1000 cases) and crashes.jsonl. Run it again to resume.
 *
 * The cases run in a child process (2 GiB heap) watched by this one: a case that kills the process
 * (V8 out of memory, abort) or hangs (no progress for HANG_MS) is known from the worker's last
 * "starting case" message; it is saved and skipped, and the child restarted. Every crash is saved
 * once per signature as <fixtures>/crash-<sha256[:12]>.gguf (default test/fixtures/fuzz/) with a
 * README line, minimized to its shortest failing prefix when the process survives it;
 * test/gguf/fuzz.test.ts replays every file there.
 * Exit code 1 if this run found a new crash.
 */
import { fork } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { checkCase, minimize } from "./fuzz/harness.js";
import { applyCase, fuzzCaseArb, type FuzzCase } from "./fuzz/mutate.js";

const HANG_MS = 60_000;
const SAVE_EVERY = 1000;

interface State {
  seed: number;
  batch: number;
  cases: number;
  /** Resume point: batch and index of the next case to run. */
  next: { batch: number; index: number };
  elapsedMs: number;
  outcomes: Record<string, number>;
  slowest: { ms: number; at: string };
  maxGrowth: { bytes: number; at: string };
  signatures: string[];
  /** Cases that killed or hung the worker ("batch:index"); skipped on restart. */
  skip: string[];
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
const statePath = join(out, "state.json");
if (![seed, total, batch].every(Number.isSafeInteger) || batch <= 0) {
  console.error("usage: fuzz-campaign [--cases N] [--seed S] [--batch B] [--out DIR] [--fixtures DIR] [--fresh]");
  process.exit(2);
}

const readState = (): State => JSON.parse(readFileSync(statePath, "utf8")) as State;
const writeState = (s: State) => writeFileSync(statePath, JSON.stringify(s, null, 1));
const mix = (s: number, k: number) => (Math.imul(s ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(k + 1, 0xc2b2ae35)) >>> 0;
const batchCases = (k: number): FuzzCase[] => fc.sample(fuzzCaseArb, { seed: mix(seed, k), numRuns: Math.min(batch, total - k * batch) });
const where = (k: number, i: number) => `fuzz-campaign --seed ${seed} --batch ${batch}: batch ${k} case ${i}`;

/** Save a crash as a regression fixture and log it. */
function saveCrash(bytes: Uint8Array, failure: string, c: FuzzCase, seedName: string, at: string): void {
  const name = `crash-${createHash("sha256").update(bytes).digest("hex").slice(0, 12)}.gguf`;
  mkdirSync(fixtures, { recursive: true });
  writeFileSync(join(fixtures, name), bytes);
  appendFileSync(
    join(fixtures, "README.md"),
    `- \`${name}\` (${bytes.length} bytes, seed file ${seedName}; ${at}): was \`${failure.replaceAll("`", "'")}\`\n`,
  );
  appendFileSync(join(out, "crashes.jsonl"), JSON.stringify({ file: name, failure, at, case: c }) + "\n");
  console.log(`  CRASH saved ${name}: ${failure}`);
}

async function worker(): Promise<void> {
  const state = readState();
  const skip = new Set(state.skip);
  const nBatches = Math.ceil(total / batch);
  let last = performance.now();
  let sinceSave = 0;
  const save = () => {
    const now = performance.now();
    state.elapsedMs += now - last;
    last = now;
    writeState(state);
  };
  for (let k = state.next.batch; k < nBatches; k++) {
    const cases = batchCases(k);
    for (let i = k === state.next.batch ? state.next.index : 0; i < cases.length; i++) {
      state.next = { batch: k, index: i + 1 };
      if (skip.has(`${k}:${i}`)) continue;
      // IPC, not a file: a write to disk costs ~3 ms here, more than a case. Node writes the message
      // to the pipe before send() returns when the pipe is empty, so it survives a crash that follows.
      const beat = () => process.send!({ batch: k, index: i });
      beat();
      const { seedName, bytes } = applyCase(cases[i]);
      const r = await checkCase(bytes);
      state.cases++;
      state.outcomes[r.outcome] = (state.outcomes[r.outcome] ?? 0) + 1;
      if (r.ms > state.slowest.ms) state.slowest = { ms: r.ms, at: where(k, i) };
      if (r.growth > state.maxGrowth.bytes) state.maxGrowth = { bytes: r.growth, at: where(k, i) };
      if (r.failure && !state.signatures.includes(r.failure)) {
        state.signatures.push(r.failure);
        saveCrash(await minimize(bytes, r.failure, undefined, beat), r.failure, cases[i], seedName, where(k, i));
        save();
      }
      if (++sinceSave >= SAVE_EVERY) {
        sinceSave = 0;
        save();
      }
    }
    save();
    const rate = state.cases / (state.elapsedMs / 1000);
    const top = Object.entries(state.outcomes)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([o, n]) => `${o} ${((100 * n) / state.cases).toFixed(1)}%`)
      .join(", ");
    console.log(
      `batch ${k + 1}/${nBatches}: ${state.cases.toLocaleString()} cases, ${rate.toFixed(0)}/s, crashes ${state.signatures.length}, slowest ${state.slowest.ms.toFixed(1)} ms, max growth ${(state.maxGrowth.bytes / 2 ** 20).toFixed(1)} MiB | ${top}`,
    );
  }
}

async function supervise(): Promise<number> {
  mkdirSync(out, { recursive: true });
  if (existsSync(statePath) && !process.argv.includes("--fresh")) {
    const prev = readState();
    if (prev.seed !== seed || prev.batch !== batch) {
      console.error(`${statePath} is for seed ${prev.seed} batch ${prev.batch}; use --fresh or another --out`);
      return 2;
    }
    console.log(`resuming at batch ${prev.next.batch} case ${prev.next.index} (${prev.cases.toLocaleString()} cases done)`);
  } else {
    writeState({
      seed,
      batch,
      cases: 0,
      next: { batch: 0, index: 0 },
      elapsedMs: 0,
      outcomes: {},
      slowest: { ms: 0, at: "" },
      maxGrowth: { bytes: 0, at: "" },
      signatures: [],
      skip: [],
    });
  }
  const known = readState().signatures.length;
  for (;;) {
    const child = fork(fileURLToPath(import.meta.url), [...process.argv.slice(2), "--worker"], { execArgv: ["--max-old-space-size=2048"] });
    let hung = false;
    let inflight: { batch: number; index: number; at: number } | undefined;
    child.on("message", (m: { batch: number; index: number }) => (inflight = { ...m, at: Date.now() }));
    const watchdog = setInterval(() => {
      if (inflight && Date.now() - inflight.at > HANG_MS) {
        hung = true;
        child.kill("SIGKILL");
      }
    }, 1000);
    const [code, signal] = await new Promise<[number | null, string | null]>((res) => child.on("exit", (c, s) => res([c, s])));
    clearInterval(watchdog);
    if (code === 0) break;
    if (!inflight) {
      console.error(`worker exited with ${signal ?? code} outside a case`);
      return 3;
    }
    // The in-flight case killed the worker: record it, skip it, restart from the last saved state.
    const { batch: k, index: i } = inflight;
    const c = batchCases(k)[i];
    const { seedName, bytes } = applyCase(c);
    const failure = hung
      ? `hang: no progress for ${HANG_MS / 1000} s`
      : `process died: ${signal ?? `exit code ${code}`} (out of memory or abort)`;
    const state = readState();
    state.skip.push(`${k}:${i}`);
    if (!state.signatures.includes(failure)) {
      state.signatures.push(failure);
      saveCrash(bytes, failure, c, seedName, where(k, i));
    }
    writeState(state);
  }
  const s = readState();
  console.log(
    `done: ${s.cases.toLocaleString()} cases in ${(s.elapsedMs / 1000).toFixed(0)} s of fuzzing; slowest ${s.slowest.ms.toFixed(1)} ms (${s.slowest.at}); max growth ${(s.maxGrowth.bytes / 2 ** 20).toFixed(1)} MiB; outcomes ${JSON.stringify(s.outcomes)}; ${s.signatures.length} distinct crash(es), ${s.signatures.length - known} new in this run`,
  );
  return s.signatures.length > known ? 1 : 0;
}

if (process.argv.includes("--worker")) await worker();
else process.exit(await supervise());
