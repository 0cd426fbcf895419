/**
 * Vocabulary from GGUF `tokenizer.ggml.*` metadata, as llama.cpp's `llama_vocab::impl::load` builds
 * it: the per-model defaults ("llama" = SPM, "bert" = WPM, "t5" = UGM: special ids, add_bos/add_eos/
 * add_sep, add_space_prefix, clean_spaces, escape_whitespaces), token texts, scores, token types
 * mapped to attribute flags, special ids from the keys with llama.cpp's "bad special token" handling,
 * the BertNormalizer options, EOT/EOG/FIM detection by token text (vocab-special.ts), and the
 * special-token cache used by the partition. ref: llama.cpp src/llama-vocab.cpp load;
 * docs/tokenizers/spm.md, docs/tokenizers/wpm.md.
 *
 * "gpt2" (byte-level BPE) takes its flags (add_bos, add_sep, clean_spaces, ignore_merges) from the
 * per-`tokenizer.ggml.pre` table in bpe-pre.ts; a pre-tokenizer we do not implement is refused.
 * Token texts are also kept as byte strings (bytes.ts).
 */
import { EmbedError } from "../errors.js";
import { GGUFValueType, getBool, getString, getStringArray, getUint, type GGUFMetadata } from "../gguf/keys.js";
import { toByteString } from "./bytes.js";
import { BPE_PRE, type BpePreSplit } from "./bpe-pre.js";
import { stdSort } from "./std-sort.js";
import { detectSpecialTokens, setPerModelAttrs } from "./vocab-special.js";
import { LlamaTokenAttr, LlamaTokenType, TOKEN_NULL, type SpecialIds, type VocabType } from "./vocab-types.js";

export { bytesToByteString, byteStringToBytes, toByteString } from "./bytes.js";
export { LlamaTokenAttr, LlamaTokenType, TOKEN_NULL, type SpecialIds, type VocabType } from "./vocab-types.js";

const TYPE_TO_ATTR: Record<number, LlamaTokenAttr> = {
  [LlamaTokenType.UNKNOWN]: LlamaTokenAttr.UNKNOWN,
  [LlamaTokenType.UNUSED]: LlamaTokenAttr.UNUSED,
  [LlamaTokenType.NORMAL]: LlamaTokenAttr.NORMAL,
  [LlamaTokenType.CONTROL]: LlamaTokenAttr.CONTROL,
  [LlamaTokenType.USER_DEFINED]: LlamaTokenAttr.USER_DEFINED,
  [LlamaTokenType.BYTE]: LlamaTokenAttr.BYTE,
}; // anything else (UNDEFINED, out-of-range values) -> UNDEFINED, as llama.cpp does

/** Key of each special id; later keys overwrite earlier ones (the deprecated prefix/suffix/middle come last). */
const SPECIAL_KEYS: [string, keyof SpecialIds][] = [
  ["bos_token_id", "bos"],
  ["eos_token_id", "eos"],
  ["eot_token_id", "eot"],
  ["eom_token_id", "eom"],
  ["unknown_token_id", "unk"],
  ["seperator_token_id", "sep"],
  ["padding_token_id", "pad"],
  ["mask_token_id", "mask"],
  ["fim_pre_token_id", "fimPre"],
  ["fim_suf_token_id", "fimSuf"],
  ["fim_mid_token_id", "fimMid"],
  ["fim_pad_token_id", "fimPad"],
  ["fim_rep_token_id", "fimRep"],
  ["fim_sep_token_id", "fimSep"],
  ["prefix_token_id", "fimPre"],
  ["suffix_token_id", "fimSuf"],
  ["middle_token_id", "fimMid"],
];

const N = TOKEN_NULL;
/** load(): the impl's member defaults, then the tokenizer_model branch, then the vocab-type branch. */
interface ModelDefaults {
  type: VocabType;
  ids: [bos: number, eos: number, unk: number, sep: number, pad: number, mask: number];
  addSpacePrefix: boolean;
  addBos: boolean;
  addEos: boolean;
  addSep: boolean;
  cleanSpaces: boolean;
}
const MODEL_DEFAULTS: Record<string, ModelDefaults> = {
  llama: { type: "spm", ids: [1, 2, 0, N, N, N], addSpacePrefix: true, addBos: true, addEos: false, addSep: false, cleanSpaces: false },
  bert: {
    type: "wpm",
    ids: [101, N, 100, 102, 0, 103],
    addSpacePrefix: false,
    addBos: true,
    addEos: false,
    addSep: true,
    cleanSpaces: true,
  },
  t5: { type: "ugm", ids: [N, 1, 2, N, 0, N], addSpacePrefix: false, addBos: false, addEos: true, addSep: false, cleanSpaces: false },
  // the "gpt2" branch, then "for now, only BPE models have pre-tokenizers" (add_bos/add_sep/clean_spaces per pre: bpe-pre.ts)
  gpt2: { type: "bpe", ids: [11, 11, N, N, N, N], addSpacePrefix: false, addBos: false, addEos: false, addSep: false, cleanSpaces: true },
};

function badVocab(message: string, detail: Record<string, unknown>): EmbedError {
  return new EmbedError("BAD_VOCAB", message, detail);
}

