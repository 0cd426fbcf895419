/** Token types, attribute flags and special-id fields of a llama.cpp vocabulary. ref: llama.cpp include/llama.h. */

/** GGUF `tokenizer.ggml.token_type` values. ref: llama.h `llama_token_type`, gguf-py TokenType. */
export enum LlamaTokenType {
  UNDEFINED = 0,
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  USER_DEFINED = 4,
  UNUSED = 5,
  BYTE = 6,
}

/** Attribute flags. ref: llama.h `llama_token_attr`. */
export enum LlamaTokenAttr {
  UNDEFINED = 0,
  UNKNOWN = 1 << 0,
  UNUSED = 1 << 1,
  NORMAL = 1 << 2,
  CONTROL = 1 << 3,
  USER_DEFINED = 1 << 4,
  BYTE = 1 << 5,
  NORMALIZED = 1 << 6,
  LSTRIP = 1 << 7,
  RSTRIP = 1 << 8,
  SINGLE_WORD = 1 << 9,
}

/** LLAMA_TOKEN_NULL */
export const TOKEN_NULL = -1;

/** llama_vocab_type of the algorithms we know: SPM ("llama"), WPM ("bert"), UGM ("t5"), BPE ("gpt2"). */
export type VocabType = "spm" | "wpm" | "ugm" | "bpe";

export interface SpecialIds {
  bos: number;
  eos: number;
  eot: number;
  eom: number;
  unk: number;
  sep: number;
  pad: number;
  mask: number;
  fimPre: number;
  fimSuf: number;
  fimMid: number;
  fimPad: number;
  fimRep: number;
  fimSep: number;
}
