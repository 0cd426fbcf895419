/**
 * A ServedModel made of the real Gemma 3 vocabulary alone (the converter-faithful vocab fixture),
 * for server tests about tokenizing, detokenizing, bodies and connections: it loads in a second and
 * its prepare() is the library's own (embed/prepare.ts). Its embedPrepared returns zero vectors:
 * tests that use it never check vectors.
 */
import { DEFAULT_NUMERICS } from "../../src/kernels/numerics.js";
import { readFile } from "node:fs/promises";
import type { ModelInfo } from "../../src/embed/embedder.js";
import { prepareInputs } from "../../src/embed/prepare.js";
import { readGGUF } from "../../src/gguf/reader.js";
import { ArrayBufferSource } from "../../src/gguf/source.js";
import type { ServedModel } from "../../src/server/context.js";
import { createTokenizer } from "../../src/tokenizer/index.js";
import { gemma3VocabFixture } from "../../scripts/gen/gemma3-vocab.js";

let cached: Promise<ServedModel> | undefined;

export function vocabModel(): Promise<ServedModel> {
  cached ??= (async () => {
    const path = await gemma3VocabFixture("converter");
    const f = await readGGUF(new ArrayBufferSource(new Uint8Array(await readFile(path)), path));
    const tokenizer = createTokenizer(f.metadata);
    const info: ModelInfo = {
      architecture: "gemma-embedding",
      name: "vocab-only",
      nEmbd: 768,
      nEmbdOut: 768,
      nLayer: 0,
      contextLength: 2048,
      nVocab: tokenizer.nVocab,
      pooling: "mean",
      dense: false,
      tensorTypes: {},
      backend: "none",
      numerics: { name: DEFAULT_NUMERICS.name, variants: DEFAULT_NUMERICS.variants, source: "default" },
      warnings: [],
    };
    const c = { tokenizer, architecture: info.architecture, nCtx: info.contextLength, nEmbdOut: info.nEmbdOut };
    return {
      info,
      tokenizer,
      file: { metadata: f.metadata },
      prepare: (inputs, opts) => prepareInputs(c, inputs, opts),
      embedPrepared: async (prepared) => prepared.map(() => new Float32Array(768)),
    } satisfies ServedModel;
  })();
  return cached;
}
