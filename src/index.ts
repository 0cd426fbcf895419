/**
 * gguf-embed, browser-safe entry: load a GGUF from an ArrayBuffer, Blob/File, http(s) URL or any
 * ByteSource, and embed text. Node users import "gguf-embed/node", which adds file paths.
 */
import { EmbedError } from "./errors.js";
import { ArrayBufferSource, BlobSource, HttpRangeSource, type ByteSource } from "./gguf/source.js";
import { loadFromSources, type LoadOptions } from "./embed/load.js";
import type { EmbeddingModel } from "./embed/embedder.js";
import { loadTokenizer as loadTokenizerFromSource, type Tokenizer } from "./tokenizer/index.js";

export type ModelSource = string | URL | ArrayBuffer | Uint8Array | Blob | ByteSource | ByteSource[];

function isByteSource(x: unknown): x is ByteSource {
  return (
    typeof x === "object" && x !== null && typeof (x as ByteSource).read === "function" && typeof (x as ByteSource).nBytes === "number"
  );
}

export async function toByteSources(src: ModelSource): Promise<ByteSource[]> {
  if (Array.isArray(src)) return src;
  if (isByteSource(src)) return [src];
  if (src instanceof ArrayBuffer || src instanceof Uint8Array) return [new ArrayBufferSource(src)];
  if (typeof Blob !== "undefined" && src instanceof Blob) return [new BlobSource(src)];
  // A relative URL ("/models/x.gguf", "x.gguf") resolves against the page (or worker) location, as fetch() does.
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  const url =
    src instanceof URL
      ? src
      : typeof src !== "string"
        ? undefined
        : /^https?:\/\//.test(src)
          ? new URL(src)
          : base
            ? new URL(src, base)
            : undefined;
  if (url && (url.protocol === "http:" || url.protocol === "https:")) return [await HttpRangeSource.open(url.href)];
  throw new EmbedError(
    "BAD_INPUT",
    `cannot load a model from ${typeof src === "string" ? `"${src}"` : String(src)} here; in Node import "gguf-embed/node" for file paths`,
    {},
  );
}

export async function loadModel(src: ModelSource, opts: LoadOptions = {}): Promise<EmbeddingModel> {
  return loadFromSources(await toByteSources(src), opts);
}

/**
 * The tokenizer of a model from its GGUF metadata alone (no weights are read; a vocab-only file
 * works). Split files keep the metadata in their first part.
 */
export async function loadTokenizer(src: ModelSource): Promise<Tokenizer> {
  const sources = await toByteSources(src);
  try {
    return await loadTokenizerFromSource(sources[0]);
  } finally {
    // sources opened here (from a URL) are ours to close; a caller's ByteSource stays open
    if (typeof src === "string" || src instanceof URL) await Promise.all(sources.map((s) => s.close?.()));
  }
}

export { EmbedError, isEmbedError, type EmbedErrorCode } from "./errors.js";
export { EmbeddingModel, type EmbedInput, type EmbedOptions, type ModelInfo } from "./embed/embedder.js";
export type { LoadOptions } from "./embed/load.js";
export { cosine, type Normalize, type Pooling } from "./embed/pooling.js";
export { TASKS, type Task } from "./embed/prompts.js";
export { ArrayBufferSource, BlobSource, HttpRangeSource, type ByteSource } from "./gguf/source.js";
export { readGGUF, type GGUFFile, type TensorInfo } from "./gguf/reader.js";
export { readGGUFParts, type GGUFModelFile } from "./gguf/split.js";
export { encodeGGUF, encodeGGUFToBuffer, type GGUFToWrite, type TensorToWrite } from "./gguf/writer.js";
export { GGUFValueType, kv, type GGUFValue, type GGUFMetadata } from "./gguf/keys.js";
export { GGMLType, GGML_TYPES } from "./tensor/ggml-type.js";
export {
  NUMERICS,
  DEFAULT_NUMERICS,
  bestVariant,
  chooseNumerics,
  numericsByName,
  type Numerics,
  type NumericsName,
} from "./kernels/numerics.js";
export { createTokenizer, type DecodeOptions, type EncodeOptions, type Tokenizer } from "./tokenizer/index.js";
