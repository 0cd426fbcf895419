/**
 * Vocabulary from GGUF `tokenizer.ggml.*` metadata, as llama.cpp's `llama_vocab::impl::load` builds
 * it for an SPM vocab (`tokenizer.ggml.model = "llama"`): token texts, f32 scores, token types
 * mapped to attribute flags, special ids with llama.cpp's defaults and "bad special token"
 * handling, add_bos/add_eos/add_space_prefix flags with SPM defaults, EOT/EOG/FIM detection by
 * token text (which forces those tokens to CONTROL), and the special-token cache used by the
 * partition. ref: llama.cpp src/llama-vocab.cpp `load`; shared/spec/tokenizer-spm.md §1, §2.
 *
 * Token texts are also kept as "byte strings": one JS char per UTF-8 byte (0..255). The tokenizer
 * works on UTF-8 bytes like llama.cpp, and a byte string is the cheapest form of a byte range that
 * a Map can key on (`tokenToId`). Only the SPM model is known here; other models are refused by
 * the caller (createTokenizer) because their defaults differ.
 */
import { EmbedError } from "../errors.js";
import { GGUFValueType, getBool, getString, getStringArray, getUint, type GGUFMetadata } from "../gguf/keys.js";
import { stdSort } from "./std-sort.js";

/** GGUF `tokenizer.ggml.token_type` values. ref: llama.h `llama_token_type`, gguf-py TokenType. */
export enum LlamaTokenType { UNDEFINED = 0, NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6 }

/** Attribute flags. ref: llama.h `llama_token_attr`. */
export enum LlamaTokenAttr {
  UNDEFINED = 0, UNKNOWN = 1 << 0, UNUSED = 1 << 1, NORMAL = 1 << 2, CONTROL = 1 << 3, USER_DEFINED = 1 << 4,
  BYTE = 1 << 5, NORMALIZED = 1 << 6, LSTRIP = 1 << 7, RSTRIP = 1 << 8, SINGLE_WORD = 1 << 9,
}

/** LLAMA_TOKEN_NULL */
export const TOKEN_NULL = -1;

const TYPE_TO_ATTR: Record<number, LlamaTokenAttr> = {
  [LlamaTokenType.UNKNOWN]: LlamaTokenAttr.UNKNOWN, [LlamaTokenType.UNUSED]: LlamaTokenAttr.UNUSED,
  [LlamaTokenType.NORMAL]: LlamaTokenAttr.NORMAL, [LlamaTokenType.CONTROL]: LlamaTokenAttr.CONTROL,
  [LlamaTokenType.USER_DEFINED]: LlamaTokenAttr.USER_DEFINED, [LlamaTokenType.BYTE]: LlamaTokenAttr.BYTE,
}; // anything else (UNDEFINED, out-of-range values) -> UNDEFINED, as llama.cpp does

export interface SpecialIds {
  bos: number; eos: number; eot: number; eom: number; unk: number; sep: number; pad: number; mask: number;
  fimPre: number; fimSuf: number; fimMid: number; fimPad: number; fimRep: number; fimSep: number;
}

/** Key of each special id; later keys overwrite earlier ones (the deprecated prefix/suffix/middle come last). */
const SPECIAL_KEYS: [string, keyof SpecialIds][] = [
  ["bos_token_id", "bos"], ["eos_token_id", "eos"], ["eot_token_id", "eot"], ["eom_token_id", "eom"],
  ["unknown_token_id", "unk"], ["seperator_token_id", "sep"], ["padding_token_id", "pad"], ["mask_token_id", "mask"],
  ["fim_pre_token_id", "fimPre"], ["fim_suf_token_id", "fimSuf"], ["fim_mid_token_id", "fimMid"],
  ["fim_pad_token_id", "fimPad"], ["fim_rep_token_id", "fimRep"], ["fim_sep_token_id", "fimSep"],
  ["prefix_token_id", "fimPre"], ["suffix_token_id", "fimSuf"], ["middle_token_id", "fimMid"],
];

