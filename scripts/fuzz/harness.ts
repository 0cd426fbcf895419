/**
 * One fuzz case: hand bytes to everything that reads an untrusted GGUF and classify what happened.
 * A case is clean when it loads, or throws an EmbedError with a known code; it must also finish
 * within MAX_MS and not grow memory by more than MAX_GROWTH + the file size. Anything else is a
 * failure with a one-line signature (used to deduplicate and minimize campaign crashes).
 *
 * Memory is measured three ways, because no single one is reliable: arrayBuffers and external
 * right after the case (catches retained or not-yet-collected buffers) and the peak RSS during the
 * case (Linux: /proc/self/status VmHWM after resetting it through /proc/self/clear_refs, which
 * catches memory that was touched and freed again; the baseline is the RSS read right after that
 * reset). Where the peak cannot be reset (no writable clear_refs: other systems, some sandboxes),
 * getrusage's lifetime peak (ru_maxrss) stands in: when it rose during the case, the case set it.
 * A case over a limit is re-run once after a forced GC and after the frees it starts have
 * landed (settleHeap), so GC timing and garbage from earlier cases cannot cause a false failure.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { loadFromSources } from "../../src/embed/load.js";
import { EmbedError, type EmbedErrorCode } from "../../src/errors.js";
import { getString } from "../../src/gguf/keys.js";
import { readTensorData } from "../../src/gguf/reader.js";
import { ArrayBufferSource, type ByteSource } from "../../src/gguf/source.js";
import { readGGUFParts } from "../../src/gguf/split.js";
import { createTokenizer } from "../../src/tokenizer/index.js";

export const MAX_MS = 1000;
export const MAX_GROWTH = 64 << 20;

/** Every EmbedErrorCode; the Record type makes the compiler keep this list complete and exact. */
const CODES: Record<EmbedErrorCode, true> = {
  GGUF_BAD_MAGIC: true,
  GGUF_BAD_VERSION: true,
  GGUF_BIG_ENDIAN: true,
  GGUF_TRUNCATED: true,
  GGUF_BAD_VALUE_TYPE: true,
  GGUF_BAD_KEY: true,
  GGUF_DUPLICATE_KEY: true,
  GGUF_DUPLICATE_TENSOR: true,
  GGUF_BAD_ALIGNMENT: true,
  GGUF_BAD_TENSOR: true,
  GGUF_BAD_OFFSET: true,
  GGUF_LIMIT: true,
  GGUF_BAD_SPLIT: true,
  GGUF_KEY_MISSING: true,
  GGUF_KEY_TYPE: true,
  UNSUPPORTED_TYPE: true,
  TENSOR_MISSING: true,
  TENSOR_SHAPE: true,
  UNSUPPORTED_ARCH: true,
  UNSUPPORTED_TOKENIZER: true,
  BAD_HPARAMS: true,
  BAD_VOCAB: true,
  TOKEN_OUT_OF_RANGE: true,
  INPUT_TOO_LONG: true,
  BAD_INPUT: true,
  BAD_OPTION: true,
  NON_FINITE_OUTPUT: true,
  MODEL_CLOSED: true,
  IO_ERROR: true,
  DOWNLOAD_FAILED: true,
  CHECKSUM_MISMATCH: true,
  UNAUTHORIZED: true,
  NOT_FOUND: true,
  OFFLINE: true,
  MISSING_DEPENDENCY: true,
  REDIS_ERROR: true,
  MODEL_MISMATCH: true,
  QUEUE_MISMATCH: true,
  QUEUE_INCOMPLETE: true,
  NON_FINITE_WEIGHT: true,
  MODEL_TOO_LARGE: true,
  LOCKED: true,
  ABORTED: true,
  DOWNLOAD_STALLED: true,
};

export const PROBE_TEXT = "hi <start_of_turn>东🦙 é\u0000";

/** Thrown for a property the reader's result must have even when it accepts the file. */
class Invariant extends Error {}

function invariant(ok: boolean, what: string): void {
  if (!ok) throw new Invariant(what);
}

/**
 * Everything a server does with an uploaded GGUF: parse (readGGUFParts runs readGGUF), read each
 * tensor, build the tokenizer and tokenize, and for gemma-embedding files load, bind and embed.
 * Returns "ok" or the EmbedError code; throws anything else.
 */
