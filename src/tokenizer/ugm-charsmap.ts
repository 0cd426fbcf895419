/**
 * SentencePiece's `precompiled_charsmap` (tokenizer.ggml.precompiled_charsmap) as llama.cpp reads and
 * walks it for the UGM ("t5") tokenizer: a 4-byte little-endian blob size, then that many bytes of
 * XOR-compressed compact double array (XCDA) entries (one packed uint32 each), then NUL-terminated
 * replacement strings. The XCDA maps the longest matching input byte prefix to an offset into the
 * replacement strings (e.g. NFKC folding, control characters removed).
 * ref: llama.cpp src/llama-vocab.cpp llama_vocab::impl::load (the "t5" branch: type and size checks),
 * llm_tokenizer_ugm (blob split), llm_tokenizer_ugm_session::xcda_array_view and normalize_prefix
 * (the walk and its bounds checks); docs/tokenizers/ugm.md.
 *
 * A hostile charsmap cannot read out of bounds: every check llama.cpp makes (a std::runtime_error
 * there) is an EmbedError here, at load (wrong type, too small, blob size past the end) or during
 * encode (an XCDA index, a replacement offset or an unterminated replacement past the end).
 */
import { EmbedError } from "../errors.js";
import { GGUFValueType, type GGUFMetadata } from "../gguf/keys.js";

const KEY = "tokenizer.ggml.precompiled_charsmap";
/** Deepest XCDA walk accepted (SentencePiece's NFKC tables have keys of a few dozen bytes at most). */
export const MAX_WALK = 4096;

function bad(message: string, detail: Record<string, unknown> = {}): EmbedError {
  return new EmbedError("BAD_VOCAB", `${KEY}: ${message}`, { key: KEY, ...detail });
}

export class Charsmap {
  /** XCDA entries (xcda_array), blob size / 4 of them. */
  readonly xcda: Uint32Array;
  /** The replacement strings (prefix_replacements), NUL-terminated, back to back. */
  readonly replacements: Uint8Array;
  /** Replacement offset of the last longestPrefix() match. */
  matchOffset = 0;

  /** `bytes`: the whole key value. Checks as llama_vocab::impl::load does. */
  constructor(bytes: Uint8Array) {
    if (bytes.length < 4) throw bad(`${bytes.length} bytes is too small for the 4-byte XCDA blob size header`, { size: bytes.length });
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const blobSize = view.getUint32(0, true);
    if (blobSize + 4 >= bytes.length) {
      throw bad(`XCDA blob size ${blobSize} (+ 4 header bytes) reaches past the end of the ${bytes.length}-byte charsmap`, {
        blobSize,
        size: bytes.length,
      });
    }
    const n = Math.floor(blobSize / 4); // xcda_array_size: a trailing partial entry is not an entry
    this.xcda = new Uint32Array(n); // (n,) packed nodes
    for (let i = 0; i < n; i++) this.xcda[i] = view.getUint32(4 + 4 * i, true);
    this.replacements = bytes.slice(4 + blobSize); // (size - 4 - blobSize,) bytes, at least 1
  }

  /** xcda_array_view::get_node with its bounds check. */
  private node(index: number): number {
    if (index >= this.xcda.length) {
      throw bad(`XCDA index ${index} is out of bounds (${this.xcda.length} entries)`, { index, entries: this.xcda.length });
    }
    return this.xcda[index];
  }

  /** BASE: bits 10-30, shifted left by 8 more when bit 9 is set. */
  private base(index: number): number {
    const p = this.node(index);
    return ((p >>> 10) << ((p & (1 << 9)) >>> 6)) >>> 0;
  }

  /**
   * The longest prefix of s[start, end) (a byte string) that the XCDA maps, as normalize_prefix walks
   * it: returns its length (0 if none) and leaves the replacement offset in `matchOffset`. The walk
   * stops at a NUL byte. A table built from a finite key set cannot lead a walk further than its
   * longest key; one that does past MAX_WALK bytes has a cycle (a crafted file) and is refused,
   * where llama.cpp would walk to the end of the text from every position (quadratic time).
   */
  longestPrefix(s: string, start: number, end: number): number {
    let length = 0;
    if (this.xcda.length === 0) return 0;
    let nodeIndex = this.base(0);
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c === 0) break;
      nodeIndex = (nodeIndex ^ c) >>> 0;
      const p = this.node(nodeIndex);
      if ((p & 0x800000ff) >>> 0 !== c) break; // LCHECK (bit 31 kept, so a value entry never matches)
      if (i - start >= MAX_WALK) throw bad(`an XCDA walk goes deeper than ${MAX_WALK} bytes (a cycle?)`, { depth: MAX_WALK });
      const isLeaf = ((p >>> 8) & 1) === 1;
      nodeIndex = (nodeIndex ^ this.base(nodeIndex)) >>> 0;
      if (isLeaf) {
        length = i - start + 1;
        this.matchOffset = this.node(nodeIndex) & 0x7fffffff; // VALUE
      }
    }
    return length;
  }

  /** End (exclusive) of the NUL-terminated replacement at `offset`, with normalize_prefix's checks. */
  replacementEnd(offset: number): number {
    const r = this.replacements;
    if (offset >= r.length) {
      throw bad(`replacement offset ${offset} is out of bounds (${r.length} bytes of replacement strings)`, { offset, size: r.length });
    }
    const nul = r.indexOf(0, offset);
    if (nul < 0) throw bad(`the replacement string at offset ${offset} is not NUL-terminated`, { offset });
    return nul;
  }
}

/** The charsmap of a "t5" vocabulary, or undefined if the key is absent (no normalization then). */
export function readCharsmap(meta: GGUFMetadata): Charsmap | undefined {
  const v = meta.get(KEY);
  if (v === undefined) return undefined;
  if (v.type !== GGUFValueType.ARRAY || (v.itemType !== GGUFValueType.INT8 && v.itemType !== GGUFValueType.UINT8)) {
    const got = v.type === GGUFValueType.ARRAY ? `ARRAY[${GGUFValueType[v.itemType]}]` : GGUFValueType[v.type];
    throw bad(`must be an array of INT8 or UINT8, got ${got}`, { type: got });
  }
  const a = v.value;
  return new Charsmap(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}
