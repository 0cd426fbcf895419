/**
 * GGUF metadata value types and typed accessors. ref: llama.cpp ggml/include/gguf.h (enum gguf_type),
 * ggml/src/gguf.cpp gguf_init_from_file_ptr; src/llama-model-loader.cpp get_key (the type checks).
 * Getters check the stored type strictly (as llama.cpp's loader does: "key ... has wrong type"),
 * with one relaxation: integer getters accept any integer type whose value fits.
 */
import { EmbedError } from "../errors.js";

export enum GGUFValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

export type GGUFArray =
  | { type: GGUFValueType.ARRAY; itemType: GGUFValueType.UINT8 | GGUFValueType.BOOL; value: Uint8Array }
  | { type: GGUFValueType.ARRAY; itemType: GGUFValueType.INT8; value: Int8Array }
  | { type: GGUFValueType.ARRAY; itemType: GGUFValueType.UINT16; value: Uint16Array }
  | { type: GGUFValueType.ARRAY; itemType: GGUFValueType.INT16; value: Int16Array }
  | { type: GGUFValueType.ARRAY; itemType: GGUFValueType.UINT32; value: Uint32Array }
  | { type: GGUFValueType.ARRAY; itemType: GGUFValueType.INT32; value: Int32Array }
  | { type: GGUFValueType.ARRAY; itemType: GGUFValueType.FLOAT32; value: Float32Array }
  | { type: GGUFValueType.ARRAY; itemType: GGUFValueType.FLOAT64; value: Float64Array }
  | { type: GGUFValueType.ARRAY; itemType: GGUFValueType.UINT64; value: BigUint64Array }
  | { type: GGUFValueType.ARRAY; itemType: GGUFValueType.INT64; value: BigInt64Array }
  | { type: GGUFValueType.ARRAY; itemType: GGUFValueType.STRING; value: string[] };

export type GGUFValue =
  | {
      type:
        | GGUFValueType.UINT8
        | GGUFValueType.INT8
        | GGUFValueType.UINT16
        | GGUFValueType.INT16
        | GGUFValueType.UINT32
        | GGUFValueType.INT32
        | GGUFValueType.FLOAT32
        | GGUFValueType.FLOAT64;
      value: number;
    }
  | { type: GGUFValueType.UINT64 | GGUFValueType.INT64; value: bigint }
  | { type: GGUFValueType.BOOL; value: boolean }
  | { type: GGUFValueType.STRING; value: string }
  | GGUFArray;

export type GGUFMetadata = Map<string, GGUFValue>;

/** Bytes of one scalar of each fixed-size type (STRING and ARRAY are variable). */
export const SCALAR_BYTES: Partial<Record<GGUFValueType, number>> = {
  [GGUFValueType.UINT8]: 1,
  [GGUFValueType.INT8]: 1,
  [GGUFValueType.BOOL]: 1,
  [GGUFValueType.UINT16]: 2,
  [GGUFValueType.INT16]: 2,
  [GGUFValueType.UINT32]: 4,
  [GGUFValueType.INT32]: 4,
  [GGUFValueType.FLOAT32]: 4,
  [GGUFValueType.UINT64]: 8,
  [GGUFValueType.INT64]: 8,
  [GGUFValueType.FLOAT64]: 8,
};

const INT_TYPES = new Set([
  GGUFValueType.UINT8,
  GGUFValueType.INT8,
  GGUFValueType.UINT16,
  GGUFValueType.INT16,
  GGUFValueType.UINT32,
  GGUFValueType.INT32,
  GGUFValueType.UINT64,
  GGUFValueType.INT64,
]);

function wrongType(key: string, v: GGUFValue, expected: string): EmbedError {
  return new EmbedError(
    "GGUF_KEY_TYPE",
    `metadata key "${key}" has type ${GGUFValueType[v.type]}${v.type === GGUFValueType.ARRAY ? `[${GGUFValueType[v.itemType]}]` : ""}, expected ${expected}`,
    { key, type: GGUFValueType[v.type], expected },
  );
}

function missing(key: string): EmbedError {
  return new EmbedError("GGUF_KEY_MISSING", `required metadata key "${key}" is missing`, { key });
}