export async function exercise(bytes: Uint8Array, source?: ByteSource): Promise<string> {
  const src = source ?? new ArrayBufferSource(bytes, "fuzz.gguf");
  try {
    const file = await readGGUFParts([src]);
    const names = new Set<string>();
    for (const t of file.tensors) {
      invariant(!names.has(t.name), `duplicate tensor ${t.name} accepted`);
      names.add(t.name);
      invariant(
        t.nDims >= 1 && t.nDims <= 4 && t.ne.every((d) => Number.isSafeInteger(d) && d >= 0),
        `tensor ${t.name} has bad ne ${t.ne.join(",")}`,
      );
      invariant(
        t.byteOffset % file.alignment === 0 && t.byteOffset >= file.dataOffset && t.byteOffset + t.nBytes <= src.nBytes,
        `tensor ${t.name} range ${t.byteOffset}+${t.nBytes} not checked`,
      );
      invariant((await readTensorData(t)).byteLength === t.nBytes, `tensor ${t.name} read length`);
    }
    if (file.metadata.has("tokenizer.ggml.model")) {
      const tok = createTokenizer(file.metadata);
      const ids = tok.encode(PROBE_TEXT);
      invariant(
        ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.nVocab),
        "token id out of range",
      );
      tok.decode(ids);
    }
    if (file.metadata.has("general.architecture") && getString(file.metadata, "general.architecture") === "gemma-embedding") {
      const model = await loadFromSources([src]);
      try {
        const [v] = await model.embed([PROBE_TEXT]);
        // pooling_type 0 ("none") gives one row per token
        invariant(
          v.length > 0 && v.length % model.info.nEmbdOut === 0 && v.every(Number.isFinite),
          "embedding has the wrong size or is not finite",
        );
      } finally {
        await model.close();
      }
    }
    return "ok";
  } catch (e) {
    if (e instanceof EmbedError && Object.hasOwn(CODES, e.code) && e.message.length > 0) return e.code;
    throw e;
  }
}

let hwmUsable: boolean | undefined;
let hwmAllowed = true;
/** Where the case's peak RSS comes from: "VmHWM" (reset per case), "ru_maxrss" (lifetime peak), or "none". */
export function peakRssSource(): "VmHWM" | "ru_maxrss" | "none" {
  if (resetPeakRss() !== undefined) return "VmHWM";
  return process.resourceUsage().maxRSS > 0 ? "ru_maxrss" : "none";
}
/** Tests: false makes the judge use what a system without a writable clear_refs has (ru_maxrss). */
export function allowPeakReset(on: boolean): void {
  hwmAllowed = on;
}
/**
 * Reset the peak RSS to the current RSS and return that RSS in bytes, read from the same
 * /proc/self/status right after the reset; undefined where the peak cannot be reset.
 * The baseline must come from here, not from an RSS read before the reset: V8 frees dead
 * ArrayBuffers on a background thread, and a free that lands between the two reads lowered the
 * RSS under the earlier baseline, so a spike of the same size went unseen (measured: 9 cases in
 * 100 back to back, and every re-run after a forced GC).
 */
function resetPeakRss(): number | undefined {
  if (hwmUsable === false || !hwmAllowed) return undefined;
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    hwmUsable = true;
  } catch {
    hwmUsable = false;
    return undefined;
  }
  return procStatus().rss;
}
/** VmHWM (peak RSS since the last reset) and VmRSS, in bytes. */
function procStatus(): { hwm: number; rss: number } {
  const s = readFileSync("/proc/self/status", "utf8");
  const kb = (re: RegExp) => Number(re.exec(s)?.[1] ?? 0) * 1024;
  return { hwm: kb(/VmHWM:\s+(\d+) kB/), rss: kb(/VmRSS:\s+(\d+) kB/) };
}

/** Collect garbage and wait (at most 3 s) until the RSS stops falling: the frees V8 hands to its background threads have landed. */
export async function settleHeap(): Promise<void> {
  forceGc();
  let last = process.memoryUsage().rss;
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const now = process.memoryUsage().rss;
    if (last - now < 1 << 20) return;
    last = now;
  }
}

let gcFn: (() => void) | undefined;
export function forceGc(): void {
  if (!gcFn) {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc") as () => void;
  }
  gcFn();
}

