/**
 * Loading the generated kernel modules: base64 decode, feature detection, and the one-byte patch
 * that turns the shared-memory import into a plain one where SharedArrayBuffer is unavailable
 * (browsers without cross-origin isolation), so the same binary runs single-threaded there.
 */
import { BASELINE_WASM_BASE64, RELAXED_WASM_BASE64 } from "./wasm/binary.js";

function fromBase64(s: string): Uint8Array<ArrayBuffer> {
  if (typeof atob === "function") {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  throw new Error("no base64 decoder (atob) in this runtime");
}

export function baselineBytes(): Uint8Array<ArrayBuffer> {
  return fromBase64(BASELINE_WASM_BASE64);
}

export function relaxedBytes(): Uint8Array<ArrayBuffer> {
  return fromBase64(RELAXED_WASM_BASE64);
}

function readU32Leb(b: Uint8Array, p: number): [number, number] {
  let v = 0,
    shift = 0,
    byte: number;
  do {
    byte = b[p++]!;
    v += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [v, p];
}

/**
 * Copy of `bytes` whose "env"."memory" import is not shared: in the import section (id 2) the
 * memory import's limits flag 0x03 (shared, has max) becomes 0x01 (has max).
 */
export function unshareMemoryImport(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(bytes);
  let p = 8;
  while (p < b.length) {
    const id = b[p]!;
    let size: number;
    [size, p] = readU32Leb(b, p + 1);
    if (id === 2) {
      let count: number,
        q = p;
      [count, q] = readU32Leb(b, q);
      if (count > 0) {
        // the kernel modules import exactly one thing, their memory, first
        let len: number;
        [len, q] = readU32Leb(b, q);
        q += len; // module name
        [len, q] = readU32Leb(b, q);
        q += len; // field name
        const kind = b[q++]!;
        if (kind === 2) {
          if (b[q] === 0x03) b[q] = 0x01;
          return b;
        }
        throw new Error("unexpected import kind in kernel module");
      }
    }
    p += size;
  }
  throw new Error("kernel module has no memory import");
}

/** A tiny SIMD module: (func (result v128) v128.const 0). Validates only where SIMD128 exists. */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 11,
]);

export function hasWasmSimd(): boolean {
  return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
}

export function hasSharedMemory(): boolean {
  if (typeof SharedArrayBuffer === "undefined") return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch {
    return false;
  }
}