/** A non-negative integer that fits in a JS number. */
export function getUint(meta: GGUFMetadata, key: string, dflt?: number): number {
  const v = meta.get(key);
  if (v === undefined) {
    if (dflt === undefined) throw missing(key);
    return dflt;
  }
  if (!INT_TYPES.has(v.type)) throw wrongType(key, v, "an unsigned integer (UINT32)");
  const n = Number(v.value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new EmbedError("GGUF_KEY_TYPE", `metadata key "${key}" = ${String(v.value)} is not a valid unsigned integer`, {
      key,
      value: String(v.value),
    });
  return n;
}

export function getFloat(meta: GGUFMetadata, key: string, dflt?: number): number {
  const v = meta.get(key);
  if (v === undefined) {
    if (dflt === undefined) throw missing(key);
    return dflt;
  }
  if (v.type !== GGUFValueType.FLOAT32 && v.type !== GGUFValueType.FLOAT64) throw wrongType(key, v, "FLOAT32");
  return v.value;
}

/**
 * A float hyperparameter that must be finite and > 0 (a frequency base, an epsilon). NaN, ±Inf, 0
 * and negative values give finite but wrong vectors downstream, so they are refused at load with
 * BAD_HPARAMS naming the key (llama.cpp does not check them).
 */
export function getPositiveFloat(meta: GGUFMetadata, key: string, dflt?: number): number {
  const x = getFloat(meta, key, dflt);
  if (!Number.isFinite(x) || x <= 0) {
    throw new EmbedError("BAD_HPARAMS", `metadata key "${key}" = ${String(x)}: it must be a finite number greater than 0`, {
      key,
      value: String(x),
    });
  }
  return x;
}

export function getBool(meta: GGUFMetadata, key: string, dflt?: boolean): boolean {
  const v = meta.get(key);
  if (v === undefined) {
    if (dflt === undefined) throw missing(key);
    return dflt;
  }
  if (v.type !== GGUFValueType.BOOL) throw wrongType(key, v, "BOOL");
  return v.value;
}

export function getString(meta: GGUFMetadata, key: string, dflt?: string): string {
  const v = meta.get(key);
  if (v === undefined) {
    if (dflt === undefined) throw missing(key);
    return dflt;
  }
  if (v.type !== GGUFValueType.STRING) throw wrongType(key, v, "STRING");
  return v.value;
}

export function getStringArray(meta: GGUFMetadata, key: string): string[] | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (v.type !== GGUFValueType.ARRAY || v.itemType !== GGUFValueType.STRING) throw wrongType(key, v, "ARRAY[STRING]");
  return v.value;
}

/** Constructors for writer input, so callers state each key's GGUF type explicitly. */
export const kv = {
  u8: (value: number): GGUFValue => ({ type: GGUFValueType.UINT8, value }),
  i8: (value: number): GGUFValue => ({ type: GGUFValueType.INT8, value }),
  u16: (value: number): GGUFValue => ({ type: GGUFValueType.UINT16, value }),
  i16: (value: number): GGUFValue => ({ type: GGUFValueType.INT16, value }),
  u32: (value: number): GGUFValue => ({ type: GGUFValueType.UINT32, value }),
  i32: (value: number): GGUFValue => ({ type: GGUFValueType.INT32, value }),
  f32: (value: number): GGUFValue => ({ type: GGUFValueType.FLOAT32, value }),
  f64: (value: number): GGUFValue => ({ type: GGUFValueType.FLOAT64, value }),
  u64: (value: bigint): GGUFValue => ({ type: GGUFValueType.UINT64, value }),
  i64: (value: bigint): GGUFValue => ({ type: GGUFValueType.INT64, value }),
  bool: (value: boolean): GGUFValue => ({ type: GGUFValueType.BOOL, value }),
  str: (value: string): GGUFValue => ({ type: GGUFValueType.STRING, value }),
  strs: (value: string[]): GGUFValue => ({ type: GGUFValueType.ARRAY, itemType: GGUFValueType.STRING, value }),
  f32s: (value: Float32Array): GGUFValue => ({ type: GGUFValueType.ARRAY, itemType: GGUFValueType.FLOAT32, value }),
  i32s: (value: Int32Array): GGUFValue => ({ type: GGUFValueType.ARRAY, itemType: GGUFValueType.INT32, value }),
  u32s: (value: Uint32Array): GGUFValue => ({ type: GGUFValueType.ARRAY, itemType: GGUFValueType.UINT32, value }),
  bools: (value: Uint8Array): GGUFValue => ({ type: GGUFValueType.ARRAY, itemType: GGUFValueType.BOOL, value }),
};
