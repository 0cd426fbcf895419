/**
 * QUANT_TRAITS: everything type-specific that compute needs, per ggml type, in one table
 * (the TS counterpart of ggml's type_traits + type_traits_cpu). Types not in the table (IQ2_*,
 * IQ3_*, IQ1_*, TQ*, MXFP4, integer types, ...) are unsupported: quantTraits() throws
 * EmbedError UNSUPPORTED_TYPE rather than guessing.
 *
 * Two different f32 -> bytes conversions exist per type, as in ggml:
 *   quantizeRow  what llama-quantize writes for a weight (ggml_quantize_chunk, no imatrix):
 *                the *_ref quantizers; for Q8_0 that is roundf with id = 1/d.
 *   fromFloat    what ggml-cpu runs on an activation row before a matmul (type_traits_cpu
 *                from_float), only for types that are some weight's vec_dot_type: for Q8_0
 *                that is the x86 flavour (id = 127/amax, round-half-even). ref: spec §7.1-7.4.
 */
import { EmbedError } from "../errors.js";
import { vecDotIQ4_XSQ8_K, vecDotQ2_KQ8_K, vecDotQ3_KQ8_K, vecDotQ4_KQ8_K, vecDotQ5_KQ8_K, vecDotQ6_KQ8_K } from "../kernels/vec-dot-k.js";
import {
  vecDotBF16, vecDotF16, vecDotF32, vecDotIQ4_NLQ8_0, vecDotQ4_0Q8_0, vecDotQ4_1Q8_1, vecDotQ5_0Q8_0, vecDotQ5_1Q8_1, vecDotQ8_0Q8_0,
} from "../kernels/vec-dot.js";
import { GGML_TYPES, GGMLType, ggmlTypeName, rowBytes } from "../tensor/ggml-type.js";
import { quantizeRowBF16Act, quantizeRowF16Act, quantizeRowQ8_0, quantizeRowQ8_1, quantizeRowQ8_K } from "./activation.js";
import { dequantizeRowBF16, dequantizeRowF16, dequantizeRowF32, quantizeRowBF16, quantizeRowF16, quantizeRowF32 } from "./float.js";
import { dequantizeRowIQ4_NL, dequantizeRowIQ4_XS, quantizeRowIQ4_NL, quantizeRowIQ4_XS } from "./iq4.js";
import { quantizeRowQ2_K, quantizeRowQ3_K, quantizeRowQ4_K, quantizeRowQ5_K, quantizeRowQ6_K } from "./k-quants-ref.js";
import {
  dequantizeRowQ2_K, dequantizeRowQ3_K, dequantizeRowQ4_K, dequantizeRowQ5_K, dequantizeRowQ6_K, dequantizeRowQ8_K,
} from "./k-quants.js";
import {
  dequantizeRowQ4_0, dequantizeRowQ4_1, dequantizeRowQ5_0, dequantizeRowQ5_1, dequantizeRowQ8_0, dequantizeRowQ8_1,
  quantizeRowQ4_0, quantizeRowQ4_1, quantizeRowQ5_0, quantizeRowQ5_1, quantizeRowQ8_0Ref, quantizeRowQ8_1Ref,
} from "./legacy.js";
import type { DequantizeRowFn, QuantizeRowFn, VecDotFn } from "./types.js";

export type { DequantizeRowFn, QuantizeRowFn, VecDotFn } from "./types.js";

export interface QuantTraits {
  readonly type: GGMLType;
  readonly name: string;
  /** elements per block (from GGML_TYPES) */
  readonly blockSize: number;
  /** bytes per block (from GGML_TYPES) */
  readonly typeSize: number;
  readonly dequantizeRow: DequantizeRowFn;
  /** weight quantizer (llama-quantize semantics, no imatrix) */
  readonly quantizeRow?: QuantizeRowFn;
  /** activation conversion (ggml-cpu from_float, x86 flavour); set on vec_dot types only */
  readonly fromFloat?: QuantizeRowFn;
  /** the type a matmul converts activations to before vecDot */
  readonly vecDotType: GGMLType;
  /** weight row · activation row (in vecDotType); absent for activation-only types Q8_1, Q8_K */
  readonly vecDot?: VecDotFn;
}

type Entry = Omit<QuantTraits, "type" | "name" | "blockSize" | "typeSize">;

