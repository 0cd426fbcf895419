/** gguf-embed for Node: everything in the browser-safe entry, plus file paths (and split files). */
import { fileURLToPath } from "node:url";
import { loadFromSources, type LoadOptions } from "./embed/load.js";
import type { EmbeddingModel } from "./embed/embedder.js";
import { toByteSources, type ModelSource } from "./index.js";
import { FileSource, openModelFiles } from "./node/fs-source.js";

export * from "./index.js";
export { FileSource, openModelFiles };

/** Like the browser loadModel, but a string that is not an http(s) URL is a file path. */
export async function loadModel(src: ModelSource, opts: LoadOptions = {}): Promise<EmbeddingModel> {
  if (src instanceof URL && src.protocol === "file:") src = fileURLToPath(src);
  if (typeof src === "string" && !/^https?:\/\//.test(src)) return loadFromSources(await openModelFiles(src), opts);
  return loadFromSources(await toByteSources(src), opts);
}
