/**
 * The Tokenizer interface every algorithm implements (spm.ts, wpm.ts, ...), and the parts llama.cpp
 * shares between them: input conversion, the special-token partition, token_to_piece for the
 * SPM/WPM/UGM vocab types and detokenize (with clean_spaces). ref: llama.cpp src/llama-vocab.cpp
 * llama_vocab::impl::tokenize, token_to_piece, detokenize; docs/tokenizers/spm.md, docs/tokenizers/wpm.md.
 *
 * Text input: any JS string. It is encoded to UTF-8 as TextEncoder does, so a lone surrogate becomes
 * U+FFFD (EF BF BD); that is also what llama.cpp receives through node-llama-cpp (N-API's UTF-8
 * conversion). A Uint8Array is taken as raw bytes, invalid UTF-8 included.
 * Output ids are a plain number[] (what JSON and llama.cpp bindings use; V8 stores it as packed small
 * integers). Callers that need an Int32Array copy it with Int32Array.from.
 */
import { EmbedError } from "../errors.js";
import { byteStringToBytes, bytesToByteString, toByteString } from "./bytes.js";
import { getAutomaton, partition, type Fragment } from "./partition.js";
import { LlamaTokenAttr, type SpecialIds, type Vocabulary } from "./vocab.js";

export interface EncodeOptions {
  /**
   * Add the model's special tokens (llama.cpp `add_special`): BOS/EOS per add_bos/add_eos for SPM,
   * [CLS] ... [SEP] for WPM. Default true.
   */
  addSpecial?: boolean;
  /**
   * Match CONTROL/UNKNOWN token texts such as "<start_of_turn>" in the input (`parse_special`).
   * Default true, as llama-server and llama-embedding do. USER_DEFINED texts are always matched.
   */
  parseSpecial?: boolean;
  /**
   * Stop early once the output holds more than this many ids: the result is then longer than
   * maxTokens and a prefix of the full encoding (for refusing over-long inputs cheaply). Work stops at
   * the next boundary the algorithm allows: a raw fragment for SPM, a word for WPM.
   */
  maxTokens?: number;
}

export interface DecodeOptions {
  /** Drop a leading BOS (if add_bos) and a trailing EOS (if add_eos). Default false. */
  removeSpecial?: boolean;
  /** Render CONTROL/UNKNOWN tokens as their text; otherwise they decode to nothing. Default false. */
  unparseSpecial?: boolean;
}

export interface PieceOptions {
  /** Render CONTROL/UNKNOWN tokens (default true, like llama.cpp's common_token_to_piece). */
  special?: boolean;
  /** Drop up to this many leading spaces. */
  lstrip?: number;
}

export interface Tokenizer {
  readonly vocab: Vocabulary;
  readonly nVocab: number;
  /** Special ids (TOKEN_NULL = -1 when absent). */
  readonly special: Readonly<SpecialIds>;
  readonly bosId: number;
  readonly eosId: number;
  /** The ids encode(text, { addSpecial: true }) puts before and after the text's ids. */
  readonly specialPrefix: readonly number[];
  readonly specialSuffix: readonly number[];
  /** Token ids of `text`. ref: llama_vocab::impl::tokenize. */
  encode(text: string | Uint8Array, opts?: EncodeOptions): number[];
  /** UTF-8 bytes of the tokens' text. ref: llama_vocab::impl::detokenize. */
  decodeBytes(ids: ArrayLike<number>, opts?: DecodeOptions): Uint8Array;
  /** Text of the tokens; invalid UTF-8 becomes U+FFFD. */
  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string;
  /** One token's text (a BYTE token's lone byte is usually not valid UTF-8: use tokenToPieceBytes). */
  tokenToPiece(id: number, opts?: PieceOptions): string;
  tokenToPieceBytes(id: number, opts?: PieceOptions): Uint8Array;
}

// ignoreBOM: keep a leading U+FEFF (Gemma has tokens starting with it); fatal: false -> U+FFFD for invalid bytes.
const utf8Decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const ESCAPED_SPACE = "\u00e2\u0096\u0081"; // "▁" U+2581 as a byte string (E2 96 81)

/** What llama.cpp shares between its SPM, WPM and UGM vocab types; subclasses tokenize raw fragments. */
export abstract class LlamaTokenizer implements Tokenizer {
  private readonly pieces: (string | undefined)[];

  constructor(readonly vocab: Vocabulary) {
    this.pieces = new Array(vocab.nVocab);
    getAutomaton(vocab, true); // the default mode's partition automaton, so that no encode() pays for it
  }

  get nVocab(): number {
    return this.vocab.nVocab;
  }

  get special(): Readonly<SpecialIds> {
    return this.vocab.special;
  }

  get bosId(): number {
    return this.vocab.special.bos;
  }

  get eosId(): number {
    return this.vocab.special.eos;
  }

  abstract get specialPrefix(): readonly number[];
  abstract get specialSuffix(): readonly number[];