const T = GGMLType;
const ENTRIES: ReadonlyArray<readonly [GGMLType, Entry]> = [
  [T.F32, { dequantizeRow: dequantizeRowF32, quantizeRow: quantizeRowF32, fromFloat: quantizeRowF32, vecDotType: T.F32, vecDot: vecDotF32 }],
  [T.F16, { dequantizeRow: dequantizeRowF16, quantizeRow: quantizeRowF16, fromFloat: quantizeRowF16Act, vecDotType: T.F16, vecDot: vecDotF16 }],
  [T.BF16, { dequantizeRow: dequantizeRowBF16, quantizeRow: quantizeRowBF16, fromFloat: quantizeRowBF16Act, vecDotType: T.BF16, vecDot: vecDotBF16 }],
  [T.Q4_0, { dequantizeRow: dequantizeRowQ4_0, quantizeRow: quantizeRowQ4_0, vecDotType: T.Q8_0, vecDot: vecDotQ4_0Q8_0 }],
  [T.Q4_1, { dequantizeRow: dequantizeRowQ4_1, quantizeRow: quantizeRowQ4_1, vecDotType: T.Q8_1, vecDot: vecDotQ4_1Q8_1 }],
  [T.Q5_0, { dequantizeRow: dequantizeRowQ5_0, quantizeRow: quantizeRowQ5_0, vecDotType: T.Q8_0, vecDot: vecDotQ5_0Q8_0 }],
  [T.Q5_1, { dequantizeRow: dequantizeRowQ5_1, quantizeRow: quantizeRowQ5_1, vecDotType: T.Q8_1, vecDot: vecDotQ5_1Q8_1 }],
  [T.Q8_0, { dequantizeRow: dequantizeRowQ8_0, quantizeRow: quantizeRowQ8_0Ref, fromFloat: quantizeRowQ8_0, vecDotType: T.Q8_0, vecDot: vecDotQ8_0Q8_0 }],
  [T.Q8_1, { dequantizeRow: dequantizeRowQ8_1, quantizeRow: quantizeRowQ8_1Ref, fromFloat: quantizeRowQ8_1, vecDotType: T.Q8_1 }],
  [T.Q2_K, { dequantizeRow: dequantizeRowQ2_K, quantizeRow: quantizeRowQ2_K, vecDotType: T.Q8_K, vecDot: vecDotQ2_KQ8_K }],
  [T.Q3_K, { dequantizeRow: dequantizeRowQ3_K, quantizeRow: quantizeRowQ3_K, vecDotType: T.Q8_K, vecDot: vecDotQ3_KQ8_K }],
  [T.Q4_K, { dequantizeRow: dequantizeRowQ4_K, quantizeRow: quantizeRowQ4_K, vecDotType: T.Q8_K, vecDot: vecDotQ4_KQ8_K }],
  [T.Q5_K, { dequantizeRow: dequantizeRowQ5_K, quantizeRow: quantizeRowQ5_K, vecDotType: T.Q8_K, vecDot: vecDotQ5_KQ8_K }],
  [T.Q6_K, { dequantizeRow: dequantizeRowQ6_K, quantizeRow: quantizeRowQ6_K, vecDotType: T.Q8_K, vecDot: vecDotQ6_KQ8_K }],
  [T.Q8_K, { dequantizeRow: dequantizeRowQ8_K, quantizeRow: quantizeRowQ8_K, fromFloat: quantizeRowQ8_K, vecDotType: T.Q8_K }],
  [T.IQ4_NL, { dequantizeRow: dequantizeRowIQ4_NL, quantizeRow: quantizeRowIQ4_NL, vecDotType: T.Q8_0, vecDot: vecDotIQ4_NLQ8_0 }],
  [T.IQ4_XS, { dequantizeRow: dequantizeRowIQ4_XS, quantizeRow: quantizeRowIQ4_XS, vecDotType: T.Q8_K, vecDot: vecDotIQ4_XSQ8_K }],
];

export const QUANT_TRAITS: ReadonlyMap<GGMLType, QuantTraits> = new Map(
  ENTRIES.map(([type, e]) => {
    const t = GGML_TYPES.get(type)!;
    return [type, { type, name: t.name, blockSize: t.blockSize, typeSize: t.typeSize, ...e }] as const;
  }),
);

/**
 * Traits of `type`, or EmbedError UNSUPPORTED_TYPE naming the type (and the tensor, if given).
 */
export function quantTraits(type: GGMLType | number, tensorName?: string): QuantTraits {
  const t = QUANT_TRAITS.get(type);
  if (t) return t;
  const name = ggmlTypeName(type);
  const where = tensorName !== undefined ? `tensor "${tensorName}": ` : "";
  throw new EmbedError("UNSUPPORTED_TYPE", `${where}ggml type ${name} (id ${type}) is not supported`, {
    type: name,
    typeId: type,
    ...(tensorName !== undefined ? { tensor: tensorName } : {}),
  });
}

/** Activation conversion for a vec_dot_type (F32, F16, BF16, Q8_0, Q8_1, Q8_K). */
export function fromFloatFor(vecDotType: GGMLType): QuantizeRowFn {
  const f = QUANT_TRAITS.get(vecDotType)?.fromFloat;
  if (!f) throw new EmbedError("UNSUPPORTED_TYPE", `ggml type ${ggmlTypeName(vecDotType)} is not a vec_dot type`, { type: ggmlTypeName(vecDotType) });
  return f;
}

/**
 * Quantize a whole tensor of `values.length / ne0` rows of `ne0` elements with the weight
 * quantizer of `type` (llama-quantize semantics). Returns the packed bytes (rows back to back).
 */
export function quantizeRows(type: GGMLType, values: Float32Array, ne0: number): Uint8Array {
  const tr = quantTraits(type);
  if (!tr.quantizeRow) throw new EmbedError("UNSUPPORTED_TYPE", `no quantizer for ggml type ${tr.name}`, { type: tr.name });
  const rb = rowBytes(type, ne0);
  const nRows = values.length / ne0;
  if (!Number.isInteger(nRows)) {
    throw new EmbedError("TENSOR_SHAPE", `${values.length} values are not a whole number of ${ne0}-element rows`, { ne0, nElements: values.length });
  }
  const out = new Uint8Array(rb * nRows);
  for (let r = 0; r < nRows; r++) tr.quantizeRow(values, r * ne0, out, r * rb, ne0);
  return out;
}
