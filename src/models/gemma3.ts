/**
 * Ollama's EmbeddingGemma blob (`general.architecture = "gemma3"` with `gemma3.pooling_type`): a small
 * adapter over gemma-embedding.ts, which does all the work. It reads Ollama's keys and tensor names
 * and computes what Ollama computes for them (ollama model/models/gemma3/embed.go embedModel.Forward,
 * model_text.go TextModel.Forward); docs/architectures/gemma-embedding.md "Ollama's gemma3 layout"
 * lists where that differs from llama.cpp. A gemma3 file without a pooling type is a chat model: refused.
 */
import { EmbedError } from "../errors.js";
import { GGUFValueType, getPositiveFloat, type GGUFMetadata } from "../gguf/keys.js";
import type { Architecture, TensorProvider } from "./arch.js";
import { bindWeights, GemmaEmbedding, loadHParams, type GemmaEmbeddingHParams, type GemmaEmbeddingWeights } from "./gemma-embedding.js";

export const ARCH = "gemma3";
const k = (name: string) => `${ARCH}.${name}`;

/** llama.cpp's dense layer names -> Ollama's (embed.go `Dense [2]*nn.Linear gguf:"dense"`, applied in order). */
const DENSE_NAMES: ReadonlyMap<string, string> = new Map([
  ["dense_2.weight", "dense.0.weight"],
  ["dense_3.weight", "dense.1.weight"],
]);

/**
 * Which layers are local, for the RoPE base only (model_text.go ropeValuesForLayer): a BOOL array
 * `attention.sliding_window_pattern` marks local layers; any other layer is local unless
 * (il + 1) % 6 == 0, as in Ollama (so a pattern can add local layers, never global ones).
 */
function ollamaLocalLayers(meta: GGUFMetadata, nLayer: number): boolean[] {
  const v = meta.get(k("attention.sliding_window_pattern"));
  const bools = v?.type === GGUFValueType.ARRAY && v.itemType === GGUFValueType.BOOL && v.value instanceof Uint8Array ? v.value : undefined;
  return Array.from({ length: nLayer }, (_, il) => (bools !== undefined && il < bools.length && bools[il] !== 0) || (il + 1) % 6 !== 0);
}

export function loadGemma3HParams(meta: GGUFMetadata): GemmaEmbeddingHParams {
  if (!meta.has(k("pooling_type"))) {
    throw new EmbedError(
      "UNSUPPORTED_ARCH",
      `this "gemma3" file has no ${k("pooling_type")}: it is a Gemma 3 chat (text generation) model, ` +
        `not an embedding model; use an embedding model such as Ollama's embeddinggemma`,
      { key: k("pooling_type"), arch: ARCH },
    );
  }
  const scale = meta.has(k("rope.scaling.factor")) ? getPositiveFloat(meta, k("rope.scaling.factor")) : 1;
  if (scale !== 1)
    throw new EmbedError("BAD_HPARAMS", `${ARCH}: rope scaling (${k("rope.scaling.factor")} = ${scale}) is not supported`, {
      key: k("rope.scaling.factor"),
    });
  const hp = loadHParams(meta, ARCH);
  // model_text.go newTextModel: rope.freq_base (older files: rope.global.freq_base), default 1e6; rope.local.freq_base, default 10000
  const globalKey = meta.has(k("rope.freq_base")) ? k("rope.freq_base") : k("rope.global.freq_base");
  return {
    ...hp,
    ropeFreqBase: getPositiveFloat(meta, globalKey, 1e6),
    ropeFreqBaseSwa: getPositiveFloat(meta, k("rope.local.freq_base"), 10000),
    isSwa: ollamaLocalLayers(meta, hp.nLayer),
    // embed.go runs TextModel.Forward without a KV cache, so nn.Attention gets no mask: every layer
    // attends to the whole input (llama.cpp's local layers see |Δp| <= n_swa/2). Infinity = no window.
    nSwa: Infinity,
  };
}

/** The tensor table under Ollama's names: dense.0 / dense.1 are bound where gemma-embedding binds dense_2 / dense_3. */
function ollamaNames(t: TensorProvider): TensorProvider {
  const real = (name: string) => DENSE_NAMES.get(name) ?? name;
  const inverse = new Map([...DENSE_NAMES].map(([a, b]) => [b, a]));
  return {
    has: (name) => !inverse.has(name) && t.has(real(name)),
    *names() {
      for (const n of t.names()) yield inverse.get(n) ?? n;
    },
    ne: (name) => t.ne(real(name)),
    matrix: (name, ne0, ne1) => t.matrix(real(name), ne0, ne1),
    vector: (name, n) => t.vector(real(name), n),
  };
}

export const gemma3: Architecture<GemmaEmbeddingHParams, GemmaEmbeddingWeights> = {
  name: ARCH,
  loadHParams: loadGemma3HParams,
  bindWeights: (hp, t, nVocab) => {
    for (const name of ["dense_2.weight", "dense_3.weight"]) {
      if (t.has(name))
        throw new EmbedError(
          "BAD_HPARAMS",
          `${ARCH}: tensor "${name}" is llama.cpp's name; Ollama's gemma3 files name it "${DENSE_NAMES.get(name)}"`,
          { tensor: name },
        );
    }
    return bindWeights(hp, ollamaNames(t), nVocab);
  },
  create: (hp, w, backend) => new GemmaEmbedding(hp, w, backend, ARCH),
};
