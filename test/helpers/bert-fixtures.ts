/**
 * Synthetic BERT-family fixtures (scripts/gen/bert.ts) with llama.cpp's real test vocabularies,
 * extracted from node-llama-cpp's bundle at test time (llama-src.ts): models/ggml-vocab-bert-bge.gguf
 * (WordPiece, 30,522 tokens) and models/ggml-vocab-nomic-bert-moe.gguf (XLM-R unigram, 250,048;
 * add_bos_token and add_eos_token set, so a text is fed as <s> ... </s>). Generated on first use into
 * .cache/fixtures, keyed by the options. Both vocabularies are tokenized by our own tokenizers
 * (wpm.ts, ugm.ts), so tests can go text -> vector through loadModel; assertUgmParity below checks
 * the forward alone, on ids no single text reaches.
 */
import assert from "node:assert/strict";
import { pool } from "../../src/embed/pooling.js";
import { readGGUFParts } from "../../src/gguf/split.js";
import type { GGUFMetadata } from "../../src/gguf/keys.js";
import type { Numerics } from "../../src/kernels/numerics.js";
import { createWasmBackend } from "../../src/kernels/wasm.js";
import { buildModel, planModel, readTensors } from "../../src/models/loader.js";
import { FileSource } from "../../src/node/fs-source.js";
import { disposeModel, l2normalize, llamaEmbed, oneMinusCos } from "./llama.js";
import { bertGGUF, type BertGenOptions } from "../../scripts/gen/bert.js";
import { cachedFixture } from "../../scripts/gen/write.js";
import { llamaSourceFile } from "./llama-src.js";

/** Bump when the generator's output changes. */
const GEN_VERSION = 2;

export const VOCABS = { wpm: "ggml-vocab-bert-bge.gguf", ugm: "ggml-vocab-nomic-bert-moe.gguf" } as const;

const vocabs = new Map<string, Promise<GGUFMetadata>>();

/** The metadata of one of llama.cpp's test vocabularies. */
export function vocabMetadata(which: keyof typeof VOCABS): Promise<GGUFMetadata> {
  let p = vocabs.get(which);
  if (!p) {
    p = (async () => {
      const src = await FileSource.open(llamaSourceFile(`models/${VOCABS[which]}`));
      try {
        return (await readGGUFParts([src])).metadata;
      } finally {
        await src.close();
      }
    })();
    vocabs.set(which, p);
  }
  return p;
}

export type BertFixtureOptions = Omit<BertGenOptions, "vocab"> & { vocab?: keyof typeof VOCABS };

export async function bertFixture(o: BertFixtureOptions): Promise<string> {
  const { vocab = "wpm", ...rest } = o;
  const parts = [
    `bert-v${GEN_VERSION}`,
    rest.arch ?? "bert",
    vocab,
    ...Object.entries(rest)
      .filter(([k]) => k !== "arch")
      .sort()
      .map(([k, v]) => `${k}${String(v)}`),
  ];
  const meta = await vocabMetadata(vocab);
  return cachedFixture(parts.join("-").replace(/[^A-Za-z0-9_.-]/g, "_") + ".gguf", () => bertGGUF({ ...rest, vocab: meta }));
}

/**
 * A bert model with the XLM-R unigram vocabulary vs llama.cpp on explicit ids <s> ... </s> of each
 * length, mean pooling, 1 - cos <= 1e-6. The ids are spread over the whole 250,048-token vocabulary
 * (ids 5 ... 250004 in steps of 7919, not a text's tokens), given explicitly to llama.cpp too
 * (node-llama-cpp's getEmbeddingFor never prepends BOS for UGM). Runs the forward alone, below the
 * embedder: planModel / buildModel / forward / pool on the wasm backend. The text pipeline (our UGM
 * tokenizer + loadModel) is checked in test/models/bert.test.ts.
 */
export async function assertUgmParity(path: string, lengths: number[], numerics: Numerics, label: string): Promise<void> {
  const nVocab = 250048,
    nEmbd = 1024;
  const ids = lengths.map((n) => [0, ...Array.from({ length: n - 2 }, (_, i) => 5 + ((i * 7919) % 250000)), 2]); // <s> = 0, </s> = 2
  const src = await FileSource.open(path);
  const be = await createWasmBackend({ numerics, threads: 2 });
  try {
    const file = await readGGUFParts([src]);
    const g = buildModel(file, await readTensors(planModel(file, nVocab, "wasm").tensors, (n) => be.alloc(n)), be, nVocab);
    assert.equal(g.arch, "bert");
    const ref = await llamaEmbed(path, ids);
    for (let s = 0; s < ids.length; s++) {
      const h = g.forward({ tokens: Int32Array.from(ids[s]!), seqStart: [0], seqLen: [ids[s]!.length] });
      const out = new Float32Array(nEmbd); // (nEmbd) mean-pooled
      pool(numerics, h, nEmbd, 0, ids[s]!.length, "mean", out);
      const d = oneMinusCos(l2normalize(out), l2normalize(ref[s]!));
      console.log(`# ${label} [wasm, ${numerics.name}]: ${ids[s]!.length}t ${d.toExponential(1)}`);
      assert.ok(d <= 1e-6, `${label}: ${ids[s]!.length} tokens: 1 - cos = ${d.toExponential(2)}`);
    }
  } finally {
    await src.close();
    await be.close();
    await disposeModel(path);
  }
}
