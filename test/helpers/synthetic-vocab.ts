/**
 * Small synthetic vocabularies as vocab-only GGUF files that both our tokenizer and llama.cpp
 * (node-llama-cpp, vocab_only) load: an SPM vocab with the 256 byte tokens, so that any raw text
 * tokenizes, plus chosen extra tokens. Cached in .cache/fixtures/ under a name derived from the
 * content, so a changed definition makes a new file.
 */
import { createHash } from "node:crypto";
import { kv, type GGUFValue } from "../../src/gguf/keys.js";
import { LlamaTokenType } from "../../src/tokenizer/vocab.js";
import { cachedFixture } from "../../scripts/gen/write.js";

/** gemma-embedding hyperparameters: llama.cpp reads them even for a vocab-only load. */
const HPARAMS: [string, GGUFValue][] = [
  ["general.architecture", kv.str("gemma-embedding")],
  ["gemma-embedding.context_length", kv.u32(2048)],
  ["gemma-embedding.embedding_length", kv.u32(768)],
  ["gemma-embedding.block_count", kv.u32(24)],
  ["gemma-embedding.feed_forward_length", kv.u32(1152)],
  ["gemma-embedding.attention.head_count", kv.u32(3)],
  ["gemma-embedding.attention.head_count_kv", kv.u32(1)],
  ["gemma-embedding.attention.layer_norm_rms_epsilon", kv.f32(1e-6)],
  ["gemma-embedding.attention.sliding_window", kv.u32(512)],
];

export const byteTokenText = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;

/**
 * An SPM vocab: <unk>, <s>, </s>, then the 256 byte tokens (ids 3..258), then `extra` (text, type)
 * from id 259, all with score 0. `more` adds or overrides metadata (general.name, tokenizer.ggml.pre, ...).
 */
export function spmVocabMetadata(extra: [string, LlamaTokenType][], more: [string, GGUFValue][] = []): [string, GGUFValue][] {
  const tokens = ["<unk>", "<s>", "</s>", ...Array.from({ length: 256 }, (_, b) => byteTokenText(b)), ...extra.map((e) => e[0])];
  const types = [
    LlamaTokenType.UNKNOWN,
    LlamaTokenType.CONTROL,
    LlamaTokenType.CONTROL,
    ...new Array(256).fill(LlamaTokenType.BYTE),
    ...extra.map((e) => e[1]),
  ];
  const base: [string, GGUFValue][] = [
    ...HPARAMS,
    ["general.name", kv.str("synthetic-spm")],
    ["tokenizer.ggml.model", kv.str("llama")],
    ["tokenizer.ggml.pre", kv.str("default")],
    ["tokenizer.ggml.tokens", kv.strs(tokens)],
    ["tokenizer.ggml.scores", kv.f32s(new Float32Array(tokens.length))],
    ["tokenizer.ggml.token_type", kv.i32s(Int32Array.from(types))],
    ["tokenizer.ggml.add_space_prefix", kv.bool(false)],
  ];
  const keys = new Set(more.map(([k]) => k));
  return [...base.filter(([k]) => !keys.has(k)), ...more];
}

/** Write `metadata` as a vocab-only GGUF in the fixture cache; returns its path. */
export function vocabFixture(prefix: string, metadata: [string, GGUFValue][]): Promise<string> {
  const digest = createHash("sha256")
    .update(JSON.stringify(metadata, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Int32Array) : v)))
    .digest("hex");
  return cachedFixture(`${prefix}-${digest.slice(0, 12)}.gguf`, () => ({ metadata, tensors: [] }));
}
