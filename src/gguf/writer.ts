/**
 * GGUF writer: any metadata and tensors, version 3 (or 2), little-endian, tensors in the given
 * order, each padded to the alignment, offsets the exact running sum (what ggml's reader demands).
 * Output is a sequence of chunks so large files can be streamed; tensor data may be supplied
 * lazily (a function) so a generator never holds the whole model in memory.
 * ref: llama.cpp ggml/src/gguf.cpp gguf_write_to_buf (the same layout, written).
 */
import { EmbedError } from "../errors.js";
import { GGML_TYPES, type GGMLType } from "../tensor/ggml-type.js";
import { GGUFValueType, SCALAR_BYTES, type GGUFValue } from "./keys.js";
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC } from "./reader.js";

export interface TensorToWrite {
  name: string;
  type: GGMLType;
  /** ggml order, ne[0] = row length. */
  ne: readonly number[];
  /** The encoded bytes, or a function producing them when the writer reaches this tensor. */
  data: Uint8Array | (() => Uint8Array);
}

export interface GGUFToWrite {
  metadata: Iterable<[string, GGUFValue]>;
  tensors: readonly TensorToWrite[];
  version?: 2 | 3;
}

const enc = new TextEncoder();

/** Growable little-endian byte builder for the header part. */
class Builder {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private grow(n: number): number {
    if (this.length + n > this.buf.byteLength) {
      const next = new Uint8Array(Math.max(this.buf.byteLength * 2, this.length + n));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  // grow() may replace buf/view, so it is always called before they are read.
  u8(v: number) {
    const at = this.grow(1);
    this.view.setUint8(at, v);
  }
  i8(v: number) {
    const at = this.grow(1);
    this.view.setInt8(at, v);
  }
  u16(v: number) {
    const at = this.grow(2);
    this.view.setUint16(at, v, true);
  }
  i16(v: number) {
    const at = this.grow(2);
    this.view.setInt16(at, v, true);
  }
  u32(v: number) {
    const at = this.grow(4);
    this.view.setUint32(at, v, true);
  }
  i32(v: number) {
    const at = this.grow(4);
    this.view.setInt32(at, v, true);
  }
  f32(v: number) {
    const at = this.grow(4);
    this.view.setFloat32(at, v, true);
  }
  f64(v: number) {
    const at = this.grow(8);
    this.view.setFloat64(at, v, true);
  }
  u64(v: bigint | number) {
    const at = this.grow(8);
    this.view.setBigUint64(at, BigInt(v), true);
  }
  i64(v: bigint | number) {
    const at = this.grow(8);
    this.view.setBigInt64(at, BigInt(v), true);
  }
  bytes(b: Uint8Array) {
    const at = this.grow(b.byteLength);
    this.buf.set(b, at);
  }
  str(s: string) {
    const b = enc.encode(s);
    this.u64(b.byteLength);
    this.bytes(b);
  }
  pad(align: number) {
    const n = (align - (this.length % align)) % align;
    this.grow(n); // new bytes are zero: the buffer is zero-filled and only ever appended to
  }
  take(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function writeScalar(b: Builder, type: GGUFValueType, v: number | bigint | boolean | string): void {
  switch (type) {
    case GGUFValueType.UINT8:
      return b.u8(v as number);
    case GGUFValueType.INT8:
      return b.i8(v as number);
    case GGUFValueType.UINT16:
      return b.u16(v as number);
    case GGUFValueType.INT16:
      return b.i16(v as number);
    case GGUFValueType.UINT32:
      return b.u32(v as number);
    case GGUFValueType.INT32:
      return b.i32(v as number);
    case GGUFValueType.FLOAT32:
      return b.f32(v as number);
    case GGUFValueType.FLOAT64:
      return b.f64(v as number);
    case GGUFValueType.UINT64:
      return b.u64(v as bigint);
    case GGUFValueType.INT64:
      return b.i64(v as bigint);
    case GGUFValueType.BOOL:
      return b.u8(v ? 1 : 0);
    case GGUFValueType.STRING:
      return b.str(v as string);
    default:
      throw new EmbedError("GGUF_BAD_VALUE_TYPE", `cannot write value type ${type}`, { type });
  }
}

function writeValue(b: Builder, key: string, v: GGUFValue): void {
  b.u32(v.type);
  if (v.type !== GGUFValueType.ARRAY) return writeScalar(b, v.type, v.value);
  b.u32(v.itemType);
  b.u64(v.value.length);
  if (v.itemType === GGUFValueType.STRING) {
    for (const s of v.value) b.str(s);
    return;
  }
  if (SCALAR_BYTES[v.itemType] === undefined)
    throw new EmbedError("GGUF_BAD_VALUE_TYPE", `metadata key "${key}": cannot write arrays of type ${v.itemType}`, { key });
  // Typed arrays are little-endian on every platform we run on, so their bytes are the encoding.
  const a = v.value as Exclude<typeof v.value, string[]>;
  b.bytes(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/** Header, metadata, tensor infos and padding: everything before the data section. */
export function encodeGGUFHeader(file: GGUFToWrite): { header: Uint8Array; alignment: number; nBytes: number[] } {
  const meta = [...file.metadata];
  const alignEntry = meta.find(([k]) => k === "general.alignment");
  const alignment = alignEntry && alignEntry[1].type === GGUFValueType.UINT32 ? alignEntry[1].value : GGUF_DEFAULT_ALIGNMENT;
  const b = new Builder();
  b.u32(GGUF_MAGIC);
  b.u32(file.version ?? 3);
  b.u64(file.tensors.length);
  b.u64(meta.length);
  for (const [key, v] of meta) {
    b.str(key);
    writeValue(b, key, v);
  }
  const nBytes: number[] = [];
  let offset = 0;
  for (const t of file.tensors) {
    const traits = GGML_TYPES.get(t.type);
    if (!traits) throw new EmbedError("UNSUPPORTED_TYPE", `tensor "${t.name}": unknown ggml type ${t.type}`, { tensor: t.name });
    const nElements = t.ne.reduce((a, d) => a * d, 1);
    if (t.ne[0] % traits.blockSize !== 0)
      throw new EmbedError(
        "TENSOR_SHAPE",
        `tensor "${t.name}": ne[0] = ${t.ne[0]} is not a multiple of ${traits.name} block size ${traits.blockSize}`,
        { tensor: t.name },
      );
    const size = (nElements / traits.blockSize) * traits.typeSize;
    nBytes.push(size);
    b.str(t.name);
    b.u32(t.ne.length);
    for (const d of t.ne) b.i64(d);
    b.u32(t.type);
    b.u64(offset);
    offset += Math.ceil(size / alignment) * alignment;
  }
  b.pad(alignment);
  return { header: b.take(), alignment, nBytes };
}

/** The whole file as chunks: header, then each tensor's bytes and its zero padding. */
export function* encodeGGUF(file: GGUFToWrite): Generator<Uint8Array> {
  const { header, alignment, nBytes } = encodeGGUFHeader(file);
  yield header;
  for (let i = 0; i < file.tensors.length; i++) {
    const t = file.tensors[i];
    const data = typeof t.data === "function" ? t.data() : t.data;
    if (data.byteLength !== nBytes[i])
      throw new EmbedError(
        "TENSOR_SHAPE",
        `tensor "${t.name}": ${data.byteLength} data bytes given, ${nBytes[i]} expected for its type and shape`,
        { tensor: t.name },
      );
    yield data;
    const pad = (alignment - (data.byteLength % alignment)) % alignment;
    if (pad) yield new Uint8Array(pad);
  }
}

/** The whole file in one buffer (small files, tests, the browser). */
export function encodeGGUFToBuffer(file: GGUFToWrite): Uint8Array {
  const chunks = [...encodeGGUF(file)];
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