/**
 * Ids found by token text when their key is absent; each match is forced to CONTROL. The lists are
 * those of current llama.cpp (they change between versions). ref: load(), "auto-detect special tokens by text".
 */
const BY_TEXT: [keyof SpecialIds, string[]][] = [
  ["eot", ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<end_of_utterance>"]],
  ["eom", ["<|eom_id|>"]],
  ["fimPre", ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<PRE>", "<|code_prefix|>", "<|prefix|>"]],
  ["fimSuf", ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<SUF>", "<|code_suffix|>", "<|suffix|>"]],
  ["fimMid", ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<MID>", "<|code_middle|>", "<|middle|>"]],
  ["fimPad", ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]],
  ["fimRep", ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]],
  ["fimSep", ["<|file_sep|>"]],
];
/**
 * Texts that end generation; also forced to CONTROL. "</s>" (added for paddleocr) matters for Gemma 3:
 * its HTML strike-through tag "</s>" (id 212, USER_DEFINED) becomes CONTROL, so unlike the other HTML
 * tags it is not cut out when parse_special is false. The llama.cpp in node-llama-cpp 3.22.1 logs
 * exactly that override. ref: load(), special_eog_ids.
 */
const EOG_TEXTS = new Set(["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>"]);

const ascii = /^[\x00-\x7f]*$/;
const encoder = new TextEncoder();

/** UTF-8 bytes -> byte string (one char per byte). Chunked: fromCharCode.apply has an argument limit. */
export function bytesToByteString(bytes: Uint8Array): string {
  if (bytes.length <= 0x2000) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 0x2000) parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 0x2000) as unknown as number[]));
  return parts.join("");
}

/** JS string -> byte string of its UTF-8 encoding (lone surrogates become EF BF BD, as with TextEncoder). */
export function toByteString(text: string): string {
  if (ascii.test(text)) return text;
  if (text.length > 256) return bytesToByteString(encoder.encode(text));
  // Short strings (token texts): encoding by hand is ~2x faster than TextEncoder + fromCharCode.apply.
  let out = "";
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out += text[i];
    } else if (c < 0x800) {
      out += String.fromCharCode(0xc0 | (c >> 6), 0x80 | (c & 63));
    } else {
      const d = c >= 0xd800 && c < 0xdc00 && i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d < 0xe000) {
        i++;
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        out += String.fromCharCode(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        continue;
      }
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd; // lone surrogate
      out += String.fromCharCode(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
  }
  return out;
}

/** Byte string -> bytes. */
export function byteStringToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function badVocab(message: string, detail: Record<string, unknown>): EmbedError {
  return new EmbedError("BAD_VOCAB", message, detail);
}

export class Vocabulary {
  /** tokenizer.ggml.model */
  readonly model: string;
  readonly pre: string;
  /** Token texts (an empty text is renamed "[EMPTY_i]", as llama.cpp does). */
  readonly tokens: readonly string[];
  /** The same texts as UTF-8 byte strings. */
  readonly tokenBytes: readonly string[];
  readonly scores: Float32Array;
  /** LlamaTokenAttr flags per token. */
  readonly attrs: Uint16Array;
  /** Byte string of a token text -> id. */
  readonly tokenToId: Map<string, number>;
  readonly special: Readonly<SpecialIds>;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSep: boolean;
  readonly addSpacePrefix: boolean;
  readonly removeExtraWhitespaces: boolean;
  readonly eogIds: ReadonlySet<number>;
  /** cache_special_tokens: CONTROL | USER_DEFINED | UNKNOWN ids, longest text (in bytes) first (ties in libstdc++ std::sort order). */
  readonly specialCandidates: Int32Array;
  /** Longest token text in bytes (no bigram longer than this can be a token). */
  readonly maxTokenBytes: number;
  /** What llama.cpp would have logged as warnings (bad special ids, forced CONTROL types, ...). */
  readonly warnings: string[] = [];
  private byteTokens: Int32Array | undefined;

