/**
 * Synthetic BERT-family fixtures (scripts/gen/bert.ts) with llama.cpp's real test vocabularies,
 * extracted from node-llama-cpp's bundle at test time (llama-src.ts): models/ggml-vocab-bert-bge.gguf
 * (WordPiece, 30,522 tokens) and models/ggml-vocab-nomic-bert-moe.gguf (XLM-R unigram, 250,048).
 * Generated on first use into .cache/fixtures, keyed by the options.
 */
import { readGGUFParts } from "../../src/gguf/split.js";
import type { GGUFMetadata } from "../../src/gguf/keys.js";
import { FileSource } from "../../src/node/fs-source.js";
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
      try { return (await readGGUFParts([src])).metadata; } finally { await src.close(); }
    })();
    vocabs.set(which, p);
  }
  return p;
}

export type BertFixtureOptions = Omit<BertGenOptions, "vocab"> & { vocab?: keyof typeof VOCABS };

export async function bertFixture(o: BertFixtureOptions): Promise<string> {
  const { vocab = "wpm", ...rest } = o;
  const parts = [`bert-v${GEN_VERSION}`, rest.arch ?? "bert", vocab, ...Object.entries(rest).filter(([k]) => k !== "arch").sort().map(([k, v]) => `${k}${String(v)}`)];
  const meta = await vocabMetadata(vocab);
  return cachedFixture(parts.join("-").replace(/[^A-Za-z0-9_.-]/g, "_") + ".gguf", () => bertGGUF({ ...rest, vocab: meta }));
}
