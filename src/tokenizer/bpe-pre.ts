/**
 * BPE pre-tokenizers: the word splitters llama.cpp runs before byte-level BPE merging, and the
 * per-`tokenizer.ggml.pre` defaults llama_vocab::impl::load sets for `tokenizer.ggml.model = "gpt2"`.
 * ref: llama.cpp src/unicode.cpp unicode_regex_split_custom_gpt2, unicode_regex_split_custom_llama3,
 * unicode_regex_split_custom_qwen2 (hand-written versions of the split regexes); src/llama-vocab.cpp
 * llm_tokenizer_bpe (regex per pre type) and load (the tokenizer_pre table); docs/tokenizers/bpe.md.
 *
 * Every class test uses llama.cpp's Unicode 15.1 flags (unicode.ts), never JavaScript's `\p{...}`.
 * A splitter reads code points cpts[start, end) (one raw fragment) and appends the end index of each
 * word to `ends`. Positions outside [start, end) have flags 0 (llama.cpp's `unicode_cpt_flags{}`),
 * which differs from an unassigned code point's UNDEFINED flag: `flags != 0` below is llama.cpp's
 * `flags.as_uint()`.
 */
import { CptFlag, unicode_cpt_flags_from_cpt, unicode_tolower } from "./unicode.js";

/** The llama.cpp split functions implemented here. */
export type BpePreSplit = "gpt2" | "llama3" | "qwen2";

/** What a `tokenizer.ggml.pre` value sets on top of the BPE defaults (clean_spaces on, add_bos/add_sep off). */
export interface BpePreDefaults {
  split: BpePreSplit;
  cleanSpaces: boolean;
  addBos: boolean;
  addSep: boolean;
  ignoreMerges: boolean;
}

const pre = (split: BpePreSplit, o: Partial<Omit<BpePreDefaults, "split">> = {}): BpePreDefaults => ({
  split,
  cleanSpaces: o.cleanSpaces ?? true,
  addBos: o.addBos ?? false,
  addSep: o.addSep ?? false,
  ignoreMerges: o.ignoreMerges ?? false,
});

const LLAMA3 = pre("llama3", { ignoreMerges: true, addBos: true });
const GPT2 = pre("gpt2");
const QWEN2 = pre("qwen2", { cleanSpaces: false });

/**
 * The `tokenizer.ggml.pre` names whose llama.cpp pre type uses one of our splitters, with load()'s
 * flags for each (names llama.cpp maps to the same pre type and flags share an entry).
 */
export const BPE_PRE: Readonly<Record<string, BpePreDefaults>> = {
  // LLAMA_VOCAB_PRE_TYPE_LLAMA3: ignore_merges, add_bos
  ...Object.fromEntries(
    ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"].map((n) => [n, LLAMA3]),
  ),
  // the llama3 regex without llama3's flags
  dbrx: pre("llama3"),
  "smaug-bpe": pre("llama3"),
  // LLAMA_VOCAB_PRE_TYPE_GPT2 and the types sharing its regex (MPT, OLMO, JAIS, TRILLION, GRANITE_DOCLING)
  ...Object.fromEntries(
    [
      "gpt-2",
      "phi-2",
      "jina-es",
      "jina-de",
      "gigachat",
      "jina-v2-es",
      "jina-v2-de",
      "a.x-4.0",
      "mellum",
      "modern-bert",
      "exaone4",
      "mpt",
      "olmo",
      "jais",
    ].map((n) => [n, GPT2]),
  ),
  trillion: pre("gpt2", { cleanSpaces: false }),
  "granite-docling": pre("gpt2", { cleanSpaces: false }),
  ...Object.fromEntries(["jina-v1-en", "jina-v2-code", "roberta-bpe"].map((n) => [n, pre("gpt2", { addSep: true })])),
  // LLAMA_VOCAB_PRE_TYPE_QWEN2 and the types sharing its regex (STABLELM2, HUNYUAN, SOLAR_OPEN)
  ...Object.fromEntries(["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open"].map((n) => [n, QWEN2])),
  megrez: pre("qwen2"),
  stablelm2: pre("qwen2"),
};

/** Splits cpts[start, end) into words; appends each word's end index to `ends`. */
export function bpePreSplit(split: BpePreSplit, cpts: readonly number[], start: number, end: number, ends: number[]): void {
  if (split === "gpt2") splitGpt2(cpts, start, end, ends);
  else splitLlama3(cpts, start, end, ends, split === "qwen2" ? 1 : 3);
}

const CR = 0x0d,
  LF = 0x0a,
  SP = 0x20,
  AP = 0x27;
const OUT = -1; // llama.cpp's OUT_OF_RANGE code point
const WLN = CptFlag.WHITESPACE | CptFlag.LETTER | CptFlag.NUMBER;

/** One fragment's cpts[start, end) and the word ends found so far: the _get_cpt, _get_flags and _add_token of the splitters. */
class Words {
  private prevEnd: number;
  constructor(
    private readonly cpts: readonly number[],
    private readonly start: number,
    private readonly end: number,
    private readonly ends: number[],
  ) {
    this.prevEnd = start;
  }

  cpt(p: number): number {
    return p >= this.start && p < this.end ? this.cpts[p] : OUT;
  }

  flags(p: number): number {
    return p >= this.start && p < this.end ? unicode_cpt_flags_from_cpt(this.cpts[p]) : 0;
  }

  /** End a word at e (nothing if empty); returns its length. */
  add(e: number): number {
    const len = e - this.prevEnd;
    if (len > 0) this.ends.push(e);
    this.prevEnd = e;
    return len;
  }

