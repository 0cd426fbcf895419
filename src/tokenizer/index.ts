/**
 * Tokenizer entry points: createTokenizer(metadata) dispatches on `tokenizer.ggml.model` to one file
 * per algorithm, as llama.cpp's llama_vocab::impl::init_tokenizer does by vocab type:
 *   "llama" -> spm.ts (SentencePiece BPE-by-score), "bert" -> wpm.ts (WordPiece),
 *   "gpt2" -> bpe.ts (byte-level BPE; pre-tokenizers in bpe-pre.ts).
 * Others ("t5" = UGM, "rwkv", "plamo2", "none", ...) throw UNSUPPORTED_TOKENIZER.
 * ref: llama.cpp src/llama-vocab.cpp; docs/tokenizers/.
 */
import { EmbedError } from "../errors.js";
import { getString, type GGUFMetadata } from "../gguf/keys.js";
import { readGGUF } from "../gguf/reader.js";
import type { ByteSource } from "../gguf/source.js";
import { BpeTokenizer } from "./bpe.js";
import { SpmTokenizer } from "./spm.js";
import type { Tokenizer } from "./tokenizer.js";
import { Vocabulary } from "./vocab.js";
import { WpmTokenizer } from "./wpm.js";

export type { DecodeOptions, EncodeOptions, PieceOptions, Tokenizer } from "./tokenizer.js";
export { LlamaTokenAttr, LlamaTokenType, TOKEN_NULL, Vocabulary, type SpecialIds, type VocabType } from "./vocab.js";

/** A tokenizer for GGUF metadata. */
export function createTokenizer(metadata: GGUFMetadata): Tokenizer {
  const model = getString(metadata, "tokenizer.ggml.model");
  switch (model) {
    case "llama":
      return new SpmTokenizer(new Vocabulary(metadata));
    case "bert":
      return new WpmTokenizer(new Vocabulary(metadata));
    case "gpt2":
      return BpeTokenizer.fromMetadata(new Vocabulary(metadata), metadata);
    default: // "t5" (UGM), "rwkv", "plamo2", "none"/"no_vocab", ...
      throw new EmbedError(
        "UNSUPPORTED_TOKENIZER",
        `tokenizer.ggml.model = "${model}" is not supported; implemented: "llama" (SentencePiece, as Gemma uses), "bert" (WordPiece) and "gpt2" (byte-level BPE)`,
        { model },
      );
  }
}

/** Read only the GGUF metadata of `source` (a vocab-only file is enough) and build its tokenizer. */
export async function loadTokenizer(source: ByteSource): Promise<Tokenizer> {
  const { metadata } = await readGGUF(source);
  return createTokenizer(metadata);
}
