/**
 * QUANT_TRAITS: the data layout of each ggml type (the counterpart of ggml.c's type_traits):
 * block size, bytes per block, dequantize, and the weight quantizer. What ggml-cpu computes with a
 * type (vec_dot, vec_dot_type, from_float: ggml-cpu.c's type_traits_cpu) is
 * src/kernels/cpu-traits.ts. Types not in the table (IQ2_*, IQ3_*, IQ1_*, TQ*, MXFP4, integer
 * types, ...) are unsupported: quantTraits() throws EmbedError UNSUPPORTED_TYPE rather than guessing.
 *
 * quantizeRow is what llama-quantize writes for a weight (ggml_quantize_chunk, no imatrix): the
 * *_ref quantizers; for Q8_0 that is roundf with id = 1/d. (The conversion ggml-cpu runs on an
 * activation row, the x86 from_float, differs: src/quant/activation.ts, docs/numerics.md.)
 */
import { EmbedError } from "../errors.js";
import { GGML_TYPES, GGMLType, ggmlTypeName, rowBytes } from "../tensor/ggml-type.js";
import { quantizeRowQ8_K } from "./activation.js";
import { dequantizeRowBF16, dequantizeRowF16, dequantizeRowF32, quantizeRowBF16, quantizeRowF16, quantizeRowF32 } from "./float.js";
import { dequantizeRowIQ4_NL, dequantizeRowIQ4_XS, quantizeRowIQ4_NL, quantizeRowIQ4_XS } from "./iq4.js";
import { quantizeRowQ2_K, quantizeRowQ3_K, quantizeRowQ4_K, quantizeRowQ5_K, quantizeRowQ6_K } from "./k-quants-ref.js";
import {
  dequantizeRowQ2_K,
  dequantizeRowQ3_K,
  dequantizeRowQ4_K,
  dequantizeRowQ5_K,
  dequantizeRowQ6_K,
  dequantizeRowQ8_K,
} from "./k-quants.js";
import {
  dequantizeRowQ4_0,
  dequantizeRowQ4_1,
  dequantizeRowQ5_0,
  dequantizeRowQ5_1,
  dequantizeRowQ8_0,
  dequantizeRowQ8_1,
  quantizeRowQ4_0,
  quantizeRowQ4_1,
  quantizeRowQ5_0,
  quantizeRowQ5_1,
  quantizeRowQ8_0Ref,
  quantizeRowQ8_1Ref,
} from "./legacy.js";
import type { DequantizeRowFn, QuantizeRowFn } from "./types.js";

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
}

type Entry = Omit<QuantTraits, "type" | "name" | "blockSize" | "typeSize">;

const T = GGMLType;
const ENTRIES: ReadonlyArray<readonly [GGMLType, Entry]> = [
  [T.F32, { dequantizeRow: dequantizeRowF32, quantizeRow: quantizeRowF32 }],
  [T.F16, { dequantizeRow: dequantizeRowF16, quantizeRow: quantizeRowF16 }],
  [T.BF16, { dequantizeRow: dequantizeRowBF16, quantizeRow: quantizeRowBF16 }],
  [T.Q4_0, { dequantizeRow: dequantizeRowQ4_0, quantizeRow: quantizeRowQ4_0 }],
  [T.Q4_1, { dequantizeRow: dequantizeRowQ4_1, quantizeRow: quantizeRowQ4_1 }],
  [T.Q5_0, { dequantizeRow: dequantizeRowQ5_0, quantizeRow: quantizeRowQ5_0 }],
  [T.Q5_1, { dequantizeRow: dequantizeRowQ5_1, quantizeRow: quantizeRowQ5_1 }],
  [T.Q8_0, { dequantizeRow: dequantizeRowQ8_0, quantizeRow: quantizeRowQ8_0Ref }],
  [T.Q8_1, { dequantizeRow: dequantizeRowQ8_1, quantizeRow: quantizeRowQ8_1Ref }],
  [T.Q2_K, { dequantizeRow: dequantizeRowQ2_K, quantizeRow: quantizeRowQ2_K }],
  [T.Q3_K, { dequantizeRow: dequantizeRowQ3_K, quantizeRow: quantizeRowQ3_K }],
  [T.Q4_K, { dequantizeRow: dequantizeRowQ4_K, quantizeRow: quantizeRowQ4_K }],
  [T.Q5_K, { dequantizeRow: dequantizeRowQ5_K, quantizeRow: quantizeRowQ5_K }],
  [T.Q6_K, { dequantizeRow: dequantizeRowQ6_K, quantizeRow: quantizeRowQ6_K }],
  [T.Q8_K, { dequantizeRow: dequantizeRowQ8_K, quantizeRow: quantizeRowQ8_K }],
  [T.IQ4_NL, { dequantizeRow: dequantizeRowIQ4_NL, quantizeRow: quantizeRowIQ4_NL }],
  [T.IQ4_XS, { dequantizeRow: dequantizeRowIQ4_XS, quantizeRow: quantizeRowIQ4_XS }],
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
    throw new EmbedError("TENSOR_SHAPE", `${values.length} values are not a whole number of ${ne0}-element rows`, {
      ne0,
      nElements: values.length,
    });
  }
  const out = new Uint8Array(rb * nRows);
  for (let r = 0; r < nRows; r++) tr.quantizeRow(values, r * ne0, out, r * rb, ne0);
  return out;
}
