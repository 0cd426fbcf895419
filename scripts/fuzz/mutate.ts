/**
 * GGUF mutations as plain data (so fast-check can shrink and print them), in three stages applied
 * in order to a seed:
 *  1. records: duplicate / drop / swap metadata or tensor-info records (counts kept consistent, data
 *     re-padded), or duplicate a tensor under a new name (same offset: an overlap);
 *  2. fields: set a length, count, type id, dim, offset or scalar value to a boundary value
 *     (0, 2^31, 2^32, 2^50, 2^53±1, 2^60, 2^63, 2^64-1, the file size, another tensor's offset,
 *     the current value ±1 or ±alignment, ...), or make a tensor's dims overflow together;
 *  3. bytes: truncate anywhere, flip a bit, overwrite or insert or delete a few bytes (half the
 *     time aimed at the header region).
 * Every number in a mutation is taken modulo what it indexes, so any case applies to any seed.
 */
import fc from "fast-check";
import { assemble, FIELD_KINDS, parseLayout, type Field, type FieldKind, type Layout } from "./layout.js";
import { fuzzSeeds } from "./seeds.js";

export type RecordEdit =
  | { op: "dupKv" | "dropKv" | "dupTensor" | "dropTensor" | "renameDupTensor"; i: number }
  | { op: "swapKv" | "swapTensor"; i: number; j: number };
export type FieldEdit = { op: "field"; kind: number; i: number; mode: number; pick: number } | { op: "dims"; i: number; pick: number };
export type ByteEdit =
  | { op: "truncate"; at: number }
  | { op: "flip"; header: boolean; at: number; bit: number }
  | { op: "set" | "insert"; header: boolean; at: number; bytes: number[] }
  | { op: "delete"; header: boolean; at: number; len: number };

export interface FuzzCase {
  seed: number;
  records: RecordEdit[];
  fields: FieldEdit[];
  bytes: ByteEdit[];
}

const U64_BOUNDARIES = [
  0n,
  1n,
  2n,
  31n,
  32n,
  33n,
  64n,
  255n,
  256n,
  65535n,
  2n ** 31n,
  2n ** 32n - 1n,
  2n ** 32n,
  2n ** 50n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 60n,
  2n ** 62n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
];
const U32_BOUNDARIES = [
  0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 14, 24, 30, 31, 33, 36, 39, 40, 41, 42, 99, 255, 256, 0x300, 0x7fffffff, 0x80000000, 0xffffffff,
];
const FLOAT_BITS_32 = [0x7fc00000, 0x7f800000, 0xff800000, 0x80000000, 0x7f7fffff, 0x00000001, 0x3f800000];
const FLOAT_BITS_64 = [0x7ff8000000000000n, 0x7ff0000000000000n, 0xfff0000000000000n, 0x8000000000000000n, 0x3ff0000000000000n];
const DIM_BOUNDARIES = [2n ** 16n, 2n ** 21n, 2n ** 31n, 2n ** 32n, 2n ** 40n, 2n ** 63n - 1n];

/** Field kinds, repeated by how often a field edit should pick them (version and counts rarely: they fail early). */
const KIND_WEIGHT: Record<FieldKind, number> = {
  count: 1,
  version: 1,
  strlen: 4,
  vtype: 3,
  itype: 2,
  arrlen: 3,
  scalar: 6,
  ndims: 2,
  ne: 4,
  ggmltype: 3,
  offset: 4,
};
const KIND_DRAW: FieldKind[] = FIELD_KINDS.flatMap((k) => Array<FieldKind>(KIND_WEIGHT[k]).fill(k));

const nat = (max: number) => fc.nat({ max });
const someBytes = fc.array(fc.oneof(fc.constantFrom(0, 0xff, 0x80, 0x7f), fc.nat({ max: 255 })), { minLength: 1, maxLength: 8 });

