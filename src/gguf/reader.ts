/**
 * GGUF reader: header, metadata and tensor infos, from any ByteSource, without touching tensor data.
 * ref: llama.cpp ggml/src/gguf.cpp gguf_init_from_file_ptr. This is the only code that reads untrusted bytes, so
 * every count and length is checked against the bytes that remain before anything is allocated,
 * and every failure is an EmbedError naming the byte offset and the key or tensor.
 *
 * Differences from ggml, on purpose: tensor data may have gaps (ggml demands the exact running sum
 * of padded sizes); overlaps, misalignment and out-of-file ranges are still rejected. Nested arrays
 * are rejected as in ggml. Record counts are capped (MAX_TENSORS, MAX_KV), and every source read is
 * held to its exact length (readExactly).
 */
import { EmbedError } from "../errors.js";
import { GGML_TYPES, ggmlTypeName, type GGMLType } from "../tensor/ggml-type.js";
import { GGUFValueType, SCALAR_BYTES, type GGUFArray, type GGUFMetadata, type GGUFValue } from "./keys.js";
import { readExactly, type ByteSource } from "./source.js";

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGML_MAX_NAME = 64; // names must be shorter than this, as in ggml
export const GGML_MAX_DIMS = 4;
// Caps ggml lacks (it checks SIZE_MAX only): at ~5-15 us of JS work per record, a 16 MB file of 1M
// one-byte keys or 500k tiny tensor infos held the event loop 5-8 s. Real files: < 100 keys, < 15k tensors.
export const MAX_TENSORS = 1 << 16;
export const MAX_KV = 1 << 16;

export interface TensorInfo {
  readonly name: string;
  /** ggml order: ne[0] is the contiguous row length. Always GGML_MAX_DIMS entries (missing dims are 1). */
  readonly ne: readonly number[];
  /** How many dims the file declared (1..4). */
  readonly nDims: number;
  readonly type: GGMLType;
  /** Offset relative to the data section, as stored. */
  readonly offset: number;
  /** Absolute byte offset in `source`. */
  readonly byteOffset: number;
  readonly nBytes: number;
  readonly nElements: number;
  readonly source: ByteSource;
}

export interface GGUFFile {
  readonly source: ByteSource;
  readonly version: number;
  readonly alignment: number;
  readonly metadata: GGUFMetadata;
  readonly tensors: readonly TensorInfo[];
  /** Absolute byte offset where the data section starts. */
  readonly dataOffset: number;
}

const CHUNK = 1 << 20;
// ignoreBOM: a string that starts with U+FEFF must keep it (Gemma has tokens "\uFEFF//", "\uFEFF#", ...).
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** A forward-only cursor that pulls bytes from the source in chunks. */
class Cursor {
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0; // absolute offset of buf[0]
  pos = 0; // absolute offset of the next byte
  constructor(readonly src: ByteSource) {}

  get remaining(): number {
    return this.src.nBytes - this.pos;
  }

  /** Make `n` bytes available at pos, or throw GGUF_TRUNCATED naming `what`. */
  async need(n: number, what: string): Promise<void> {
    if (n > this.remaining) {
      throw new EmbedError(
        "GGUF_TRUNCATED",
        `${this.src.name}: file ends inside ${what} at offset ${this.pos} (needs ${n} bytes, ${this.remaining} left)`,
        { offset: this.pos, what },
      );
    }
    const have = this.bufStart + this.buf.byteLength - this.pos;
    if (have >= n) return;
    const len = Math.min(Math.max(n, CHUNK), this.remaining);
    this.buf = await readExactly(this.src, this.pos, len);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.bufStart = this.pos;
  }

