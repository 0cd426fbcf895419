/**
 * "Byte strings": one JS char per UTF-8 byte (0..255). The tokenizers work on UTF-8 bytes like
 * llama.cpp, and a byte string is the cheapest form of a byte range that a Map can key on and that
 * indexOf/charCodeAt can scan. These helpers convert between JS strings, byte strings and bytes.
 */

const ascii = /^[\x00-\x7f]*$/;
const encoder = new TextEncoder();

/** UTF-8 bytes -> byte string (one char per byte). Chunked: fromCharCode.apply has an argument limit. */
export function bytesToByteString(bytes: Uint8Array): string {
  if (bytes.length <= 0x2000) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 0x2000)
    parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 0x2000) as unknown as number[]));
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