  constructor(meta: GGUFMetadata) {
    this.model = getString(meta, "tokenizer.ggml.model");
    if (this.model !== "llama") {
      throw new EmbedError("UNSUPPORTED_TOKENIZER", `tokenizer.ggml.model = "${this.model}" is not supported (only "llama", the SentencePiece vocab)`, { model: this.model });
    }
    this.pre = getString(meta, "tokenizer.ggml.pre", "default");

    const texts = getStringArray(meta, "tokenizer.ggml.tokens");
    if (texts === undefined) throw badVocab(`metadata key "tokenizer.ggml.tokens" is missing: the file has no vocabulary`, { key: "tokenizer.ggml.tokens" });
    const n = texts.length;
    if (n === 0) throw badVocab(`"tokenizer.ggml.tokens" is empty`, { key: "tokenizer.ggml.tokens" });
    // Both optional: missing scores are 0, missing types NORMAL (llama.cpp).
    this.scores = (readArray(meta, "tokenizer.ggml.scores", GGUFValueType.FLOAT32, n) as Float32Array | undefined) ?? new Float32Array(n);
    const types = readArray(meta, "tokenizer.ggml.token_type", GGUFValueType.INT32, n) as Int32Array | undefined;

    const tokens = texts.slice();
    const tokenBytes: string[] = new Array(n);
    const tokenToId = new Map<string, number>();
    const attrs = new Uint16Array(n);
    let maxTokenBytes = 0;
    for (let i = 0; i < n; i++) {
      if (tokens[i] === "") {
        this.warnings.push(`empty token at index ${i}`);
        tokens[i] = `[EMPTY_${i}]`;
      }
      const b = toByteString(tokens[i]);
      const dup = tokenToId.get(b);
      // llama.cpp asserts id_to_token.size() == token_to_id.size(): duplicates abort the load.
      if (dup !== undefined) throw badVocab(`"tokenizer.ggml.tokens" has a duplicate token ${JSON.stringify(tokens[i])} at index ${i} (first at index ${dup})`, { key: "tokenizer.ggml.tokens", index: i, first: dup });
      tokenToId.set(b, i);
      tokenBytes[i] = b;
      if (b.length > maxTokenBytes) maxTokenBytes = b.length;
      attrs[i] = types ? TYPE_TO_ATTR[types[i]] ?? LlamaTokenAttr.UNDEFINED : LlamaTokenAttr.NORMAL;
    }
    this.tokens = tokens;
    this.tokenBytes = tokenBytes;
    this.tokenToId = tokenToId;
    this.attrs = attrs;
    this.maxTokenBytes = maxTokenBytes;

    // SPM defaults. ref: load(), tokenizer_model == "llama"
    const special: SpecialIds = { bos: 1, eos: 2, eot: TOKEN_NULL, eom: TOKEN_NULL, unk: 0, sep: TOKEN_NULL, pad: TOKEN_NULL, mask: TOKEN_NULL, fimPre: TOKEN_NULL, fimSuf: TOKEN_NULL, fimMid: TOKEN_NULL, fimPad: TOKEN_NULL, fimRep: TOKEN_NULL, fimSep: TOKEN_NULL };
    for (const [suffix, field] of SPECIAL_KEYS) {
      const key = `tokenizer.ggml.${suffix}`;
      if (!meta.has(key)) continue;
      const id = getUint(meta, key);
      if (id >= n) this.warnings.push(`bad special token: '${key}' = ${id}, using default id ${special[field]}`);
      else special[field] = id;
    }
    this.addSpacePrefix = getBool(meta, "tokenizer.ggml.add_space_prefix", true);
    this.removeExtraWhitespaces = getBool(meta, "tokenizer.ggml.remove_extra_whitespaces", false);
    this.addBos = getBool(meta, "tokenizer.ggml.add_bos_token", true);
    this.addEos = getBool(meta, "tokenizer.ggml.add_eos_token", false);
    this.addSep = getBool(meta, "tokenizer.ggml.add_sep_token", false);

    // Detection by text. llama.cpp walks an unordered_map, so which id wins when several texts of
    // one list are present is unspecified there; we take the lowest id.
    const idOf = (text: string) => tokenToId.get(toByteString(text));
    const forceControl = (id: number) => {
      if (attrs[id] & LlamaTokenAttr.CONTROL) return;
      this.warnings.push(`control-looking token: ${id} '${tokens[id]}' was not control-type; its type is overridden`);
      attrs[id] |= LlamaTokenAttr.CONTROL;
    };
    for (const [field, list] of BY_TEXT) {
      if (special[field] !== TOKEN_NULL) continue;
      const found = list.map(idOf).filter((id): id is number => id !== undefined);
      if (found.length === 0) continue;
      special[field] = Math.min(...found);
      forceControl(special[field]);
    }
    // CONTROL tokens with "unused" in their text are marked UNUSED too (no effect on (de)tokenizing).
    for (let i = 0; i < n; i++) if (attrs[i] & LlamaTokenAttr.CONTROL && tokens[i].includes("unused")) attrs[i] |= LlamaTokenAttr.UNUSED;
    const eog = new Set<number>();
    for (const id of [special.fimPad, special.fimRep, special.fimSep]) if (id !== TOKEN_NULL) eog.add(id);
    for (const t of EOG_TEXTS) {
      const id = idOf(t);
      if (id === undefined) continue;
      eog.add(id);
      forceControl(id);
    }
    // gpt-oss hack: these are always rendered (USER_DEFINED), whatever the model.
    for (const t of ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]) {
      const id = idOf(t);
      if (id !== undefined) attrs[id] = LlamaTokenAttr.USER_DEFINED;
    }
    for (const id of [special.eos, special.eot, special.eom]) if (id !== TOKEN_NULL) eog.add(id);
    const eogText = (t: string) => [...eog].find((id) => tokens[id] === t);
    const hasEog = (...ts: string[]) => ts.some((t) => eogText(t) !== undefined);
    // o200k_harmony / solar-open: <|end|> is not EOG there and becomes USER_DEFINED.
    const endId = eogText("<|end|>");
    if (endId !== undefined && hasEog("<|call|>", "<|calls|>") && hasEog("<|return|>", "<|flush|>")) {
      eog.delete(endId);
      attrs[endId] = LlamaTokenAttr.USER_DEFINED;
    }
    // gemma4: with <|tool_response> present, "</s>" is not EOG and becomes NORMAL.
    const sId = eogText("</s>");
    if (sId !== undefined && hasEog("<|tool_response>")) {
      eog.delete(sId);
      attrs[sId] = LlamaTokenAttr.NORMAL;
    }
    this.eogIds = eog;
    this.special = special;

