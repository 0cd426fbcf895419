/**
 * Row conversions for the plain float types F32, F16 and BF16 (block size 1).
 * ref: docs/gguf.md §3; llama.cpp ggml/src/ggml.c ggml_fp32_to_fp16_row / ggml_fp32_to_bf16_row_ref.
 *
 * All row functions in src/quant share one calling convention (see types.ts):
 *   dequantizeRow(src, srcByteOffset, dst, dstOffset, n)   bytes -> n f32
 *   quantizeRow(src, srcOffset, dst, dstByteOffset, n)     n f32 -> bytes
 * Sources may sit at any byte offset, so multi-byte fields are read byte-wise or through a
 * DataView, little-endian.
 */
import { bf16ToF32, f32ToBf16, f32ToFp16, fp16Table32 } from "./f16.js";

/** F32: 4 bytes LE per element. */
export function dequantizeRowF32(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  const abs = src.byteOffset + srcByteOffset;
  if ((abs & 3) === 0) {
    dst.set(new Float32Array(src.buffer, abs, n), dstOffset);
    return;
  }
  const dv = new DataView(src.buffer, abs, n * 4);
  for (let i = 0; i < n; i++) dst[dstOffset + i] = dv.getFloat32(4 * i, true);
}

export function quantizeRowF32(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  const dv = new DataView(dst.buffer, dst.byteOffset + dstByteOffset, n * 4);
  for (let i = 0; i < n; i++) dv.setFloat32(4 * i, src[srcOffset + i]!, true);
}

/** F16: IEEE binary16, 2 bytes LE, widened exactly. */
export function dequantizeRowF16(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  const t = fp16Table32();
  for (let i = 0, o = srcByteOffset; i < n; i++, o += 2) dst[dstOffset + i] = t[src[o]! | (src[o + 1]! << 8)]!;
}

/** f32 -> F16 with round-to-nearest-even (ggml_fp32_to_fp16_row; F16C and software agree). */
export function quantizeRowF16(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  for (let i = 0, o = dstByteOffset; i < n; i++, o += 2) {
    const h = f32ToFp16(src[srcOffset + i]!);
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
  }
}

/** BF16: upper 16 bits of a binary32, 2 bytes LE. */
export function dequantizeRowBF16(src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let i = 0, o = srcByteOffset; i < n; i++, o += 2) dst[dstOffset + i] = bf16ToF32(src[o]! | (src[o + 1]! << 8));
}

/** f32 -> BF16 as ggml_fp32_to_bf16_row_ref (what llama-quantize writes): RNE, quiet NaN, no flush. */
export function quantizeRowBF16(src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number): void {
  for (let i = 0, o = dstByteOffset; i < n; i++, o += 2) {
    const h = f32ToBf16(src[srcOffset + i]!);
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
  }
}