  /** Length of 's|'t|'re|'ve|'m|'ll|'d at pos (2 or 3; case-insensitive if `lower`), or 0. */
  contraction(pos: number, lower: boolean): number {
    if (this.cpt(pos) !== AP || pos + 1 >= this.end) return 0;
    const n1 = lower ? unicode_tolower(this.cpt(pos + 1)) : this.cpt(pos + 1);
    if (n1 === 0x73 || n1 === 0x74 || n1 === 0x6d || n1 === 0x64) return 2; // s t m d
    if (pos + 2 >= this.end) return 0;
    const n2 = lower ? unicode_tolower(this.cpt(pos + 2)) : this.cpt(pos + 2);
    return (n1 === 0x72 && n2 === 0x65) || (n1 === 0x76 && n2 === 0x65) || (n1 === 0x6c && n2 === 0x6c) ? 3 : 0; // re ve ll
  }

  /**
   * The loop both splitters run (one word per step): the contraction rule ('s 't 're 've 'm 'll 'd,
   * case-insensitive if `lower`), else `rules`, which end one word and return the next position.
   */
  run(lower: boolean, rules: (pos: number, cpt: number, flags: number) => number): void {
    for (let pos = this.start; pos < this.end; ) {
      const nc = this.contraction(pos, lower);
      pos = nc ? pos + this.add(pos + nc) : rules(pos, this.cpt(pos), this.flags(pos));
    }
  }

  /** The rules both splitters end with, at pos followed by nWs whitespace: \s+(?!\S), \s+, else one code point. */
  spaces(pos: number, nWs: number): number {
    if (nWs > 1 && this.cpt(pos + nWs) !== OUT)
      pos += nWs - 1; // \s+(?!\S): leave the last space to the next word
    else if (nWs > 0)
      pos += nWs; // \s+
    else pos++; // no match
    this.add(pos);
    return pos;
  }
}

/**
 * GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * ref: llama.cpp src/unicode.cpp unicode_regex_split_custom_gpt2.
 */
function splitGpt2(cpts: readonly number[], start: number, end: number, ends: number[]): void {
  const w = new Words(cpts, start, end, ends);
  const _cptAt = (p: number) => w.cpt(p);
  const flagsAt = (p: number) => w.flags(p);
  const add = (e: number) => w.add(e);
  w.run(false, (pos, cpt, flags) => {
    let flags2 = cpt === SP ? flagsAt(pos + 1) : flags;
    // <space>?\p{L}+
    if (flags2 & CptFlag.LETTER) {
      if (cpt === SP) pos++;
      while (flags2 & CptFlag.LETTER) flags2 = flagsAt(++pos);
      add(pos);
      return pos;
    }
    // <space>?\p{N}+
    if (flags2 & CptFlag.NUMBER) {
      if (cpt === SP) pos++;
      while (flags2 & CptFlag.NUMBER) flags2 = flagsAt(++pos);
      add(pos);
      return pos;
    }
    // <space>?[^\s\p{L}\p{N}]+
    if (!(flags2 & WLN) && flags2) {
      if (cpt === SP) pos++;
      while (!(flags2 & WLN) && flags2) flags2 = flagsAt(++pos);
      add(pos);
      return pos;
    }
    let nWs = 0;
    while (flagsAt(pos + nWs) & CptFlag.WHITESPACE) nWs++;
    return w.spaces(pos, nWs);
  });
}

/**
 * Llama 3 (maxDigits 3) and Qwen2 (maxDigits 1):
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * ref: llama.cpp src/unicode.cpp unicode_regex_split_custom_llama3 and unicode_regex_split_custom_qwen2,
 * which differ only in the digit rule (qwen2 takes one digit per match; llama3 up to three).
 */
function splitLlama3(cpts: readonly number[], start: number, end: number, ends: number[], maxDigits: number): void {
  const w = new Words(cpts, start, end, ends);
  const cptAt = (p: number) => w.cpt(p);
  const flagsAt = (p: number) => w.flags(p);
  const add = (e: number) => w.add(e);
  w.run(true, (pos, cpt, flags) => {
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!(cpt === CR || cpt === LF || flags & CptFlag.NUMBER)) {
      if (flags & CptFlag.LETTER || flagsAt(pos + 1) & CptFlag.LETTER) {
        pos++;
        while (flagsAt(pos) & CptFlag.LETTER) pos++;
        add(pos);
        return pos;
      }
    }
    // \p{N}{1,maxDigits}
    if (flags & CptFlag.NUMBER) {
      let ini = pos;
      while (flagsAt(pos) & CptFlag.NUMBER) {
        if (++pos - ini >= maxDigits) {
          add(pos);
          ini = pos;
        }
      }
      add(pos);
      return pos;
    }
    // <space>?[^\s\p{L}\p{N}]+[\r\n]*  (the entry test reads flags, the loop flags2, as llama.cpp does)
    let flags2 = cpt === SP ? flagsAt(pos + 1) : flags;
    if (!(flags2 & WLN) && flags) {
      if (cpt === SP) pos++;
      while (!(flags2 & WLN) && flags2) flags2 = flagsAt(++pos);
      let c2 = cptAt(pos);
      while (c2 === CR || c2 === LF) c2 = cptAt(++pos);
      add(pos);
      return pos;
    }
    let nWs = 0;
    let lastEndRN = 0;
    while (flagsAt(pos + nWs) & CptFlag.WHITESPACE) {
      const c2 = cptAt(pos + nWs);
      if (c2 === CR || c2 === LF) lastEndRN = pos + nWs + 1;
      nWs++;
    }
    // \s*[\r\n]+
    if (lastEndRN > 0) {
      pos = lastEndRN;
      add(pos);
      return pos;
    }
    return w.spaces(pos, nWs);
  });
}