    // cache_special_tokens: ids in order, then std::sort by byte length, longest first. That sort is
    // not stable, so the order of equal lengths is libstdc++'s; see std-sort.ts for when it matters.
    const cand: number[] = [];
    for (let i = 0; i < n; i++) if (attrs[i] & (LlamaTokenAttr.CONTROL | LlamaTokenAttr.USER_DEFINED | LlamaTokenAttr.UNKNOWN)) cand.push(i);
    this.specialCandidates = Int32Array.from(cand);
    stdSort(this.specialCandidates, (a, b) => tokenBytes[a].length > tokenBytes[b].length);

    this.setPerModelAttrs(meta, this.specialCandidates);

    // The ids encode() emits must exist (llama.cpp asserts they are not null and would index out of range).
    if (this.addBos && (special.bos === TOKEN_NULL || special.bos >= n)) throw badVocab(`add_bos_token is set but the BOS id ${special.bos} (tokenizer.ggml.bos_token_id or the SPM default 1) is out of range for ${n} tokens`, { key: "tokenizer.ggml.bos_token_id", index: special.bos });
    if (this.addEos && (special.eos === TOKEN_NULL || special.eos >= n)) throw badVocab(`add_eos_token is set but the EOS id ${special.eos} (tokenizer.ggml.eos_token_id or the SPM default 2) is out of range for ${n} tokens`, { key: "tokenizer.ggml.eos_token_id", index: special.eos });
  }

  /** LSTRIP/RSTRIP set by model name, as llama.cpp does ("Handle per token attributes"); none apply to Gemma. */
  private setPerModelAttrs(meta: GGUFMetadata, cand: Int32Array): void {
    const name = getString(meta, "general.name", "").toLowerCase();
    const arch = getString(meta, "general.architecture", "");
    const set = (text: string, attr: LlamaTokenAttr, on: boolean, required: boolean) => {
      const id = this.tokenToId.get(toByteString(text));
      if (id === undefined) {
        if (required) throw badVocab(`token ${JSON.stringify(text)} is missing from "tokenizer.ggml.tokens" (llama.cpp needs it for this model)`, { key: "tokenizer.ggml.tokens", token: text });
        this.warnings.push(`${text} token is missing in vocab, please reconvert model!`);
        return;
      }
      this.attrs[id] = on ? this.attrs[id] | attr : this.attrs[id] & ~attr;
    };
    if (["jina-v2-de", "jina-v2-es", "jina-v2-code"].some((s) => this.pre.includes(s)) || ["nomic-bert-moe", "jina-bert-v3"].some((s) => arch.includes(s))) {
      set("<mask>", LlamaTokenAttr.LSTRIP, true, false);
    } else if (name.includes("phi-3") || name.includes("phi3")) {
      for (const id of cand) this.attrs[id] |= LlamaTokenAttr.RSTRIP;
      set("</s>", LlamaTokenAttr.RSTRIP, true, true);
      for (const t of ["<unk>", "<s>", "<|endoftext|>"]) set(t, LlamaTokenAttr.RSTRIP, false, true);
    } else if (name.includes("modern-bert")) {
      set("[MASK]", LlamaTokenAttr.LSTRIP, true, false);
    }
  }

  get nVocab(): number {
    return this.tokens.length;
  }

  /** Id of a token text, or TOKEN_NULL. */
  textToToken(text: string): number {
    return this.tokenToId.get(toByteString(text)) ?? TOKEN_NULL;
  }

  /**
   * Token for one raw byte: "<0xHH>" (uppercase hex), else the one-byte text, else throw (llama.cpp
   * throws std::out_of_range). ref: llama_vocab::byte_to_token, SPM case.
   */
  byteToToken(byte: number): number {
    if (!this.byteTokens) {
      const t = new Int32Array(256);
      for (let b = 0; b < 256; b++) {
        t[b] = this.tokenToId.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`) ?? this.tokenToId.get(String.fromCharCode(b)) ?? TOKEN_NULL;
      }
      this.byteTokens = t;
    }
    const id = this.byteTokens[byte];
    if (id === TOKEN_NULL) throw badVocab(`byte fallback needs token "<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>", which the vocab lacks`, { key: "tokenizer.ggml.tokens", byte });
    return id;
  }
}

/** A numeric array key that must have `itemType` and exactly `n` entries, or be absent. */
function readArray(meta: GGUFMetadata, key: string, itemType: GGUFValueType, n: number): Float32Array | Int32Array | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (v.type !== GGUFValueType.ARRAY || v.itemType !== itemType) {
    throw badVocab(`metadata key "${key}" must be an array of ${GGUFValueType[itemType]}, got ${GGUFValueType[v.type]}${v.type === GGUFValueType.ARRAY ? `[${GGUFValueType[v.itemType]}]` : ""}`, { key });
  }
  if (v.value.length !== n) throw badVocab(`metadata key "${key}" has ${v.value.length} entries but "tokenizer.ggml.tokens" has ${n}; index ${Math.min(v.value.length, n)} has no partner`, { key, index: Math.min(v.value.length, n), length: v.value.length, nTokens: n });
  return v.value as Float32Array | Int32Array;
}
