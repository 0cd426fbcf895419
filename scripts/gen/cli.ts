/**
 * `npm run gen:model -- --out model.gguf [--layers 24] [--type Q8_0] [--embd-type T] [--dense]
 *   [--post-norm-scale 0.1] [--seed 1234] [--naive-vocab] [--override REGEX=TYPE]...`: write a synthetic EmbeddingGemma GGUF.
 * `--arch qwen3 [--layers 28] [--type Q8_0|F16|Q4_K_M] [--embd-type T] [--down-scale 0.1] [--seed N]`: a synthetic
 *   Qwen3-Embedding GGUF (scripts/gen/qwen3.ts).
 * `npm run gen:model -- --arch bert|nomic-bert --vocab vocab.gguf --out model.gguf [--shape minilm|nomic|xlmr]
 *   [--layers N] [--type Q8_0] [--embd-type T] [--pooling 1|2] [--fused-qkv] [--seed N]`: a synthetic BERT-family GGUF
 *   with the vocabulary of vocab.gguf (e.g. llama.cpp's models/ggml-vocab-bert-bge.gguf: see docs/architectures/bert.md).
 */
import { parseArgs } from "node:util";
import { readGGUFParts } from "../../src/gguf/split.js";
import { FileSource } from "../../src/node/fs-source.js";
import { BERT_SHAPES, bertGGUF } from "./bert.js";
import { gemmaEmbeddingGGUF } from "./embeddinggemma.js";
import { qwen3GGUF } from "./qwen3.js";
import { writeGGUFFile } from "./write.js";

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    arch: { type: "string", default: "gemma-embedding" },
    "down-scale": { type: "string", default: "1" },
    vocab: { type: "string" },
    shape: { type: "string" },
    pooling: { type: "string", default: "1" },
    "fused-qkv": { type: "boolean", default: false },
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
const bertArch = values.arch === "bert" || values.arch === "nomic-bert";
if (!values.out || (bertArch && !values.vocab) || (!bertArch && values.arch !== "gemma-embedding" && values.arch !== "qwen3")) {
  process.stderr.write(
    "usage: npm run gen:model -- --out model.gguf [--layers N] [--type Q8_0] [--dense] [--post-norm-scale S]\n" +
      "         [--seed N] [--naive-vocab]\n" +
      "       npm run gen:model -- --arch bert|nomic-bert --vocab vocab.gguf --out model.gguf [--shape minilm|nomic|xlmr]\n" +
      "         [--layers N] [--type T] [--pooling 1|2] [--fused-qkv]\n" +
      "       npm run gen:model -- --arch qwen3 --out model.gguf [--layers 28] [--type Q8_0|F16|Q4_K_M] [--down-scale S]\n",
  );
  process.exit(2);
}
const t0 = performance.now();
if (bertArch) {
  const src = await FileSource.open(values.vocab!);
  const vocab = (await readGGUFParts([src])).metadata;
  await src.close();
  const shape = values.shape ? BERT_SHAPES[values.shape as keyof typeof BERT_SHAPES] : undefined;
  if (values.shape && !shape) throw new Error(`unknown --shape ${values.shape} (minilm, nomic, xlmr)`);
  await writeGGUFFile(
    values.out,
    bertGGUF({
      arch: values.arch as "bert" | "nomic-bert",
      vocab,
      ...shape,
      ...(values.layers ? { nLayer: Number(values.layers) } : {}),
      weightType: values.type,
      embdType: values["embd-type"],
      pooling: Number(values.pooling),
      fusedQkv: values["fused-qkv"],
      normEps: values.shape === "xlmr" ? 1e-5 : undefined,
      seed: Number(values.seed),
    }),
  );
} else if (values.arch === "qwen3") {
  await writeGGUFFile(
    values.out,
    qwen3GGUF({
      nLayer: Number(values.layers ?? 28),
      weightType: values.type,
      embdType: values["embd-type"],
      downScale: Number(values["down-scale"]),
      seed: Number(values.seed),
    }),
  );
} else {
  await writeGGUFFile(
    values.out,
    gemmaEmbeddingGGUF({
      nLayer: Number(values.layers ?? "24"),
      weightType: values.type,
      embdType: values["embd-type"],
      dense: values.dense,
      postNormScale: Number(values["post-norm-scale"]),
      typeOverrides: Object.fromEntries((values.override ?? []).map((kv) => kv.split("="))),
      seed: Number(values.seed),
      conversion: values["naive-vocab"] ? "naive" : "converter",
    }),
  );
}
process.stderr.write(`wrote ${values.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