export const recordEditArb: fc.Arbitrary<RecordEdit> = fc.oneof(
  fc.record({
    op: fc.constantFrom("dupKv" as const, "dropKv" as const, "dupTensor" as const, "dropTensor" as const, "renameDupTensor" as const),
    i: nat(1 << 16),
  }),
  fc.record({ op: fc.constantFrom("swapKv" as const, "swapTensor" as const), i: nat(1 << 16), j: nat(1 << 16) }),
);

export const fieldEditArb: fc.Arbitrary<FieldEdit> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("field" as const),
      kind: nat(KIND_DRAW.length - 1),
      i: nat(1 << 16),
      mode: nat(7),
      pick: nat(1 << 20),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("dims" as const), i: nat(1 << 16), pick: nat(1 << 10) }) },
);

export const byteEditArb: fc.Arbitrary<ByteEdit> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant("truncate" as const), at: nat(1 << 20) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("flip" as const), header: fc.boolean(), at: nat(1 << 20), bit: nat(7) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constantFrom("set" as const, "insert" as const),
      header: fc.boolean(),
      at: nat(1 << 20),
      bytes: someBytes,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("delete" as const),
      header: fc.boolean(),
      at: nat(1 << 20),
      len: fc.integer({ min: 1, max: 16 }),
    }),
  },
);

export const fuzzCaseArb: fc.Arbitrary<FuzzCase> = fc.record({
  seed: nat(1 << 10),
  // Few edits per case: one broken field usually stops the parse, so stacking many hides the later ones.
  records: fc.array(recordEditArb, { maxLength: 1 }),
  fields: fc.array(fieldEditArb, { maxLength: 2 }),
  bytes: fc.array(byteEditArb, { maxLength: 2 }),
});

let layouts: Layout[] | undefined;
const layoutOf = (i: number): Layout => (layouts ??= fuzzSeeds().map((s) => parseLayout(s.bytes)))[i];

function applyRecord(l: Layout, e: RecordEdit): Layout {
  const kvs = [...l.kvs],
    tensors = [...l.tensors];
  const list = e.op.endsWith("Kv") ? kvs : tensors;
  if (list.length === 0) return l;
  const i = e.i % list.length;
  switch (e.op) {
    case "dupKv":
    case "dupTensor":
      list.splice(i, 0, list[i]);
      break;
    case "dropKv":
    case "dropTensor":
      list.splice(i, 1);
      break;
    case "swapKv":
    case "swapTensor": {
      const j = e.j % list.length;
      [list[i], list[j]] = [list[j], list[i]];
      break;
    }
    case "renameDupTensor": {
      // Same record with the name's last byte changed: a distinct tensor at the same offset.
      const copy = list[i].bytes.slice();
      const nameLen = Number(new DataView(copy.buffer).getBigUint64(0, true));
      if (nameLen > 0) copy[8 + nameLen - 1] ^= 0x01;
      list.splice(i + 1, 0, { bytes: copy, fields: list[i].fields });
      break;
    }
  }
  return { ...l, kvs, tensors };
}

function setField(b: Uint8Array, f: Field, v: bigint): void {
  if (f.at + f.width > b.length) return;
  const d = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const m = (1n << BigInt(8 * f.width)) - 1n;
  v &= m;
  if (f.width === 8) d.setBigUint64(f.at, v, true);
  else if (f.width === 4) d.setUint32(f.at, Number(v), true);
  else if (f.width === 2) d.setUint16(f.at, Number(v), true);
  else d.setUint8(f.at, Number(v));
}

function getField(b: Uint8Array, f: Field): bigint {
  const d = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (f.width === 8) return d.getBigUint64(f.at, true);
  if (f.width === 4) return BigInt(d.getUint32(f.at, true));
  if (f.width === 2) return BigInt(d.getUint16(f.at, true));
  return BigInt(d.getUint8(f.at));
}

