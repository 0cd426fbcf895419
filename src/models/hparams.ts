/**
 * The attention shape every transformer architecture reads the same way (llama.cpp
 * src/llama-model.cpp llama_model_base::load_hparams, the generic `<arch>.*` keys), with its
 * checks, and the tensor dims that shape implies, each naming the key(s) it comes from; plus the
 * block_count checks of load_arch_tensors (a missing layer, a tensor of a layer past the count).
 */
import { EmbedError } from "../errors.js";
import { getUint, type GGUFMetadata } from "../gguf/keys.js";
import type { Dim, TensorProvider } from "./arch.js";

/** LLAMA_MAX_LAYERS. ref: llama.cpp src/llama-hparams.h */
export const MAX_LAYERS = 512;

export interface AttnShape {
  nEmbd: number;
  nLayer: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  /** key_length = value_length = rope.dimension_count */
  nEmbdHead: number;
}

/** The shape keys of `arch`, llama.cpp's defaults, and the checks its graphs assert. With `rope`
 * (the default), rope.dimension_count must equal an even key_length; bert, which has no RoPE, passes false. */
export function loadAttnShape(meta: GGUFMetadata, arch: string, { rope = true }: { rope?: boolean } = {}): AttnShape {
  const k = (name: string) => `${arch}.${name}`;
  const nEmbd = getUint(meta, k("embedding_length"));
  const nLayer = getUint(meta, k("block_count"));
  const nHead = getUint(meta, k("attention.head_count"));
  const nFf = getUint(meta, k("feed_forward_length"));
  if (nHead === 0 || nEmbd === 0 || nLayer === 0 || nFf === 0) {
    throw new EmbedError(
      "BAD_HPARAMS",
      `${arch}: embedding_length, block_count, feed_forward_length and attention.head_count must be non-zero`,
      { nEmbd, nLayer, nFf, nHead },
    );
  }
  const nHeadKv = getUint(meta, k("attention.head_count_kv"), nHead);
  const nEmbdHead = getUint(meta, k("attention.key_length"), Math.floor(nEmbd / nHead));
  // both default to n_embd / n_head, each on its own (llama_model_base::load_hparams): a key_length
  // without a value_length leaves value_length at n_embd / n_head
  const valueLength = getUint(meta, k("attention.value_length"), Math.floor(nEmbd / nHead));
  if (valueLength !== nEmbdHead || nEmbdHead === 0)
    throw new EmbedError(
      "BAD_HPARAMS",
      `${arch}: attention.value_length ${valueLength} must equal a non-zero attention.key_length ${nEmbdHead}`,
      { key: k("attention.value_length") },
    );
  if (nHeadKv === 0 || nHead % nHeadKv !== 0)
    throw new EmbedError("BAD_HPARAMS", `${arch}: attention.head_count ${nHead} is not a multiple of attention.head_count_kv ${nHeadKv}`, {
      key: k("attention.head_count_kv"),
    });
  const nRot = rope ? getUint(meta, k("rope.dimension_count"), nEmbdHead) : nEmbdHead;
  if (rope && (nRot !== nEmbdHead || nEmbdHead % 2 !== 0))
    throw new EmbedError("BAD_HPARAMS", `${arch}: rope.dimension_count ${nRot} must equal an even key_length ${nEmbdHead}`, {
      key: k("rope.dimension_count"),
    });
  // Checked before per-layer arrays are allocated from it: block_count comes from the file, and
  // 2^32 - 1 would build a huge array. llama.cpp's per-layer arrays hold LLAMA_MAX_LAYERS.
  if (nLayer > MAX_LAYERS)
    throw new EmbedError("BAD_HPARAMS", `${arch}: block_count ${nLayer} exceeds llama.cpp's maximum of ${MAX_LAYERS} layers`, {
      key: k("block_count"),
      value: nLayer,
    });
  return { nEmbd, nLayer, nFf, nHead, nHeadKv, nEmbdHead };
}

/** Tensor dims of the shape: E (n_embd), HD (head), Q (n_head·hd), KV (n_head_kv·hd), FF (n_ff). */
export function attnDims(arch: string, s: AttnShape): { E: Dim; HD: Dim; Q: Dim; KV: Dim; FF: Dim } {
  const k = (name: string) => `${arch}.${name}`;
  const hd = s.nEmbdHead,
    hdKey = `${k("attention.key_length")} (${hd})`;
  return {
    E: { n: s.nEmbd, from: `${k("embedding_length")} = ${s.nEmbd}` },
    HD: { n: hd, from: `${k("attention.key_length")} = ${hd}` },
    Q: { n: s.nHead * hd, from: `${k("attention.head_count")} (${s.nHead}) × ${hdKey}` },
    KV: { n: s.nHeadKv * hd, from: `${k("attention.head_count_kv")} (${s.nHeadKv}) × ${hdKey}` },
    FF: { n: s.nFf, from: `${k("feed_forward_length")} = ${s.nFf}` },
  };
}

/** block_count must match the layers present: llama.cpp fails on a tensor of a layer past it. */
export function checkNoExtraLayers(arch: string, nLayer: number, t: TensorProvider): void {
  for (const name of t.names()) {
    const m = /^blk\.(\d+)\./.exec(name);
    if (m && Number(m[1]) >= nLayer)
      throw new EmbedError("BAD_HPARAMS", `${arch}.block_count = ${nLayer}, but the file has tensor "${name}" of layer ${m[1]}`, {
        key: `${arch}.block_count`,
        tensor: name,
      });
  }
}

/** ... and on a missing one: layer il must have attn_norm.weight (named with the key). */
export function requireLayer(arch: string, nLayer: number, t: TensorProvider, il: number): void {
  const name = `blk.${il}.attn_norm.weight`;
  if (!t.has(name))
    throw new EmbedError("TENSOR_MISSING", `${arch}.block_count = ${nLayer}, but tensor "${name}" of layer ${il} is missing`, {
      key: `${arch}.block_count`,
      tensor: name,
    });
}
