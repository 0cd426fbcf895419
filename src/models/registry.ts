/** general.architecture -> the file that implements it (llama.cpp src/llama-arch.cpp LLM_ARCH_NAMES + src/models/). */
import { EmbedError } from "../errors.js";
import { getString, type GGUFMetadata } from "../gguf/keys.js";
import type { Architecture } from "./arch.js";
import { bert } from "./bert.js";
import { gemmaEmbedding } from "./gemma-embedding.js";
import { gemma3 } from "./gemma3.js";
import { nomicBert } from "./nomic-bert.js";
import { qwen3 } from "./qwen3.js";

export const ARCHITECTURES: ReadonlyMap<string, Architecture> = new Map(
  (
    [
      gemmaEmbedding,
      gemma3, // Ollama's embeddinggemma blob: gemma-embedding under Ollama's keys and names (embedding files only)
      bert, // also XLM-R (bge-m3 …) with the t5 (unigram) tokenizer
      nomicBert,
      qwen3,
    ] as Architecture[]
  ).map((a) => [a.name, a]),
);

/** The architecture of a GGUF, or UNSUPPORTED_ARCH naming it and the supported ones. */
export function architectureFor(meta: GGUFMetadata): Architecture {
  const name = getString(meta, "general.architecture");
  const arch = ARCHITECTURES.get(name);
  if (!arch) {
    throw new EmbedError(
      "UNSUPPORTED_ARCH",
      `architecture "${name}" is not supported (supported: ${[...ARCHITECTURES.keys()].join(", ")})`,
      { key: "general.architecture", arch: name },
    );
  }
  return arch;
}