export class Vocabulary {
  /** tokenizer.ggml.model */
  readonly model: string;
  /** llama_vocab_type of the model. */
  readonly type: VocabType;
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
  /** clean_up_tokenization_spaces: detokenize() tidies " ." " 's" etc. (WPM). */
  readonly cleanSpaces: boolean;
  /** SPM/UGM replace " " by "▁" (true); byte-level BPE does not (false). */
  readonly escapeWhitespaces: boolean;
  /** BPE: the llama.cpp splitter of `tokenizer.ggml.pre` (undefined for other types). */
  readonly bpeSplit: BpePreSplit | undefined;
  /** BPE: a word that is itself a token is emitted whole, without merging (llama.cpp ignore_merges). */
  readonly ignoreMerges: boolean;
  /** BertNormalizer options (tokenizer.ggml.normalizer.lowercase / .strip_accents; WPM). */
  readonly normalizerLowercase: boolean;
  readonly normalizerStripAccents: boolean;
  readonly eogIds: ReadonlySet<number>;
  /** cache_special_tokens: CONTROL | USER_DEFINED | UNKNOWN ids, longest text (in bytes) first (ties in libstdc++ std::sort order). */
  readonly specialCandidates: Int32Array;
  /** Longest token text in bytes (llama.cpp max_token_len). */
  readonly maxTokenBytes: number;
  /** What llama.cpp would have logged as warnings (bad special ids, forced CONTROL types, ...). */
  readonly warnings: string[] = [];
  private byteTokens: Int32Array | undefined;

  constructor(meta: GGUFMetadata) {
    this.model = getString(meta, "tokenizer.ggml.model");
    const defaults = MODEL_DEFAULTS[this.model];
    if (!defaults) {
      const known = Object.keys(MODEL_DEFAULTS)
        .map((m) => `"${m}"`)
        .join(", ");
      const message = `tokenizer.ggml.model = "${this.model}" is not supported (known: ${known})`;
      throw new EmbedError("UNSUPPORTED_TOKENIZER", message, { model: this.model });
    }
    this.type = defaults.type;
    this.pre = getString(meta, "tokenizer.ggml.pre", "default");
    let addBos = defaults.addBos;
    let addSep = defaults.addSep;
    let cleanSpaces = defaults.cleanSpaces;
    const bpePre = this.type === "bpe" ? BPE_PRE[this.pre] : undefined;
    if (this.type === "bpe") {
      if (!bpePre || !Object.hasOwn(BPE_PRE, this.pre)) {
        const known = Object.keys(BPE_PRE)
          .map((p) => `"${p}"`)
          .join(", ");
        const message =
          `tokenizer.ggml.model = "${this.model}" with tokenizer.ggml.pre = "${this.pre}": not a supported BPE ` +
          `pre-tokenizer (supported: ${known})`;
        throw new EmbedError("UNSUPPORTED_TOKENIZER", message, { model: this.model, pre: this.pre });
      }
      ({ addBos, addSep, cleanSpaces } = bpePre);
    }
    this.bpeSplit = bpePre?.split;
    this.ignoreMerges = bpePre?.ignoreMerges ?? false;
    this.addSpacePrefix = getBool(meta, "tokenizer.ggml.add_space_prefix", defaults.addSpacePrefix);
    this.removeExtraWhitespaces = getBool(meta, "tokenizer.ggml.remove_extra_whitespaces", false);
    this.cleanSpaces = cleanSpaces;
    this.escapeWhitespaces = this.type !== "bpe";

    const texts = getStringArray(meta, "tokenizer.ggml.tokens");
    if (texts === undefined)
      throw badVocab(`metadata key "tokenizer.ggml.tokens" is missing: the file has no vocabulary`, { key: "tokenizer.ggml.tokens" });
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
      if (dup !== undefined)
        throw badVocab(`"tokenizer.ggml.tokens" has a duplicate token ${JSON.stringify(tokens[i])} at index ${i} (first at index ${dup})`, {
          key: "tokenizer.ggml.tokens",
          index: i,
          first: dup,
        });
      tokenToId.set(b, i);
      tokenBytes[i] = b;
      if (b.length > maxTokenBytes) maxTokenBytes = b.length;
      attrs[i] = types ? (TYPE_TO_ATTR[types[i]] ?? LlamaTokenAttr.UNDEFINED) : LlamaTokenAttr.NORMAL;
    }
    this.tokens = tokens;
    this.tokenBytes = tokenBytes;
    this.tokenToId = tokenToId;
    this.attrs = attrs;
    this.maxTokenBytes = maxTokenBytes;
    // llama.cpp's WPM token_to_piece aborts on a BYTE token (token_to_byte has no WPM case), at load.
    if (this.type === "wpm") {
      const byteId = attrs.findIndex((a) => (a & LlamaTokenAttr.BYTE) !== 0);
      if (byteId >= 0) {
        const message =
          `token ${byteId} ${JSON.stringify(tokens[byteId])} has type BYTE, which a WordPiece ("bert") vocab ` +
          "cannot have (llama.cpp aborts on it)";
        throw badVocab(message, { key: "tokenizer.ggml.token_type", index: byteId });
      }
    }

