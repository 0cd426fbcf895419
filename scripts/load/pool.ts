/**
 * The fixed input pool of a load run and its expected vectors, computed in this process with the
 * library (same model file, same backend as the server), so every vector a server returns can be
 * checked bit for bit against the inputs its own request sent.
 *
 * One forward pass per input gives the raw (pooled, dense, unnormalized) vector; the request
 * variants derive their expected vectors from it with the library's own post-processing
 * (truncateDims, normalize), which is what embedPrepared does after the forward pass.
 */
import type { EmbeddingModel } from "../../src/embed/embedder.js";
import { normalize, truncateDims } from "../../src/embed/pooling.js";
import { Rng } from "../gen/rng.js";

export interface PoolEntry {
  id: number;
  bucket: "short" | "medium" | "long";
  text: string;
  /** What the server feeds the model for `text` (BOS/EOS included); also sent verbatim by the "tokens" variant. */
  tokens: number[];
  /** Expected vector per variant name. */
  expected: Record<VariantName, Float32Array>;
}

export type VariantName = "l2" | "dims256" | "raw";

export interface PoolOptions {
  /** Longest input in tokens (BOS/EOS included). */
  maxTokens: number;
  nShort?: number;
  nMedium?: number;
  seed?: number;
}

const SYLLABLES = [
  "ka",
  "lo",
  "mi",
  "ren",
  "tu",
  "sa",
  "vel",
  "dor",
  "pi",
  "ne",
  "zu",
  "ha",
  "mor",
  "qui",
  "ta",
  "lis",
  "on",
  "er",
  "gra",
  "fe",
];

function word(rng: Rng): string {
  const n = 1 + Math.floor(rng.next() * 3);
  let w = "";
  for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(rng.next() * SYLLABLES.length)];
  return w;
}

/** Token lengths wanted: short 5..32, medium 33..200, long doubling from 512 up to maxTokens. */
export function targetLengths(o: PoolOptions): { bucket: PoolEntry["bucket"]; n: number }[] {
  const nShort = o.nShort ?? 40,
    nMedium = o.nMedium ?? 6;
  const out: { bucket: PoolEntry["bucket"]; n: number }[] = [];
  for (let i = 0; i < nShort; i++) out.push({ bucket: "short", n: 5 + Math.round((27 * i) / Math.max(1, nShort - 1)) });
  for (let i = 0; i < nMedium; i++) out.push({ bucket: "medium", n: Math.round(33 * Math.pow(200 / 33, i / Math.max(1, nMedium - 1))) });
  for (let n = 512; n < o.maxTokens; n *= 2) out.push({ bucket: "long", n });
  if (o.maxTokens > 200) out.push({ bucket: "long", n: o.maxTokens });
  return out;
}

/**
 * A distinct text per target (it starts with its id) whose token count is the smallest at or above
 * the target; a binary search over the number of words keeps tokenizer calls to ~log2(n).
 */
function textOfLength(model: EmbeddingModel, id: number, target: number, rng: Rng): { text: string; tokens: number[] } {
  const words = [`item${id}`];
  while (words.length < target + 8) words.push(word(rng));
  // Counting cuts at the context (truncate), so a probe longer than the model allows is no error.
  const tokensOf = (k: number, truncate = true) => Array.from(model.prepare([words.slice(0, k).join(" ")], { truncate })[0].tokens);
  let lo = 1,
    hi = words.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokensOf(mid).length >= target) hi = mid;
    else lo = mid + 1;
  }
  return { text: words.slice(0, lo).join(" "), tokens: tokensOf(lo, false) };
}

/** Build the pool and compute its expected vectors (one forward pass per input, in groups). */
export async function buildPool(model: EmbeddingModel, o: PoolOptions): Promise<PoolEntry[]> {
  const rng = new Rng(o.seed ?? 20240601);
  const targets = targetLengths(o);
  const drafts = targets.map((t, id) => ({ id, bucket: t.bucket, ...textOfLength(model, id, t.n, rng) }));
  const raw: Float32Array[] = [];
  // Short inputs share forward passes (as they do in the server); long ones go alone.
  for (let i = 0; i < drafts.length; ) {
    let j = i,
      nTok = 0;
    while (j < drafts.length && (j === i || nTok + drafts[j].tokens.length <= 512)) nTok += drafts[j++].tokens.length;
    const prepared = drafts.slice(i, j).map((d, k) => ({ index: k, tokens: Int32Array.from(d.tokens) }));
    raw.push(...(await model.embedPrepared(prepared, { normalize: "none" })));
    i = j;
  }
  return drafts.map((d, i) => ({
    ...d,
    expected: {
      raw: raw[i],
      l2: normalize(raw[i].slice(), "l2"),
      dims256: normalize(truncateDims(raw[i], 256), "l2"),
    },
  }));
}

/**
 * The derivation above must be what the library computes for a request: checked on one entry
 * against model.embed() (a few forward passes). Returns the names of variants that differ.
 */
export async function checkDerivation(model: EmbeddingModel, e: PoolEntry): Promise<string[]> {
  const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
  const bad: string[] = [];
  if (!same((await model.embed([e.text]))[0], e.expected.l2)) bad.push("l2");
  if (!same((await model.embed([e.text], { dimensions: 256 }))[0], e.expected.dims256)) bad.push("dims256");
  if (!same((await model.embed([e.text], { normalize: "none" }))[0], e.expected.raw)) bad.push("raw");
  return bad;
}