/** The new value of a field: mode picks boundary / relative / cross-field / file-size / raw. */
function fieldValue(b: Uint8Array, fields: Field[], f: Field, mode: number, pick: number, alignment: number): bigint {
  const cur = getField(b, f);
  const sameKind = fields.filter((g) => g.kind === f.kind);
  const wide = f.width === 8;
  switch (mode) {
    case 0:
    case 1:
      if (f.kind === "scalar" && f.width >= 4 && pick % 3 === 0)
        return f.width === 4 ? BigInt(FLOAT_BITS_32[pick % FLOAT_BITS_32.length]) : FLOAT_BITS_64[pick % FLOAT_BITS_64.length];
      return wide ? U64_BOUNDARIES[pick % U64_BOUNDARIES.length] : BigInt(U32_BOUNDARIES[pick % U32_BOUNDARIES.length]);
    case 2:
      return cur + BigInt((pick % 129) - 64); // small step
    case 3:
      return cur + BigInt(((pick % 5) - 2) * alignment); // ± alignment
    case 4:
      return getField(b, sameKind[pick % sameKind.length]); // another field's value: overlapping offsets, equal lengths
    case 5:
      return BigInt(b.length) + BigInt((pick % 17) - 8); // around the file size
    case 6:
      return cur * 2n + BigInt(pick % 2);
    default:
      return (BigInt(pick) * 0x9e3779b97f4a7c15n) & ((1n << 64n) - 1n); // scrambled raw bits
  }
}

function applyField(b: Uint8Array, fields: Field[], e: FieldEdit, alignment: number): void {
  if (e.op === "dims") {
    // Every dim of one tensor set large: the product overflows int64 / 2^53 / the file.
    const dims = fields.filter((f) => f.kind === "ne");
    if (dims.length === 0) return;
    const start = dims[e.i % dims.length];
    const v = DIM_BOUNDARIES[e.pick % DIM_BOUNDARIES.length];
    for (const f of dims.filter((g) => g.at >= start.at && g.at < start.at + 32)) setField(b, f, v);
    return;
  }
  const kinds = KIND_DRAW.filter((k) => fields.some((f) => f.kind === k));
  const kind = kinds[e.kind % kinds.length];
  const of = fields.filter((f) => f.kind === kind);
  const f = of[e.i % of.length];
  setField(b, f, fieldValue(b, fields, f, e.mode, e.pick, alignment));
}

function applyByte(b: Uint8Array, e: ByteEdit, headerEnd: number): Uint8Array {
  if (e.op === "truncate") return b.slice(0, e.at % (b.length + 1));
  if (b.length === 0) return b;
  const at = e.at % (e.header ? Math.min(headerEnd, b.length) || b.length : b.length);
  switch (e.op) {
    case "flip":
      b[at] ^= 1 << e.bit;
      return b;
    case "set":
      b.set(e.bytes.slice(0, b.length - at), at);
      return b;
    case "insert": {
      const out = new Uint8Array(b.length + e.bytes.length);
      out.set(b.subarray(0, at));
      out.set(e.bytes, at);
      out.set(b.subarray(at), at + e.bytes.length);
      return out;
    }
    case "delete": {
      const n = Math.min(e.len, b.length - at);
      const out = new Uint8Array(b.length - n);
      out.set(b.subarray(0, at));
      out.set(b.subarray(at + n), at);
      return out;
    }
  }
}

/** The mutated file for a case. Deterministic: the same case always gives the same bytes. */
export function applyCase(c: FuzzCase): { seedName: string; bytes: Uint8Array } {
  const seeds = fuzzSeeds();
  const si = c.seed % seeds.length;
  let l = layoutOf(si);
  for (const e of c.records) l = applyRecord(l, e);
  const a = assemble(l);
  let b = a.bytes;
  for (const e of c.fields) applyField(b, a.fields, e, l.alignment);
  for (const e of c.bytes) b = applyByte(b, e, a.headerEnd);
  return { seedName: seeds[si].name, bytes: b };
}
