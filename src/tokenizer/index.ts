/**
 * Tokenizer entry points: createTokenizer(metadata) dispatches on `tokenizer.ggml.model`, and
 * Tokenizer.encode/decode mirror llama.cpp's `llama_vocab::impl::tokenize` (SPM case) and
 * `detokenize`/`token_to_piece`. ref: llama.cpp src/llama-vocab.cpp; spec tokenizer-spm.md §4, §11.
 *
 * Text input: any JS string. It is encoded to UTF-8 as TextEncoder does, so a lone surrogate becomes
 * U+FFFD (EF BF BD); that is also what llama.cpp receives through node-llama-cpp (N-API's UTF-8
 * conversion), and tokenizer-parity.test.ts checks lone surrogates against it.
 * NUL and other control characters are ordinary bytes: they go through the partition and the merge
 * loop like any other character (Gemma has tokens for most C0 controls; the rest fall back to bytes).
 * A Uint8Array is taken as raw bytes, invalid UTF-8 included, and split by llama.cpp's lead-byte rule.
 *
 * Output ids are a plain number[] (what JSON and llama.cpp bindings use; V8 stores it as packed small
 * integers). Callers that need an Int32Array copy it with Int32Array.from.
 */
import { EmbedError } from "../errors.js";
import { getString, type GGUFMetadata } from "../gguf/keys.js";
import { readGGUF } from "../gguf/reader.js";
import type { ByteSource } from "../gguf/source.js";
import { partition } from "./partition.js";
import { SpmSession } from "./spm.js";
import { LlamaTokenAttr, Vocabulary, bytesToByteString, byteStringToBytes, toByteString, type SpecialIds } from "./vocab.js";

export { LlamaTokenAttr, LlamaTokenType, TOKEN_NULL, Vocabulary } from "./vocab.js";

export interface EncodeOptions {
  /** Add BOS/EOS as the vocab's add_bos_token/add_eos_token say (llama.cpp `add_special`). Default true. */
  addSpecial?: boolean;
  /** Match CONTROL/UNKNOWN token texts such as "<start_of_turn>" in the input (`parse_special`). Default true, as llama-server and llama-embedding do. USER_DEFINED texts are always matched. */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Drop a leading BOS (if add_bos) and a trailing EOS (if add_eos). Default false. */
  removeSpecial?: boolean;
  /** Render CONTROL/UNKNOWN tokens as their text; otherwise they decode to nothing. Default false. */
  unparseSpecial?: boolean;
}

// ignoreBOM: keep a leading U+FEFF (Gemma has tokens starting with it); fatal: false -> U+FFFD for invalid bytes.
const utf8Decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const ESCAPED_SPACE = "\u00e2\u0096\u0081"; // "▁" U+2581 as a byte string (E2 96 81)

export class Tokenizer {
  private readonly session: SpmSession;
  private readonly pieces: (string | undefined)[];

  constructor(readonly vocab: Vocabulary) {
    this.session = new SpmSession(vocab);
    this.pieces = new Array(vocab.nVocab);
  }

  get nVocab(): number {
    return this.vocab.nVocab;
  }

  /** Special ids (TOKEN_NULL = -1 when absent). */
  get special(): Readonly<SpecialIds> {
    return this.vocab.special;
  }

  get bosId(): number {
    return this.vocab.special.bos;
  }

  get eosId(): number {
    return this.vocab.special.eos;
  }

  /** Token ids of `text`. ref: llama_vocab::impl::tokenize, LLAMA_VOCAB_TYPE_SPM. */
  encode(text: string | Uint8Array, opts: EncodeOptions = {}): number[] {
    const { addSpecial = true, parseSpecial = true } = opts;
    const { vocab } = this;
    const s = typeof text === "string" ? toByteString(text) : bytesToByteString(text);
    const out: number[] = [];
    if (addSpecial && vocab.addBos) out.push(vocab.special.bos);
    let prevSpecial = true;
    for (const f of partition(vocab, s, parseSpecial)) {
      if (f.id >= 0) {
        out.push(f.id);
        prevSpecial = true;
        continue;
      }
      // add_space_prefix never applies to Gemma (the converter writes false)
      this.session.tokenize(s, f.start, f.end, vocab.addSpacePrefix && prevSpecial, out);
      prevSpecial = false;
    }
    if (addSpecial && vocab.addEos) out.push(vocab.special.eos);
    return out;
  }

