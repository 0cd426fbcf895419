/**
 * Split GGUF files (`name-00001-of-00003.gguf`, written by llama-gguf-split) opened as one model.
 * Keys: split.no (0-based), split.count, split.tensors.count. The first split carries the model
 * metadata; every split carries its own tensors. ref: llama.cpp llama-model-loader.cpp / gguf-split.
 */
import { EmbedError } from "../errors.js";
import { getUint } from "./keys.js";
import { readGGUF, type GGUFFile, type TensorInfo } from "./reader.js";
import type { ByteSource } from "./source.js";

export const SPLIT_NAME_RE = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/;

/** The names of all parts, given the name of any one part; undefined if the name is not a split name. */
export function splitPartNames(fileName: string): string[] | undefined {
  const m = SPLIT_NAME_RE.exec(fileName);
  if (!m) return undefined;
  const count = Number(m[3]);
  if (count < 1 || Number(m[2]) < 1 || Number(m[2]) > count) return undefined;
  return Array.from({ length: count }, (_, i) => `${m[1]}-${String(i + 1).padStart(5, "0")}-of-${m[3]}.gguf`);
}

/** A model made of one or more GGUF files: metadata from the first, tensors from all. */
export interface GGUFModelFile extends GGUFFile {
  readonly parts: readonly GGUFFile[];
  readonly tensorByName: ReadonlyMap<string, TensorInfo>;
}

export async function readGGUFParts(sources: ByteSource[]): Promise<GGUFModelFile> {
  if (sources.length === 0) throw new EmbedError("GGUF_BAD_SPLIT", "no GGUF sources given");
  const parts: GGUFFile[] = [];
  for (const s of sources) parts.push(await readGGUF(s));
  const first = parts[0];
  const count = getUint(first.metadata, "split.count", 1);
  if (count !== parts.length) {
    throw new EmbedError("GGUF_BAD_SPLIT", `${first.source.name}: split.count is ${count} but ${parts.length} file(s) were given`, {
      key: "split.count",
      count,
      given: parts.length,
    });
  }
  const tensorByName = new Map<string, TensorInfo>();
  parts.forEach((p, i) => {
    if (parts.length > 1) {
      const no = getUint(p.metadata, "split.no", 0);
      if (no !== i)
        throw new EmbedError("GGUF_BAD_SPLIT", `${p.source.name}: split.no is ${no}, expected ${i}`, { key: "split.no", no, expected: i });
    }
    for (const t of p.tensors) {
      if (tensorByName.has(t.name))
        throw new EmbedError("GGUF_DUPLICATE_TENSOR", `tensor "${t.name}" appears in more than one split (${p.source.name})`, {
          tensor: t.name,
        });
      tensorByName.set(t.name, t);
    }
  });
  const total = first.metadata.has("split.tensors.count") ? getUint(first.metadata, "split.tensors.count") : tensorByName.size;
  if (total !== tensorByName.size) {
    throw new EmbedError("GGUF_BAD_SPLIT", `split.tensors.count is ${total} but the parts hold ${tensorByName.size} tensors`, {
      key: "split.tensors.count",
    });
  }
  return { ...first, tensors: [...tensorByName.values()], parts, tensorByName };
}
