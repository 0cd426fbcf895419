/**
 * Weight conversions for the peer benchmark's ONNX graphs, from a GGUF matrix dequantized to f32
 * (ggml layout: ne1 rows of ne0 = K values, row n = output n):
 *   - int8 as onnxruntime's `quantize_dynamic` writes it for MatMulInteger / Gather (QInt8 weights,
 *     symmetric, per tensor by default or per output column): scale = max|w| / 127, zero point 0;
 *     the ONNX MatMul weight is B (K, N), the transpose of the ggml rows.
 *     ref: onnxruntime/python/tools/quantization/quant_utils.py compute_scale_zp (symmetric int8)
 *   - 4-bit for com.microsoft MatMulNBits (bits 4, block 32 along K, symmetric, implicit zero point
 *     8): B (N, K/32, 16) bytes, element 2j in the low nibble; scales (N, K/32).
 *     ref: onnxruntime docs/ContribOperators.md MatMulNBits; matmul_nbits_quantizer.py (symmetric)
 */

/** W (N rows of K) -> per-tensor (or per-column) int8 B (K, N) and scales ((1) or (N)). */
export function int8Transposed(w: Float32Array, K: number, N: number, perChannel = false): { b: Int8Array; scale: Float32Array } {
  const scale = new Float32Array(perChannel ? N : 1);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(w[n * K + k]!));
    const s = perChannel ? n : 0;
    scale[s] = Math.max(scale[s]!, m);
  }
  for (let i = 0; i < scale.length; i++) scale[i] = scale[i]! / 127 || 1;
  const b = new Int8Array(K * N); // (K, N)
  for (let n = 0; n < N; n++) {
    const inv = 1 / scale[perChannel ? n : 0]!;
    for (let k = 0; k < K; k++) b[k * N + n] = Math.max(-127, Math.min(127, Math.round(w[n * K + k]! * inv)));
  }
  return { b, scale };
}

/** Table rows (V rows of D) -> int8 rows, same layout, one per-tensor scale (quantized Gather). */
export function int8Rows(rows: Float32Array, absMax: number): { q: Int8Array; scale: number } {
  const scale = absMax / 127 || 1,
    inv = 1 / scale;
  const q = new Int8Array(rows.length);
  for (let i = 0; i < rows.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(rows[i]! * inv)));
  return { q, scale };
}

/** W (N rows of K) -> MatMulNBits 4-bit blocks of 32: B (N, K/32, 16) and scales (N, K/32). */
export function q4Blocks(w: Float32Array, K: number, N: number): { b: Uint8Array; scales: Float32Array } {
  const nb = K / 32;
  const b = new Uint8Array(N * nb * 16),
    scales = new Float32Array(N * nb);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < nb; j++) {
      const off = n * K + j * 32;
      let amax = 0,
        max = 0;
      for (let i = 0; i < 32; i++) {
        const v = w[off + i]!;
        if (Math.abs(v) > amax) {
          amax = Math.abs(v);
          max = v;
        }
      }
      const d = max / -8,
        id = d ? 1 / d : 0; // the signed extreme maps to -8, as Q4_0 does
      scales[n * nb + j] = d;
      for (let i = 0; i < 16; i++) {
        const lo = Math.min(15, Math.max(0, Math.round(w[off + 2 * i]! * id) + 8));
        const hi = Math.min(15, Math.max(0, Math.round(w[off + 2 * i + 1]! * id) + 8));
        b[(n * nb + j) * 16 + i] = lo | (hi << 4);
      }
    }
  }
  return { b, scales };
}
