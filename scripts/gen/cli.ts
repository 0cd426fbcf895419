/**
 * `npm run gen:model -- --out model.gguf [--layers 24] [--type Q8_0] [--embd-type T] [--dense]
 *   [--post-norm-scale 0.1] [--seed 1234] [--naive-vocab] [--override REGEX=TYPE]...`: write a synthetic EmbeddingGemma GGUF.
 * `--arch qwen3 [--layers 28] [--type Q8_0|F16|Q4_K_M] [--embd-type T] [--down-scale 0.1] [--seed N]`: a synthetic
 *   Qwen3-Embedding GGUF (scripts/gen/qwen3.ts).
 */
import { parseArgs } from "node:util";
import { gemmaEmbeddingGGUF } from "./embeddinggemma.js";
import { qwen3GGUF } from "./qwen3.js";
import { writeGGUFFile } from "./write.js";

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    arch: { type: "string", default: "gemma-embedding" },
    "down-scale": { type: "string", default: "1" },
    layers: { type: "string" },
    type: { type: "string", default: "Q8_0" },
    "embd-type": { type: "string" },
    dense: { type: "boolean", default: false },
    "post-norm-scale": { type: "string", default: "1" },
    seed: { type: "string", default: "1234" },
    "naive-vocab": { type: "boolean", default: false },
    override: { type: "string", multiple: true },
  },
});
if (!values.out) {
  process.stderr.write("usage: npm run gen:model -- --out model.gguf [--layers N] [--type Q8_0] [--dense] [--post-norm-scale S] [--seed N] [--naive-vocab]\n");
  process.exit(2);
}
const t0 = performance.now();
await writeGGUFFile(values.out, values.arch === "qwen3" ? qwen3GGUF({
  nLayer: Number(values.layers ?? 28), weightType: values.type, embdType: values["embd-type"], downScale: Number(values["down-scale"]),
  seed: Number(values.seed),
}) : gemmaEmbeddingGGUF({
  nLayer: Number(values.layers ?? 24), weightType: values.type, embdType: values["embd-type"], dense: values.dense,
  postNormScale: Number(values["post-norm-scale"]),
  typeOverrides: Object.fromEntries((values.override ?? []).map((kv) => kv.split("="))), seed: Number(values.seed), conversion: values["naive-vocab"] ? "naive" : "converter",
}));
process.stderr.write(`wrote ${values.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
