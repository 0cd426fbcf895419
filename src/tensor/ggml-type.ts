/**
 * The one table of ggml tensor types: id, name (ggml spelling), elements per block and bytes per
 * block. ref: ggml/include/ggml.h (ids), ggml/src/ggml-common.h (block structs), docs/gguf.md §3.
 * Removed ids (Q4_2, Q4_3, the Q4_0_x_y repacks, IQ4_NL_x_y) are absent: a file using them is
 * rejected, as ggml does. Ids 40/41 (NVFP4, Q1_0) exist in the newest ggml.h but their layouts are
 * not specified here; they are rejected as unknown.
 */
import { EmbedError } from "../errors.js";

export enum GGMLType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
}

export interface GGMLTypeTraits {
  readonly id: GGMLType;
  readonly name: string;
  /** elements per block (ggml blck_size) */
  readonly blockSize: number;
  /** bytes per block (ggml type_size) */
  readonly typeSize: number;
}

const QK = 32; // QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0 = QK8_1 = QK4_NL
const QK_K = 256;
const F16B = 2; // one ggml_half

/** Sizes written as sums of struct fields, so each can be checked against ggml-common.h. */
const TABLE: readonly GGMLTypeTraits[] = [
  { id: GGMLType.F32, name: "F32", blockSize: 1, typeSize: 4 },
  { id: GGMLType.F16, name: "F16", blockSize: 1, typeSize: 2 },
  { id: GGMLType.Q4_0, name: "Q4_0", blockSize: QK, typeSize: F16B + QK / 2 },
  { id: GGMLType.Q4_1, name: "Q4_1", blockSize: QK, typeSize: 2 * F16B + QK / 2 },
  { id: GGMLType.Q5_0, name: "Q5_0", blockSize: QK, typeSize: F16B + 4 + QK / 2 },
  { id: GGMLType.Q5_1, name: "Q5_1", blockSize: QK, typeSize: 2 * F16B + 4 + QK / 2 },
  { id: GGMLType.Q8_0, name: "Q8_0", blockSize: QK, typeSize: F16B + QK },
  { id: GGMLType.Q8_1, name: "Q8_1", blockSize: QK, typeSize: 2 * F16B + QK },
  { id: GGMLType.Q2_K, name: "Q2_K", blockSize: QK_K, typeSize: 2 * F16B + QK_K / 16 + QK_K / 4 },
  { id: GGMLType.Q3_K, name: "Q3_K", blockSize: QK_K, typeSize: F16B + QK_K / 4 + QK_K / 8 + 12 },
  { id: GGMLType.Q4_K, name: "Q4_K", blockSize: QK_K, typeSize: 2 * F16B + 12 + QK_K / 2 },
  { id: GGMLType.Q5_K, name: "Q5_K", blockSize: QK_K, typeSize: 2 * F16B + 12 + QK_K / 8 + QK_K / 2 },
  { id: GGMLType.Q6_K, name: "Q6_K", blockSize: QK_K, typeSize: F16B + QK_K / 16 + (3 * QK_K) / 4 },
  { id: GGMLType.Q8_K, name: "Q8_K", blockSize: QK_K, typeSize: 4 + QK_K + (QK_K / 16) * 2 },
  { id: GGMLType.IQ2_XXS, name: "IQ2_XXS", blockSize: QK_K, typeSize: F16B + (QK_K / 8) * 2 },
  { id: GGMLType.IQ2_XS, name: "IQ2_XS", blockSize: QK_K, typeSize: F16B + (QK_K / 8) * 2 + QK_K / 32 },
  { id: GGMLType.IQ3_XXS, name: "IQ3_XXS", blockSize: QK_K, typeSize: F16B + (3 * QK_K) / 8 },
  { id: GGMLType.IQ1_S, name: "IQ1_S", blockSize: QK_K, typeSize: F16B + QK_K / 8 + QK_K / 16 },
  { id: GGMLType.IQ4_NL, name: "IQ4_NL", blockSize: QK, typeSize: F16B + QK / 2 },
  { id: GGMLType.IQ3_S, name: "IQ3_S", blockSize: QK_K, typeSize: F16B + QK_K / 4 + QK_K / 32 + QK_K / 8 + QK_K / 64 },
  { id: GGMLType.IQ2_S, name: "IQ2_S", blockSize: QK_K, typeSize: F16B + QK_K / 4 + QK_K / 16 },
  { id: GGMLType.IQ4_XS, name: "IQ4_XS", blockSize: QK_K, typeSize: F16B + 2 + QK_K / 64 + QK_K / 2 },
  { id: GGMLType.I8, name: "I8", blockSize: 1, typeSize: 1 },
  { id: GGMLType.I16, name: "I16", blockSize: 1, typeSize: 2 },
  { id: GGMLType.I32, name: "I32", blockSize: 1, typeSize: 4 },
  { id: GGMLType.I64, name: "I64", blockSize: 1, typeSize: 8 },
  { id: GGMLType.F64, name: "F64", blockSize: 1, typeSize: 8 },
  { id: GGMLType.IQ1_M, name: "IQ1_M", blockSize: QK_K, typeSize: QK_K / 8 + QK_K / 16 + QK_K / 32 },
  { id: GGMLType.BF16, name: "BF16", blockSize: 1, typeSize: 2 },
  { id: GGMLType.TQ1_0, name: "TQ1_0", blockSize: QK_K, typeSize: F16B + (QK_K - 4 * (QK_K / 64)) / 5 + QK_K / 64 },
  { id: GGMLType.TQ2_0, name: "TQ2_0", blockSize: QK_K, typeSize: F16B + QK_K / 4 },
  { id: GGMLType.MXFP4, name: "MXFP4", blockSize: QK, typeSize: 1 + QK / 2 },
];

export const GGML_TYPES: ReadonlyMap<number, GGMLTypeTraits> = new Map(TABLE.map((t) => [t.id, t]));
const BY_NAME: ReadonlyMap<string, GGMLTypeTraits> = new Map(TABLE.map((t) => [t.name, t]));

export function ggmlTypeName(id: number): string {
  return GGML_TYPES.get(id)?.name ?? `type#${id}`;
}

/** Tensor count per type name ("Q8_0": 171, ...), in first-seen order. */
export function countByType(types: Iterable<number>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of types) counts[ggmlTypeName(t)] = (counts[ggmlTypeName(t)] ?? 0) + 1;
  return counts;
}

export function ggmlTypeByName(name: string): GGMLTypeTraits {
  const t = BY_NAME.get(name.toUpperCase());
  if (!t) throw new EmbedError("UNSUPPORTED_TYPE", `unknown ggml type name "${name}"`, { name });
  return t;
}

/** Bytes in one row of `ne0` elements; ne0 must be a whole number of blocks. */
export function rowBytes(type: GGMLType, ne0: number): number {
  const t = GGML_TYPES.get(type);
  if (!t) throw new EmbedError("UNSUPPORTED_TYPE", `unknown ggml type id ${type}`, { type });
  if (ne0 % t.blockSize !== 0) {
    throw new EmbedError("TENSOR_SHAPE", `row of ${ne0} elements is not a multiple of ${t.name} block size ${t.blockSize}`, {
      type: t.name,
      ne0,
    });
  }
  return (ne0 / t.blockSize) * t.typeSize;
}
