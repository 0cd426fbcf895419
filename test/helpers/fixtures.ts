/** Synthetic model fixtures, generated on first use into .cache/fixtures and reused (keyed by options). */
import { gemmaEmbeddingGGUF, type GemmaGenOptions } from "../../scripts/gen/embeddinggemma.js";
import { cachedFixture } from "../../scripts/gen/write.js";

/** Bump when the generator's output changes, so stale cached fixtures are not reused. */
const GEN_VERSION = 1;

export function fixtureName(o: GemmaGenOptions): string {
  const dims = o.nEmbd !== undefined ? `d${o.nEmbd}h${o.nHead}kv${o.nHeadKv}hd${o.headDim}ff${o.nFf}` : "";
  const over = Object.entries(o.typeOverrides ?? {}).map(([k, v]) => `${k}=${v}`).join("+");
  const parts = [
    `eg-v${GEN_VERSION}`, `L${o.nLayer ?? 24}`, dims, o.weightType ?? "Q8_0", o.embdType ? `e${o.embdType}` : "", over,
    o.dense ? "dense" : "", o.postNormScale !== undefined && o.postNormScale !== 1 ? `pn${o.postNormScale}` : "",
    o.seed !== undefined ? `s${o.seed}` : "", o.conversion === "naive" ? "naive" : "", o.writeFreqBaseSwa === false ? "noswabase" : "",
  ];
  return parts.filter(Boolean).join("-") + ".gguf";
}

export function gemmaFixture(o: GemmaGenOptions): Promise<string> {
  return cachedFixture(fixtureName(o), () => gemmaEmbeddingGGUF(o));
}