  /** UTF-8 bytes of the tokens' text. ref: llama_vocab::impl::detokenize (clean_spaces is false for SPM). */
  decodeBytes(ids: ArrayLike<number>, opts: DecodeOptions = {}): Uint8Array {
    const { removeSpecial = false, unparseSpecial = false } = opts;
    const { vocab } = this;
    let first = 0;
    let last = ids.length;
    let removeSpace = vocab.addSpacePrefix;
    if (removeSpecial && vocab.addBos && last > first && ids[first] === vocab.special.bos) {
      removeSpace = false;
      first++;
    }
    if (removeSpecial && vocab.addEos && last > first && ids[last - 1] === vocab.special.eos) last--;
    const parts: string[] = [];
    for (let i = first; i < last; i++) {
      parts.push(this.pieceBytes(ids[i], unparseSpecial, removeSpace ? 1 : 0, i));
      removeSpace = false;
    }
    return byteStringToBytes(parts.join(""));
  }

  /** Text of the tokens; byte tokens join into UTF-8 (invalid sequences become U+FFFD). */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    return utf8Decoder.decode(this.decodeBytes(ids, opts));
  }

  /**
   * One token's text. `special` (default true, like llama.cpp's common_token_to_piece) renders
   * CONTROL/UNKNOWN tokens; a BYTE token yields its raw byte, which alone is usually not valid UTF-8,
   * so use tokenToPieceBytes for exact bytes.
   */
  tokenToPiece(id: number, opts: { special?: boolean; lstrip?: number } = {}): string {
    return utf8Decoder.decode(this.tokenToPieceBytes(id, opts));
  }

  tokenToPieceBytes(id: number, opts: { special?: boolean; lstrip?: number } = {}): Uint8Array {
    return byteStringToBytes(this.pieceBytes(id, opts.special ?? true, opts.lstrip ?? 0, 0));
  }

  /** ref: llama_vocab::impl::token_to_piece (SPM case), via its special=true cache. Returns a byte string. */
  private pieceBytes(id: number, special: boolean, lstrip: number, index: number): string {
    const { vocab } = this;
    if (!Number.isInteger(id) || id < 0 || id >= vocab.nVocab) {
      throw new EmbedError("TOKEN_OUT_OF_RANGE", `token id ${id} at index ${index} is out of range (vocab has ${vocab.nVocab} tokens)`, { id, index, nVocab: vocab.nVocab });
    }
    const attr = vocab.attrs[id];
    if (!special && attr & (LlamaTokenAttr.UNKNOWN | LlamaTokenAttr.CONTROL)) return "";
    let piece = this.pieces[id];
    if (piece === undefined) {
      const text = vocab.tokenBytes[id];
      if (attr & (LlamaTokenAttr.UNKNOWN | LlamaTokenAttr.CONTROL | LlamaTokenAttr.USER_DEFINED)) piece = text;
      else if (attr & LlamaTokenAttr.NORMAL) piece = text.replaceAll(ESCAPED_SPACE, " ");
      else if (attr & LlamaTokenAttr.BYTE) piece = String.fromCharCode(strtolHex(text.slice(3, 5)) & 0xff);
      else piece = ""; // UNUSED, UNDEFINED
      this.pieces[id] = piece;
    }
    let skip = 0;
    while (skip < lstrip && skip < piece.length && piece.charCodeAt(skip) === 0x20) skip++;
    return skip ? piece.slice(skip) : piece;
  }
}

/** strtol(s, NULL, 16) on the two chars after "<0x": leading spaces, a sign, then hex digits; 0 if none. */
function strtolHex(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9a-fA-F]*)/.exec(s)!;
  const v = m[2] ? parseInt(m[2], 16) : 0;
  return m[1] === "-" ? -v : v;
}

/** A tokenizer for GGUF metadata; refuses tokenizer models other than "llama" (SPM). */
export function createTokenizer(metadata: GGUFMetadata): Tokenizer {
  const model = getString(metadata, "tokenizer.ggml.model");
  switch (model) {
    case "llama":
      return new Tokenizer(new Vocabulary(metadata));
    default: // "gpt2" (BPE), "bert" (WPM), "t5" (UGM), "rwkv", "plamo2", "none"/"no_vocab"
      throw new EmbedError("UNSUPPORTED_TOKENIZER", `tokenizer.ggml.model = "${model}" is not supported; only "llama" (SentencePiece, as used by Gemma) is implemented`, { model });
  }
}

/** Read only the GGUF metadata of `source` (a vocab-only file is enough) and build its tokenizer. */
export async function loadTokenizer(source: ByteSource): Promise<Tokenizer> {
  const { metadata } = await readGGUF(source);
  return createTokenizer(metadata);
}
