/**
 * Calling conventions shared by every row function in src/quant and src/kernels.
 *
 * Offsets are explicit (no subarray allocation per row) and in the unit of the array they index:
 * bytes for Uint8Array, elements for Float32Array. `n` is the number of f32 elements and must be a
 * multiple of the type's block size; callers (QUANT_TRAITS users) check that once per tensor.
 */

/** Decode `n` elements stored at src[srcByteOffset..] into dst[dstOffset..dstOffset+n). */
export type DequantizeRowFn = (src: Uint8Array, srcByteOffset: number, dst: Float32Array, dstOffset: number, n: number) => void;

/** Encode src[srcOffset..srcOffset+n) as blocks written to dst[dstByteOffset..]. */
export type QuantizeRowFn = (src: Float32Array, srcOffset: number, dst: Uint8Array, dstByteOffset: number, n: number) => void;

/**
 * Dot product of one weight row (type W, at w[wByteOffset..]) with one activation row already
 * converted to W's vec_dot_type (at a[aByteOffset..]); `n` elements. Returns the f32 result.
 */
export type VecDotFn = (n: number, w: Uint8Array, wByteOffset: number, a: Uint8Array, aByteOffset: number) => number;