    const [bos, eos, unk, sep, pad, mask] = defaults.ids;
    const fim = { fimPre: N, fimSuf: N, fimMid: N, fimPad: N, fimRep: N, fimSep: N };
    const special: SpecialIds = { bos, eos, eot: N, eom: N, unk, sep, pad, mask, ...fim };
    const disabledDefault: Partial<Record<keyof SpecialIds, number>> = {};
    for (const [suffix, field] of SPECIAL_KEYS) {
      const key = `tokenizer.ggml.${suffix}`;
      if (special[field] >= n) {
        this.warnings.push(`default special token '${key}' = ${special[field]} out of vocab range, disabling`);
        disabledDefault[field] = special[field];
        special[field] = N;
      }
      if (!meta.has(key)) continue;
      const id = getUint(meta, key);
      if (id >= n) this.warnings.push(`bad special token: '${key}' = ${id}, using default id ${special[field]}`);
      else special[field] = id;
    }
    this.addBos = getBool(meta, "tokenizer.ggml.add_bos_token", addBos);
    this.addEos = getBool(meta, "tokenizer.ggml.add_eos_token", defaults.addEos);
    this.addSep = getBool(meta, "tokenizer.ggml.add_sep_token", addSep);
    this.normalizerLowercase = getBool(meta, "tokenizer.ggml.normalizer.lowercase", true);
    this.normalizerStripAccents = getBool(meta, "tokenizer.ggml.normalizer.strip_accents", this.normalizerLowercase);

    const state = { tokens, tokenToId, attrs, special, warnings: this.warnings };
    this.eogIds = detectSpecialTokens(state);
    this.special = special;

    // cache_special_tokens: ids in order, then std::sort by byte length, longest first. That sort is
    // not stable, so the order of equal lengths is libstdc++'s; see std-sort.ts for when it matters.
    const cand: number[] = [];
    for (let i = 0; i < n; i++)
      if (attrs[i] & (LlamaTokenAttr.CONTROL | LlamaTokenAttr.USER_DEFINED | LlamaTokenAttr.UNKNOWN)) cand.push(i);
    this.specialCandidates = Int32Array.from(cand);
    stdSort(this.specialCandidates, (a, b) => tokenBytes[a].length > tokenBytes[b].length);

    const names = { name: getString(meta, "general.name", ""), pre: this.pre, arch: getString(meta, "general.architecture", "") };
    setPerModelAttrs(state, names, this.specialCandidates);

    // The ids encode() emits must exist (llama.cpp asserts they are not null, or indexes out of range).
    const need = (field: keyof SpecialIds, what: string, key: string) => {
      const id = special[field];
      if (id !== N && id < n) return;
      const shown = disabledDefault[field] ?? id;
      const message =
        `${what} needs the ${field.toUpperCase()} id, but ${shown} (${key} or the "${this.model}" default) ` +
        `is out of range for ${n} tokens`;
      throw badVocab(message, { key, index: shown });
    };
    if (this.type === "wpm") {
      // WPM: add_special always wraps in BOS ([CLS]) ... SEP, whatever add_bos/add_sep say; an unmatched word is UNK.
      need("bos", "WordPiece's add_special", "tokenizer.ggml.bos_token_id");
      need("sep", "WordPiece's add_special", "tokenizer.ggml.seperator_token_id");
      need("unk", "WordPiece (a word it cannot split)", "tokenizer.ggml.unknown_token_id");
    } else {
      if (this.addBos) need("bos", "add_bos_token is set: it", "tokenizer.ggml.bos_token_id");
      if (this.addEos) need("eos", "add_eos_token is set: it", "tokenizer.ggml.eos_token_id");
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
        t[b] =
          this.tokenToId.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`) ??
          this.tokenToId.get(String.fromCharCode(b)) ??
          TOKEN_NULL;
      }
      this.byteTokens = t;
    }
    const id = this.byteTokens[byte];
    if (id === TOKEN_NULL)
      throw badVocab(`byte fallback needs token "<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>", which the vocab lacks`, {
        key: "tokenizer.ggml.tokens",
        byte,
      });
    return id;
  }
}

/** A numeric array key that must have `itemType` and exactly `n` entries, or be absent. */
function readArray(meta: GGUFMetadata, key: string, itemType: GGUFValueType, n: number): Float32Array | Int32Array | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (v.type !== GGUFValueType.ARRAY || v.itemType !== itemType) {
    throw badVocab(
      `metadata key "${key}" must be an array of ${GGUFValueType[itemType]}, got ${GGUFValueType[v.type]}${v.type === GGUFValueType.ARRAY ? `[${GGUFValueType[v.itemType]}]` : ""}`,
      { key },
    );
  }
  if (v.value.length !== n)
    throw badVocab(
      `metadata key "${key}" has ${v.value.length} entries but "tokenizer.ggml.tokens" has ${n}; index ${Math.min(v.value.length, n)} has no partner`,
      { key, index: Math.min(v.value.length, n), length: v.value.length, nTokens: n },
    );
  return v.value as Float32Array | Int32Array;
}
