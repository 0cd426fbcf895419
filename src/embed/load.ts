/** Load a model from byte sources (browser-safe): parse, build the tokenizer, read weights, bind. */
import { EmbedError } from "../errors.js";
import { readGGUFParts } from "../gguf/split.js";
import type { ByteSource } from "../gguf/source.js";
import type { Backend } from "../kernels/backend.js";
import { jsBackend } from "../kernels/js-backend.js";
import { buildModel, readAllTensors } from "../models/loader.js";
import { createTokenizer } from "../tokenizer/index.js";
import { EmbeddingModel } from "./embedder.js";

export interface LoadOptions {
  /** "js" is the plain TypeScript reference path. Default "js" until the WASM backend lands. */
  backend?: "js" | "wasm";
  /** Progress while reading weights, in bytes. */
  onProgress?: (loaded: number, total: number) => void;
}

export function pickBackend(name: LoadOptions["backend"]): Backend {
  if (name === undefined || name === "js") return jsBackend;
  throw new EmbedError("BAD_OPTION", `backend "${name}" is not available`, { option: "backend" });
}

export async function loadFromSources(sources: ByteSource[], opts: LoadOptions = {}): Promise<EmbeddingModel> {
  const backend = pickBackend(opts.backend);
  const close = async () => { await Promise.all(sources.map((s) => s.close?.())); };
  try {
    const file = await readGGUFParts(sources);
    const tokenizer = createTokenizer(file.metadata);
    const tensors = await readAllTensors(file, (n) => backend.alloc(n), opts.onProgress);
    const model = buildModel(file, tensors, backend, tokenizer.nVocab);
    await close(); // every tensor is in memory now
    return new EmbeddingModel(file, model, tokenizer, () => backend.close());
  } catch (e) {
    await close();
    throw e;
  }
}