  /** Append the ids of the partitioned byte string `s`, stopping after the fragment/word that exceeds `maxTokens`. */
  protected abstract encodeFragments(s: string, frags: Fragment[], maxTokens: number, out: number[]): void;

  encode(text: string | Uint8Array, opts: EncodeOptions = {}): number[] {
    const { addSpecial = true, parseSpecial = true, maxTokens = Infinity } = opts;
    if (!(maxTokens >= 0)) {
      throw new EmbedError("BAD_OPTION", `maxTokens must be a number >= 0, got ${String(maxTokens)}`, { option: "maxTokens" });
    }
    const s = typeof text === "string" ? toByteString(text) : bytesToByteString(text);
    const out: number[] = addSpecial ? this.specialPrefix.slice() : [];
    this.encodeFragments(s, partition(this.vocab, s, parseSpecial), maxTokens, out);
    if (addSpecial && out.length <= maxTokens) out.push(...this.specialSuffix);
    return out;
  }

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
    const text = byteStringToBytes(parts.join(""));
    return vocab.cleanSpaces ? cleanSpaces(text) : text;
  }

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    return utf8Decoder.decode(this.decodeBytes(ids, opts));
  }

  tokenToPiece(id: number, opts: PieceOptions = {}): string {
    return utf8Decoder.decode(this.tokenToPieceBytes(id, opts));
  }

  tokenToPieceBytes(id: number, opts: PieceOptions = {}): Uint8Array {
    return byteStringToBytes(this.pieceBytes(id, opts.special ?? true, opts.lstrip ?? 0, 0));
  }

  /** A NORMAL token's piece (byte strings): SPM/WPM/UGM unescape "▁" to " "; BPE overrides (llama_decode_text). */
  protected normalPiece(text: string): string {
    return text.replaceAll(ESCAPED_SPACE, " ");
  }

  /** ref: llama_vocab::impl::token_to_piece (SPM/WPM/UGM case; BPE via normalPiece), via its special=true cache. Returns a byte string. */
  protected pieceBytes(id: number, special: boolean, lstrip: number, index: number): string {
    const { vocab } = this;
    if (!Number.isInteger(id) || id < 0 || id >= vocab.nVocab) {
      throw new EmbedError("TOKEN_OUT_OF_RANGE", `token id ${id} at index ${index} is out of range (vocab has ${vocab.nVocab} tokens)`, {
        id,
        index,
        nVocab: vocab.nVocab,
      });
    }
    const attr = vocab.attrs[id];
    if (!special && attr & (LlamaTokenAttr.UNKNOWN | LlamaTokenAttr.CONTROL)) return "";
    let piece = this.pieces[id];
    if (piece === undefined) {
      const text = vocab.tokenBytes[id];
      if (attr & (LlamaTokenAttr.UNKNOWN | LlamaTokenAttr.CONTROL | LlamaTokenAttr.USER_DEFINED)) piece = text;
      else if (attr & LlamaTokenAttr.NORMAL) piece = this.normalPiece(text);
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

/**
 * detokenize()'s clean_spaces passes, in place on the bytes as llama.cpp runs them: drop the space
 * before ? ! . , ; drop both spaces around a lone apostrophe (" ' "); drop the space before 's 'm 're 've.
 * The second pass writes a NUL over the skipped space, which the next step then sees as text[i - 1].
 */
export function cleanSpaces(text: Uint8Array): Uint8Array {
  const SP = 0x20,
    AP = 0x27;
  let total = text.length;
  // first pass: " ?", " !", " .", " ,"
  const total1 = total;
  total = total ? 1 : 0;
  for (let i = 1; i < total1; i++) {
    const x = text[i];
    if (text[i - 1] === SP && (x === 0x3f || x === 0x21 || x === 0x2e || x === 0x2c)) total--;
    text[total++] = x;
  }
  // second pass: strip a single apostrophe's surrounding spaces
  const total2 = total;
  total = total ? 1 : 0;
  for (let i = 1; i < total2; i++) {
    const x = text[i];
    if (x === AP && i + 1 < total2 && text[i - 1] === SP && text[i + 1] === SP) {
      total--;
      text[++i] = 0;
    }
    text[total++] = x;
  }
  // third pass: contractions " 's", " 'm", " 're", " 've" lose their space (" 't", " 'd", " 'll" keep it)
  const total3 = total;
  total = total ? 1 : 0;
  for (let i = 1; i < total3; i++) {
    const x = text[i];
    if (text[i - 1] === SP && x === AP && i + 1 < total3) {
      const x1 = text[i + 1];
      if (x1 === 0x73 || x1 === 0x6d)
        total--; // 's 'm
      else if (x1 !== 0x74 && x1 !== 0x64 && i + 2 < total3) {
        const x2 = text[i + 2];
        if ((x1 === 0x72 && x2 === 0x65) || (x1 === 0x76 && x2 === 0x65)) total--; // 're 've
      }
    }
    text[total++] = x;
  }
  return text.subarray(0, total);
}