  private at(n: number): number {
    const i = this.pos - this.bufStart;
    this.pos += n;
    return i;
  }
  u8(): number {
    return this.view.getUint8(this.at(1));
  }
  i8(): number {
    return this.view.getInt8(this.at(1));
  }
  u16(): number {
    return this.view.getUint16(this.at(2), true);
  }
  i16(): number {
    return this.view.getInt16(this.at(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.at(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.at(4), true);
  }
  f32(): number {
    return this.view.getFloat32(this.at(4), true);
  }
  f64(): number {
    return this.view.getFloat64(this.at(8), true);
  }
  u64(): bigint {
    return this.view.getBigUint64(this.at(8), true);
  }
  i64(): bigint {
    return this.view.getBigInt64(this.at(8), true);
  }
  bytes(n: number): Uint8Array {
    const i = this.at(n);
    return this.buf.subarray(i, i + n);
  }

  /** A u64 count or length that must be a safe integer no larger than `limit`. */
  async count(what: string, limit: number): Promise<number> {
    const at = this.pos;
    await this.need(8, what);
    const v = this.u64();
    if (v > BigInt(limit)) {
      throw new EmbedError(
        "GGUF_LIMIT",
        `${this.src.name}: ${what} at offset ${at} is ${v}, more than the ${limit} that the remaining bytes can hold`,
        { offset: at, what, value: v.toString() },
      );
    }
    return Number(v);
  }

  /** A GGUF string's raw bytes (a view into the chunk: decode or copy before the next need()). */
  async stringBytes(what: string): Promise<Uint8Array> {
    const len = await this.count(`length of ${what}`, this.remaining - 8);
    await this.need(len, what);
    return this.bytes(len);
  }

  async string(what: string): Promise<string> {
    return utf8.decode(await this.stringBytes(what));
  }

  /**
   * The next string, without awaiting, when its length field and bytes are already in the chunk
   * (then the checks of string() hold by construction); otherwise undefined and nothing is consumed,
   * and the caller takes string(), which names any problem. A vocabulary is ~10^5 short strings.
   */
  stringInChunk(): string | undefined {
    const i = this.pos - this.bufStart;
    if (i + 8 > this.buf.byteLength) return undefined;
    const len = this.view.getUint32(i, true);
    if (this.view.getUint32(i + 4, true) !== 0 || i + 8 + len > this.buf.byteLength) return undefined;
    this.pos += 8 + len;
    return utf8.decode(this.buf.subarray(i + 8, i + 8 + len));
  }
}

export async function readGGUF(src: ByteSource): Promise<GGUFFile> {
  const c = new Cursor(src);
  await c.need(8, "header");
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) {
    throw new EmbedError("GGUF_BAD_MAGIC", `${src.name}: not a GGUF file (magic 0x${magic.toString(16).padStart(8, "0")} at offset 0)`, {
      offset: 0,
    });
  }
  const version = c.u32();
  if ((version & 0xffff) === 0 && version !== 0) {
    throw new EmbedError(
      "GGUF_BIG_ENDIAN",
      `${src.name}: version field 0x${version.toString(16)} at offset 4 looks byte-swapped; big-endian GGUF files are not supported`,
      { offset: 4, version },
    );
  }
  if (version === 1)
    throw new EmbedError("GGUF_BAD_VERSION", `${src.name}: GGUF version 1 is no longer supported (offset 4); re-convert the model`, {
      offset: 4,
      version,
    });
  if (version !== 2 && version !== 3)
    throw new EmbedError("GGUF_BAD_VERSION", `${src.name}: GGUF version ${version} at offset 4 is not supported (only 2 and 3)`, {
      offset: 4,
      version,
    });

  // Minimum record sizes bound the counts: a tensor info is at least 8 (name len) + 4 (n_dims) +
  // 8 (one dim) + 4 (type) + 8 (offset) bytes; a KV at least 8 (key len) + 1 (key) + 4 (type) + 1.
  const nTensors = await c.count("tensor count", Math.floor((src.nBytes - 24) / 32));
  const nKv = await c.count("metadata count", Math.floor((src.nBytes - 24 - nTensors * 32) / 14));
  if (nTensors > MAX_TENSORS || nKv > MAX_KV) {
    const [what, n, max] = nTensors > MAX_TENSORS ? ["tensors", nTensors, MAX_TENSORS] : ["metadata keys", nKv, MAX_KV];
    throw new EmbedError("GGUF_LIMIT", `${src.name}: the header declares ${n} ${what}; this reader accepts at most ${max}`, {
      offset: nTensors > MAX_TENSORS ? 8 : 16,
      value: n,
      max,
    });
  }

  const metadata: GGUFMetadata = new Map();
  for (let i = 0; i < nKv; i++) {
    const at = c.pos;
    const key = await c.string(`key of metadata #${i}`);
    if (key.length === 0)
      throw new EmbedError("GGUF_BAD_KEY", `${src.name}: metadata #${i} at offset ${at} has an empty key`, { offset: at, index: i });
    if (metadata.has(key))
      throw new EmbedError("GGUF_DUPLICATE_KEY", `${src.name}: duplicate metadata key "${key}" at offset ${at}`, { offset: at, key });
    await c.need(4, `type of "${key}"`);
    const type = c.u32();
    metadata.set(key, await readValue(c, type, key));
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const al = metadata.get("general.alignment");
  if (al !== undefined) {
    if (al.type !== GGUFValueType.UINT32 || al.value === 0 || (al.value & (al.value - 1)) !== 0) {
      throw new EmbedError(
        "GGUF_BAD_ALIGNMENT",
        `${src.name}: general.alignment must be a UINT32 power of two, got ${al.type === GGUFValueType.ARRAY ? "an array" : String(al.value)}`,
        { key: "general.alignment" },
      );
    }
    alignment = al.value;
  }

  type Pending = Omit<TensorInfo, "byteOffset" | "source">;
  const pending: Pending[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const at = c.pos;
    const nameBytes = await c.stringBytes(`name of tensor #${i}`);
    const name = utf8.decode(nameBytes);
    // ggml limits the raw bytes; invalid UTF-8 decodes to U+FFFD (3 bytes each), so re-encoding would not tell.
    if (nameBytes.byteLength >= GGML_MAX_NAME)
      throw new EmbedError(
        "GGUF_BAD_TENSOR",
        `${src.name}: tensor #${i} name "${name.slice(0, 80)}" at offset ${at} is ${GGML_MAX_NAME} bytes or longer`,
        { offset: at, tensor: name },
      );
    if (names.has(name))
      throw new EmbedError("GGUF_DUPLICATE_TENSOR", `${src.name}: duplicate tensor name "${name}" at offset ${at}`, {
        offset: at,
        tensor: name,
      });
    names.add(name);
    await c.need(4, `n_dims of tensor "${name}"`);
    const nDims = c.u32();
    if (nDims < 1 || nDims > GGML_MAX_DIMS)
      throw new EmbedError(
        "GGUF_BAD_TENSOR",
        `${src.name}: tensor "${name}" has ${nDims} dimensions (must be 1..${GGML_MAX_DIMS}) at offset ${c.pos - 4}`,
        { offset: c.pos - 4, tensor: name },
      );
    await c.need(8 * nDims + 12, `tensor info of "${name}"`);
    const ne = [1, 1, 1, 1];
    let nElements = 1n;
    for (let d = 0; d < nDims; d++) {
      const v = c.i64();
      if (v < 0n)
        throw new EmbedError("GGUF_BAD_TENSOR", `${src.name}: tensor "${name}" has negative ne[${d}] = ${v}`, {
          tensor: name,
          offset: c.pos - 8,
        });
      // Each dim must fit on its own: with another dim 0 the product stays 0, and ne[d] = 2^62 would
      // otherwise reach TensorInfo.ne as an inexact number. (Found by the fuzzer.)
      if (v > BigInt(Number.MAX_SAFE_INTEGER))
        throw new EmbedError("GGUF_LIMIT", `${src.name}: tensor "${name}" ne[${d}] = ${v} is too large`, {
          tensor: name,
          offset: c.pos - 8,
        });
      nElements *= v;
      if (nElements > BigInt(Number.MAX_SAFE_INTEGER))
        throw new EmbedError("GGUF_LIMIT", `${src.name}: tensor "${name}" element count overflows (ne[${d}] = ${v})`, {
          tensor: name,
          offset: c.pos - 8,
        });
      ne[d] = Number(v);
    }
    const typeAt = c.pos;
    const type = c.u32() as GGMLType;
    const traits = GGML_TYPES.get(type);
    if (!traits)
      throw new EmbedError("UNSUPPORTED_TYPE", `${src.name}: tensor "${name}" has unknown ggml type id ${type} at offset ${typeAt}`, {
        tensor: name,
        type,
        offset: typeAt,
      });
    const offAt = c.pos;
    const offset = c.u64();
    if (ne[0] % traits.blockSize !== 0)
      throw new EmbedError(
        "GGUF_BAD_TENSOR",
        `${src.name}: tensor "${name}" has ${ne[0]} elements per row, not a multiple of ${traits.name} block size ${traits.blockSize}`,
        { tensor: name },
      );
    const nBytes = (Number(nElements) / traits.blockSize) * traits.typeSize;
    if (offset > BigInt(src.nBytes) || !Number.isSafeInteger(nBytes))
      throw new EmbedError("GGUF_BAD_OFFSET", `${src.name}: tensor "${name}" offset ${offset} (at ${offAt}) lies outside the file`, {
        tensor: name,
        offset: offAt,
      });
    if (Number(offset) % alignment !== 0)
      throw new EmbedError(
        "GGUF_BAD_OFFSET",
        `${src.name}: tensor "${name}" offset ${offset} is not a multiple of the alignment ${alignment}`,
        { tensor: name, offset: offAt },
      );
    pending.push({ name, ne, nDims, type, offset: Number(offset), nBytes, nElements: Number(nElements) });
    void at;
  }

  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  const tensors: TensorInfo[] = pending.map((p) => ({ ...p, byteOffset: dataOffset + p.offset, source: src }));
  checkRanges(src, tensors);
  return { source: src, version, alignment, metadata, tensors, dataOffset };
}

function checkRanges(src: ByteSource, tensors: TensorInfo[]): void {
  const sorted = [...tensors].sort((a, b) => a.byteOffset - b.byteOffset);
  let end = 0;
  let prev = "";
  for (const t of sorted) {
    if (t.byteOffset + t.nBytes > src.nBytes) {
      throw new EmbedError(
        "GGUF_BAD_OFFSET",
        `${src.name}: tensor "${t.name}" (${ggmlTypeName(t.type)}, ${t.nBytes} bytes at ${t.byteOffset}) extends past the end of the file (${src.nBytes} bytes)`,
        { tensor: t.name, byteOffset: t.byteOffset, nBytes: t.nBytes },
      );
    }
    if (t.nBytes > 0 && t.byteOffset < end) {
      throw new EmbedError(
        "GGUF_BAD_OFFSET",
        `${src.name}: tensor "${t.name}" at ${t.byteOffset} overlaps tensor "${prev}" (which ends at ${end})`,
        { tensor: t.name, other: prev, byteOffset: t.byteOffset },
      );
    }
    if (t.nBytes > 0) {
      end = t.byteOffset + t.nBytes;
      prev = t.name;
    }
  }
}

async function readValue(c: Cursor, type: number, key: string): Promise<GGUFValue> {
  const at = c.pos;
  switch (type) {
    case GGUFValueType.STRING:
      return { type, value: await c.string(`value of "${key}"`) };
    case GGUFValueType.ARRAY:
      return readArray(c, key);
    default: {
      const size = SCALAR_BYTES[type as GGUFValueType];
      if (size === undefined)
        throw new EmbedError(
          "GGUF_BAD_VALUE_TYPE",
          `${c.src.name}: metadata key "${key}" has unknown value type ${type} (at offset ${at - 4})`,
          { key, type, offset: at - 4 },
        );
      await c.need(size, `value of "${key}"`);
      return readScalar(c, type as GGUFValueType);
    }
  }
}

function readScalar(c: Cursor, type: GGUFValueType): GGUFValue {
  switch (type) {
    case GGUFValueType.UINT8:
      return { type, value: c.u8() };
    case GGUFValueType.INT8:
      return { type, value: c.i8() };
    case GGUFValueType.UINT16:
      return { type, value: c.u16() };
    case GGUFValueType.INT16:
      return { type, value: c.i16() };
    case GGUFValueType.UINT32:
      return { type, value: c.u32() };
    case GGUFValueType.INT32:
      return { type, value: c.i32() };
    case GGUFValueType.FLOAT32:
      return { type, value: c.f32() };
    case GGUFValueType.FLOAT64:
      return { type, value: c.f64() };
    case GGUFValueType.UINT64:
      return { type, value: c.u64() };
    case GGUFValueType.INT64:
      return { type, value: c.i64() };
    case GGUFValueType.BOOL:
      return { type, value: c.u8() !== 0 };
    default:
      throw new Error(`unreachable: scalar type ${type}`);
  }
}

async function readArray(c: Cursor, key: string): Promise<GGUFArray> {
  const at = c.pos;
  await c.need(4, `array type of "${key}"`);
  const itemType = c.u32();
  if (itemType === GGUFValueType.ARRAY)
    throw new EmbedError(
      "GGUF_BAD_VALUE_TYPE",
      `${c.src.name}: metadata key "${key}" is a nested array (offset ${at}); nested arrays are not supported`,
      { key, offset: at },
    );
  if (itemType === GGUFValueType.STRING) {
    const n = await c.count(`length of array "${key}"`, Math.floor((c.remaining - 8) / 8));
    const value: string[] = [];
    for (let i = 0; i < n; i++) value.push(c.stringInChunk() ?? (await c.string(`element ${i} of "${key}"`)));
    return { type: GGUFValueType.ARRAY, itemType, value };
  }
  const size = SCALAR_BYTES[itemType as GGUFValueType];
  if (size === undefined)
    throw new EmbedError(
      "GGUF_BAD_VALUE_TYPE",
      `${c.src.name}: metadata key "${key}" is an array of unknown type ${itemType} (offset ${at})`,
      { key, type: itemType, offset: at },
    );
  const n = await c.count(`length of array "${key}"`, Math.floor((c.remaining - 8) / size));
  await c.need(n * size, `elements of array "${key}"`);
  // Copy into an aligned, owned buffer (the cursor's chunk is reused and may be unaligned).
  const raw = c.bytes(n * size).slice();
  const b = raw.buffer;
  switch (itemType as GGUFValueType) {
    case GGUFValueType.UINT8:
      return { type: GGUFValueType.ARRAY, itemType: GGUFValueType.UINT8, value: raw };
    case GGUFValueType.BOOL:
      return { type: GGUFValueType.ARRAY, itemType: GGUFValueType.BOOL, value: raw };
    case GGUFValueType.INT8:
      return { type: GGUFValueType.ARRAY, itemType: GGUFValueType.INT8, value: new Int8Array(b) };
    case GGUFValueType.UINT16:
      return { type: GGUFValueType.ARRAY, itemType: GGUFValueType.UINT16, value: new Uint16Array(b) };
    case GGUFValueType.INT16:
      return { type: GGUFValueType.ARRAY, itemType: GGUFValueType.INT16, value: new Int16Array(b) };
    case GGUFValueType.UINT32:
      return { type: GGUFValueType.ARRAY, itemType: GGUFValueType.UINT32, value: new Uint32Array(b) };
    case GGUFValueType.INT32:
      return { type: GGUFValueType.ARRAY, itemType: GGUFValueType.INT32, value: new Int32Array(b) };
    case GGUFValueType.FLOAT32:
      return { type: GGUFValueType.ARRAY, itemType: GGUFValueType.FLOAT32, value: new Float32Array(b) };
    case GGUFValueType.FLOAT64:
      return { type: GGUFValueType.ARRAY, itemType: GGUFValueType.FLOAT64, value: new Float64Array(b) };
    case GGUFValueType.UINT64:
      return { type: GGUFValueType.ARRAY, itemType: GGUFValueType.UINT64, value: new BigUint64Array(b) };
    case GGUFValueType.INT64:
      return { type: GGUFValueType.ARRAY, itemType: GGUFValueType.INT64, value: new BigInt64Array(b) };
    default:
      throw new Error(`unreachable: array type ${itemType}`);
  }
}

/** Read a tensor's bytes (a view for in-memory sources, a fresh buffer otherwise). */
export function readTensorData(t: TensorInfo): Promise<Uint8Array> {
  return readExactly(t.source, t.byteOffset, t.nBytes);
}
