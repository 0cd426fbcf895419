/** Synthetic model fixtures, generated on first use into .cache/fixtures and reused (keyed by options). */
import { gemmaEmbeddingGGUF, type GemmaGenOptions } from "../../scripts/gen/embeddinggemma.js";
import { qwen3GGUF, type Qwen3GenOptions } from "../../scripts/gen/qwen3.js";
import { cachedFixture } from "../../scripts/gen/write.js";

/** Bump when the generator's output changes, so stale cached fixtures are not reused. */
const GEN_VERSION = 1;

export function fixtureName(o: GemmaGenOptions): string {
  const dims = o.nEmbd !== undefined ? `d${o.nEmbd}h${o.nHead}kv${o.nHeadKv}hd${o.headDim}ff${o.nFf}` : "";
  const over = o.typeOverrides ? `ov${hash(JSON.stringify(o.typeOverrides))}` : "";
  const parts = [
    `eg-v${GEN_VERSION}`,
    `L${o.nLayer ?? 24}`,
    dims,
    o.weightType ?? "Q8_0",
    o.embdType ? `e${o.embdType}` : "",
    over,
    o.dense ? "dense" : "",
    o.postNormScale !== undefined && o.postNormScale !== 1 ? `pn${o.postNormScale}` : "",
    o.seed !== undefined ? `s${o.seed}` : "",
    o.nSwa !== undefined ? `w${o.nSwa}` : "",
    o.swaPattern !== undefined ? `sp${typeof o.swaPattern === "number" ? o.swaPattern : o.swaPattern.map(Number).join("")}` : "",
    o.conversion === "naive" ? "naive" : "",
    o.writeFreqBaseSwa === false ? "noswabase" : "",
    o.layout === "ollama" ? "ollama" : "",
    o.fusedQkv ? "qkv" : "",
  ];
  return parts.filter(Boolean).join("-") + ".gguf";
}

/** A short stable hash for file names (FNV-1a, hex). */
function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16);
}

export function gemmaFixture(o: GemmaGenOptions): Promise<string> {
  return cachedFixture(fixtureName(o), () => gemmaEmbeddingGGUF(o));
}

/** Small and fast: 2 layers, 256 wide, Q8_0, Dense head, the real Gemma 3 vocabulary (the queue tests' model). */
export const SMALL_GEMMA = {
  nLayer: 2,
  nEmbd: 256,
  nHead: 1,
  nHeadKv: 1,
  headDim: 256,
  nFf: 512,
  weightType: "Q8_0",
  embdType: "Q8_0",
  seed: 7,
  dense: true,
} as const satisfies GemmaGenOptions;

/**
 * 6 layers (local and global, period 6), 256 wide, 2 query heads sharing one KV head of 128 (GQA as
 * in the real model), Q8_0: for tests of layouts, keys and weight splits, where the width is not what
 * is under test; its fixtures and the js backend's runs are a fraction of the 768-wide model's.
 */
export const NARROW_GEMMA = {
  nLayer: 6,
  nEmbd: 256,
  nHead: 2,
  nHeadKv: 1,
  headDim: 128,
  nFf: 512,
  weightType: "Q8_0",
} as const satisfies GemmaGenOptions;

/** Bump when scripts/gen/qwen3.ts's output changes. */
const QWEN3_GEN_VERSION = 1;

/** A synthetic qwen3 GGUF (scripts/gen/qwen3.ts), cached by options. */
export function qwen3Fixture(o: Qwen3GenOptions): Promise<string> {
  const parts = [
    `qwen3-v${QWEN3_GEN_VERSION}`,
    `L${o.nLayer ?? 28}`,
    o.weightType ?? "Q8_0",
    o.embdType ? `e${o.embdType}` : "",
    o.downScale !== undefined && o.downScale !== 1 ? `ds${o.downScale}` : "",
    o.seed !== undefined ? `s${o.seed}` : "",
  ];
  return cachedFixture(parts.filter(Boolean).join("-") + ".gguf", () => qwen3GGUF(o));
}
