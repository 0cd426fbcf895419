/**
 * CPU_TRAITS: what ggml-cpu computes with a weight of each type (the counterpart of ggml-cpu.c's
 * type_traits_cpu; the data layout — block sizes, dequantize, quantize — is src/quant's
 * QUANT_TRAITS, as ggml.c's type_traits): the activation's vec_dot_type, the from_float that
 * converts an f32 activation row to it (x86 flavour: src/quant/activation.ts), and vec_dot, whose
 * f32 order depends on the numerics profile for the float types (vec-dot-float.ts).
 * Types without an entry cannot be matmul weights or activations: cpuTraits throws UNSUPPORTED_TYPE.
 */
import { EmbedError } from "../errors.js";
import { quantizeRowBF16Act, quantizeRowF16Act, quantizeRowQ8_0, quantizeRowQ8_1, quantizeRowQ8_K } from "../quant/activation.js";
import { quantizeRowF32 } from "../quant/float.js";
import type { QuantizeRowFn, VecDotFn } from "../quant/types.js";
import { GGMLType, ggmlTypeName } from "../tensor/ggml-type.js";
import type { Numerics } from "./numerics.js";
import { vecDotBF16, vecDotF16, vecDotF32 } from "./vec-dot-float.js";
import { vecDotIQ4_XSQ8_K, vecDotQ2_KQ8_K, vecDotQ3_KQ8_K, vecDotQ4_KQ8_K, vecDotQ5_KQ8_K, vecDotQ6_KQ8_K } from "./vec-dot-k.js";
import { vecDotIQ4_NLQ8_0, vecDotQ4_0Q8_0, vecDotQ4_1Q8_1, vecDotQ5_0Q8_0, vecDotQ5_1Q8_1, vecDotQ8_0Q8_0 } from "./vec-dot.js";

export interface CpuTraits {
  /** the type a matmul converts activations to before vec_dot */
  readonly vecDotType: GGMLType;
  /** weight row · activation row (in vecDotType); absent for the activation-only types Q8_1, Q8_K */
  readonly vecDot?: VecDotFn;
  /** f32 -> this type, as ggml-cpu converts activations (set on the types that are some weight's vec_dot_type) */
  readonly fromFloat?: QuantizeRowFn;
}

type Entry = { vecDotType: GGMLType; vecDot?: VecDotFn | ((nx: Numerics) => VecDotFn); fromFloat?: QuantizeRowFn };
const T = GGMLType;
const ENTRIES: ReadonlyMap<GGMLType, Entry> = new Map<GGMLType, Entry>([
  [T.F32, { vecDotType: T.F32, vecDot: vecDotF32, fromFloat: quantizeRowF32 }],
  [T.F16, { vecDotType: T.F16, vecDot: vecDotF16, fromFloat: quantizeRowF16Act }],
  [T.BF16, { vecDotType: T.BF16, vecDot: vecDotBF16, fromFloat: quantizeRowBF16Act }],
  [T.Q4_0, { vecDotType: T.Q8_0, vecDot: vecDotQ4_0Q8_0 }],
  [T.Q4_1, { vecDotType: T.Q8_1, vecDot: vecDotQ4_1Q8_1 }],
  [T.Q5_0, { vecDotType: T.Q8_0, vecDot: vecDotQ5_0Q8_0 }],
  [T.Q5_1, { vecDotType: T.Q8_1, vecDot: vecDotQ5_1Q8_1 }],
  [T.Q8_0, { vecDotType: T.Q8_0, vecDot: vecDotQ8_0Q8_0, fromFloat: quantizeRowQ8_0 }],
  [T.Q8_1, { vecDotType: T.Q8_1, fromFloat: quantizeRowQ8_1 }],
  [T.Q2_K, { vecDotType: T.Q8_K, vecDot: vecDotQ2_KQ8_K }],
  [T.Q3_K, { vecDotType: T.Q8_K, vecDot: vecDotQ3_KQ8_K }],
  [T.Q4_K, { vecDotType: T.Q8_K, vecDot: vecDotQ4_KQ8_K }],
  [T.Q5_K, { vecDotType: T.Q8_K, vecDot: vecDotQ5_KQ8_K }],
  [T.Q6_K, { vecDotType: T.Q8_K, vecDot: vecDotQ6_KQ8_K }],
  [T.Q8_K, { vecDotType: T.Q8_K, fromFloat: quantizeRowQ8_K }],
  [T.IQ4_NL, { vecDotType: T.Q8_0, vecDot: vecDotIQ4_NLQ8_0 }],
  [T.IQ4_XS, { vecDotType: T.Q8_K, vecDot: vecDotIQ4_XSQ8_K }],
]);

/** The float types' vec_dot takes the profile; the quantized ones are the same in every profile. */
const FLOAT_DOT = new Set<GGMLType>([T.F32, T.F16, T.BF16]);
const cache = new WeakMap<Numerics, Map<GGMLType, CpuTraits>>();

/** type_traits_cpu[type] under profile nx, or EmbedError UNSUPPORTED_TYPE naming the type (and tensor). */
export function cpuTraits(type: GGMLType, nx: Numerics, tensorName?: string): CpuTraits {
  let m = cache.get(nx);
  if (!m) cache.set(nx, (m = new Map()));
  let t = m.get(type);
  if (t) return t;
  const e = ENTRIES.get(type);
  if (!e) {
    const where = tensorName !== undefined ? `tensor "${tensorName}": ` : "";
    throw new EmbedError("UNSUPPORTED_TYPE", `${where}ggml type ${ggmlTypeName(type)} (id ${type}) cannot be used in a matmul`, {
      type: ggmlTypeName(type),
      typeId: type,
      ...(tensorName !== undefined ? { tensor: tensorName } : {}),
    });
  }
  const vecDot = e.vecDot && FLOAT_DOT.has(type) ? (e.vecDot as (nx: Numerics) => VecDotFn)(nx) : (e.vecDot as VecDotFn | undefined);
  t = Object.freeze({ vecDotType: e.vecDotType, vecDot, fromFloat: e.fromFloat });
  m.set(type, t);
  return t;
}

/** vec_dot_type of a matmul weight type (the same in every profile); UNSUPPORTED_TYPE if it has none. */
export function vecDotTypeOf(type: GGMLType, tensorName?: string): GGMLType {
  const e = ENTRIES.get(type);
  if (!e?.vecDot) {
    const where = tensorName !== undefined ? `tensor "${tensorName}": ` : "";
    throw new EmbedError("UNSUPPORTED_TYPE", `${where}ggml type ${ggmlTypeName(type)} (id ${type}) cannot be a matmul weight`, {
      type: ggmlTypeName(type),
      typeId: type,
      ...(tensorName !== undefined ? { tensor: tensorName } : {}),
    });
  }
  return e.vecDotType;
}

/** from_float of a vec_dot type (F32, F16, BF16, Q8_0, Q8_1, Q8_K); the same in every profile. */
export function fromFloatFor(vecDotType: GGMLType): QuantizeRowFn {
  const f = ENTRIES.get(vecDotType)?.fromFloat;
  if (!f)
    throw new EmbedError("UNSUPPORTED_TYPE", `ggml type ${ggmlTypeName(vecDotType)} is not a vec_dot type`, {
      type: ggmlTypeName(vecDotType),
    });
  return f;
}