export interface CaseResult {
  /** "ok" or an EmbedError code; "FAIL" when failure is set. */
  outcome: string;
  ms: number;
  /** Largest of the arrayBuffers, external and peak-RSS growths, in bytes. */
  growth: number;
  failure?: string;
  error?: unknown;
}

/** measure()'s result, with the peak-RSS growth alone, and whether that peak was seen (false: ru_maxrss did not rise, so the peak is unknown). */
interface Measured extends CaseResult {
  peak: number;
  peakSeen: boolean;
}

async function measure(bytes: Uint8Array, run: (b: Uint8Array) => Promise<string>): Promise<Measured> {
  const m0 = process.memoryUsage();
  const base = resetPeakRss();
  const life0 = base === undefined ? process.resourceUsage().maxRSS : 0; // kB
  const t0 = performance.now();
  let outcome: string;
  let error: unknown;
  try {
    outcome = await run(bytes);
  } catch (e) {
    outcome = "FAIL";
    error = e;
  }
  const ms = performance.now() - t0;
  const m1 = process.memoryUsage();
  // Garbage from earlier cases that was collected during this one lowers the RSS under the peak, so
  // it is taken off the baseline (an overestimate at worst, which the re-run after a GC settles).
  const freed = Math.max(0, m0.arrayBuffers - m1.arrayBuffers);
  const life1 = base === undefined ? process.resourceUsage().maxRSS : 0;
  const peakSeen = base !== undefined || life1 > life0;
  const peak = (base !== undefined ? procStatus().hwm - base : (peakSeen ? life1 * 1024 : m1.rss) - m0.rss) + freed;
  const growth = Math.max(m1.arrayBuffers - m0.arrayBuffers, m1.external - m0.external, peak);
  return { outcome, ms, growth, error, peak, peakSeen };
}

/** Signature of an unexpected exception: class, code if any, and message without numbers. */
export function signature(e: unknown): string {
  if (e instanceof Invariant) return `invariant: ${e.message.replace(/\d+/g, "N")}`;
  if (e instanceof Error)
    return `${e.constructor.name}${"code" in e ? `(${String(e.code)})` : ""}: ${e.message.split("\n")[0].replace(/\d+/g, "N").slice(0, 160)}`;
  return `non-Error thrown: ${String(e).slice(0, 160)}`;
}

/** Run one case and judge it. `run` defaults to exercise(); tests pass deliberately bad ones. */
export async function checkCase(bytes: Uint8Array, run: (b: Uint8Array) => Promise<string> = exercise): Promise<CaseResult> {
  const limit = MAX_GROWTH + bytes.length;
  let r: Measured = await measure(bytes, run);
  if (r.outcome !== "FAIL" && (r.ms > MAX_MS || r.growth > limit)) {
    await settleHeap(); // rule out GC timing and garbage left by earlier cases, then judge a second run
    const first = r;
    r = await measure(bytes, run);
    // ru_maxrss only rises: a re-run that reaches the first run's peak again cannot show it
    if (first.peakSeen && !r.peakSeen) r.growth = Math.max(r.growth, first.peak);
  }
  // memory before time: growth does not depend on how busy the machine is, so it is the better signature
  if (r.outcome === "FAIL") r.failure = signature(r.error);
  else if (r.growth > limit)
    r.failure = `memory: grew ${(r.growth / 2 ** 20).toFixed(1)} MiB for a ${bytes.length}-byte file (limit ${(limit / 2 ** 20).toFixed(1)} MiB)`;
  else if (r.ms > MAX_MS) r.failure = `slow: ${r.ms.toFixed(0)} ms (limit ${MAX_MS})`;
  return r;
}

/** Shortest prefix (in ~64 steps) that fails with the same signature; the original if none does. */
export async function minimize(
  bytes: Uint8Array,
  failure: string,
  run?: (b: Uint8Array) => Promise<string>,
  onStep?: () => void,
): Promise<Uint8Array> {
  const step = Math.max(1, Math.ceil(bytes.length / 64));
  for (let n = step; n < bytes.length; n += step) {
    onStep?.();
    const cut = bytes.slice(0, n);
    if ((await checkCase(cut, run)).failure === failure) return cut;
  }
  return bytes;
}
