/**
 * Large answers as JSON text produced piece by piece (Reply.body), so send.ts can write them only
 * as fast as the client reads: a response is never built whole in memory. Each generator yields
 * exactly the bytes JSON.stringify would give for the same value (test/server/replies.test.ts).
 *
 * Token pieces for /tokenize with_pieces follow llama.cpp tools/server/server-context.cpp
 * (post_tokenize): a piece that is valid UTF-8 is a string, else the array of its byte values.
 * Rendering is linear and cached per token id: no exception per byte piece.
 */
import type { Tokenizer } from "../tokenizer/index.js";

/** Pieces are gathered into strings of about this many characters before being yielded. */
const PIECE = 16 * 1024;

/** `head`, then `items` joined by ",", then `tail`, in pieces of about PIECE characters. */
export function* joined(head: string, items: Iterable<string>, tail: string): Generator<string> {
  let buf = head;
  let first = true;
  for (const item of items) {
    buf += first ? item : "," + item;
    first = false;
    if (buf.length >= PIECE) {
      yield buf;
      buf = "";
    }
  }
  yield buf + tail;
}

/** JSON of a float vector: what JSON.stringify(Array.from(v)) gives. */
export function floatsJson(v: Float32Array): string {
  return JSON.stringify(Array.from(v));
}

/** `[1,2,3]` for ids, in pieces. */
export function* idsJson(ids: ArrayLike<number>): Generator<string> {
  for (let i = 0; i < ids.length; i += 4096) {
    const end = Math.min(ids.length, i + 4096);
    let s = i === 0 ? "[" : ",";
    s += Array.prototype.slice.call(ids, i, end).join(",");
    yield end === ids.length ? s + "]" : s;
  }
  if (ids.length === 0) yield "[]";
}

/** Strict UTF-8 validity (what TextDecoder with fatal: true accepts), without exceptions. */
export function isValidUtf8(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number, min: number;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else return false;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const pieceCache = new WeakMap<Tokenizer, (string | undefined)[]>();

/** `{"id":N,"piece":...}` for one token: its text with special tokens rendered (common_token_to_piece). */
export function pieceJson(tok: Tokenizer, id: number): string {
  let cache = pieceCache.get(tok);
  if (!cache) pieceCache.set(tok, (cache = new Array(tok.nVocab)));
  let s = cache[id];
  if (s === undefined) {
    const bytes = tok.tokenToPieceBytes(id, { special: true });
    const piece = isValidUtf8(bytes) ? JSON.stringify(utf8.decode(bytes)) : `[${bytes.join(",")}]`;
    s = cache[id] = `{"id":${id},"piece":${piece}}`;
  }
  return s;
}

/** `{"tokens":[{"id":..,"piece":..},...]}` in pieces. */
export function tokensWithPieces(tok: Tokenizer, ids: ArrayLike<number>): Generator<string> {
  return joined(
    '{"tokens":[',
    (function* () {
      for (let i = 0; i < ids.length; i++) yield pieceJson(tok, ids[i]);
    })(),
    "]}",
  );
}

/**
 * `{"content":"..."}` for ids already checked to be in range: the concatenated pieces with special
 * tokens rendered, as Tokenizer.decode(ids, { unparseSpecial: true }) gives, produced in slices
 * (a streaming TextDecoder keeps UTF-8 sequences that span slices whole).
 */
export function* detokenized(tok: Tokenizer, ids: ArrayLike<number>): Generator<string> {
  const dec = new TextDecoder("utf-8", { ignoreBOM: true });
  yield '{"content":"';
  const SLICE = 2048;
  for (let i = 0; i < ids.length; i += SLICE) {
    const parts: Uint8Array[] = [];
    let n = 0;
    for (let j = i; j < Math.min(ids.length, i + SLICE); j++) {
      // decode() strips one leading space of the first piece when the vocab adds a space prefix
      const b = tok.tokenToPieceBytes(ids[j], { special: true, lstrip: j === 0 && tok.vocab.addSpacePrefix ? 1 : 0 });
      parts.push(b);
      n += b.length;
    }
    const bytes = new Uint8Array(n);
    let at = 0;
    for (const b of parts) {
      bytes.set(b, at);
      at += b.length;
    }
    const text = dec.decode(bytes, { stream: true });
    if (text) yield JSON.stringify(text).slice(1, -1);
  }
  const rest = dec.decode();
  yield (rest ? JSON.stringify(rest).slice(1, -1) : "") + '"}';
}
