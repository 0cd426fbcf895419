/**
 * nomic-bert (`general.architecture = "nomic-bert"`): nomic-embed-text v1/v1.5, snowflake
 * arctic-embed-m-long. Mirrors llama.cpp src/models/nomic-bert.cpp (load_arch_hparams,
 * load_arch_tensors); the graph is BERT's (bert.ts BertGraph, as llama_model_nomic_bert uses
 * llama_model_bert::graph): no position embeddings but NEOX RoPE on Q and K with rope.freq_base,
 * a fused attn_qkv (no bias in the real files), and a SwiGLU FFN without biases.
 * docs/architectures/bert.md.
 */
import { getPositiveFloat, type GGUFMetadata } from "../gguf/keys.js";
import type { Architecture, TensorProvider } from "./arch.js";
import { BertGraph, bindBertWeights, loadBertCommon, type BertHParams, type BertWeights } from "./bert.js";

export const ARCH = "nomic-bert";

/** load_hparams' rope keys (rope.freq_base default 10000; rope.dimension_count, checked by loadAttnShape) + the BERT ones. */
export function loadHParams(meta: GGUFMetadata): BertHParams {
  const hp = loadBertCommon(meta, ARCH, { rope: true });
  return { ...hp, ropeFreqBase: getPositiveFloat(meta, `${ARCH}.rope.freq_base`, 10000) };
}

/** llama_model_nomic_bert::load_arch_tensors: no position_embd; ffn_gate; ffn biases loaded if present but unused by the graph. */
export function bindWeights(hp: BertHParams, t: TensorProvider, nVocab: number): BertWeights {
  return bindBertWeights(hp, t, nVocab, false, (p, d) => {
    for (const [name, n] of [
      ["ffn_up.bias", d.FF],
      ["ffn_down.bias", d.E],
    ] as const)
      if (t.has(p + name)) t.vector(p + name, n); // shape-checked, as llama.cpp does
    return {
      kind: "swiglu",
      gate: t.matrix(p + "ffn_gate.weight", d.E, d.FF),
      up: t.matrix(p + "ffn_up.weight", d.E, d.FF),
      down: t.matrix(p + "ffn_down.weight", d.FF, d.E),
    };
  });
}

export const nomicBert: Architecture<BertHParams, BertWeights> = {
  name: ARCH,
  loadHParams,
  bindWeights,
  create: (hp, w, backend) => new BertGraph(hp, w, backend),
};
