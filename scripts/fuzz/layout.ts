/**
 * The fuzzer's own view of a *valid* GGUF: records and the byte position of every length, count,
 * type id, dim and offset field, so mutations can aim at fields instead of hoping a bit flip lands
 * on one. Deliberately independent of src/gguf/reader.ts (it is the code under test); it only has
 * to walk the seeds, which are well-formed. ref: shared/spec/gguf.md §2.
 */

export type FieldKind =
  | "count" // n_tensors, n_kv (u64)
  | "version" // u32
  | "strlen" // u64 length of a key, string value, array string element or tensor name
  | "vtype" // u32 metadata value type
  | "itype" // u32 array element type
  | "arrlen" // u64 array element count
  | "scalar" // a fixed-size metadata value (width 1, 2, 4 or 8)
  | "ndims" // u32
  | "ne" // u64 dim
  | "ggmltype" // u32 tensor type id
  | "offset"; // u64 tensor data offset

export const FIELD_KINDS: readonly FieldKind[] = [
  "count",
  "version",
  "strlen",
  "vtype",
  "itype",
  "arrlen",
  "scalar",
  "ndims",
  "ne",
  "ggmltype",
  "offset",
];

export interface Field {
  kind: FieldKind;
  /** byte position (relative to its record while in a Rec, absolute in an Assembled file) */
  at: number;
  width: 1 | 2 | 4 | 8;
}

export interface Rec {
  bytes: Uint8Array;
  fields: Field[];
}

export interface Layout {
  version: number;
  alignment: number;
  kvs: Rec[];
  tensors: Rec[];
  /** Everything from the data section start to the end of the file (may be cut short). */
  data: Uint8Array;
}

const SCALAR_WIDTH: Record<number, 1 | 2 | 4 | 8> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

export function parseLayout(b: Uint8Array): Layout {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = 0;
  const u32 = () => {
    const x = v.getUint32(p, true);
    p += 4;
    return x;
  };
  const u64 = () => {
    const x = Number(v.getBigUint64(p, true));
    p += 8;
    return x;
  };
  const str = (fields: Field[], start: number) => {
    fields.push({ kind: "strlen", at: p - start, width: 8 });
    const n = u64();
    const s = new TextDecoder().decode(b.subarray(p, p + n));
    p += n;
    return s;
  };
  p = 4;
  const version = u32();
  const nTensors = u64();
  const nKv = u64();
  let alignment = 32;
  const kvs: Rec[] = [];
  for (let i = 0; i < nKv; i++) {
    const start = p;
    const fields: Field[] = [];
    const key = str(fields, start);
    fields.push({ kind: "vtype", at: p - start, width: 4 });
    const type = u32();
    if (type === 8) str(fields, start);
    else if (type === 9) {
      fields.push({ kind: "itype", at: p - start, width: 4 });
      const it = u32();
      fields.push({ kind: "arrlen", at: p - start, width: 8 });
      const n = u64();
      for (let j = 0; j < n; j++) {
        if (it === 8) str(fields, start);
        else p += SCALAR_WIDTH[it];
      }
    } else {
      if (key === "general.alignment") alignment = v.getUint32(p, true);
      fields.push({ kind: "scalar", at: p - start, width: SCALAR_WIDTH[type] });
      p += SCALAR_WIDTH[type];
    }
    kvs.push({ bytes: b.slice(start, p), fields });
  }
  const tensors: Rec[] = [];
  for (let i = 0; i < nTensors; i++) {
    const start = p;
    const fields: Field[] = [];
    str(fields, start);
    fields.push({ kind: "ndims", at: p - start, width: 4 });
    const nd = u32();
    for (let d = 0; d < nd; d++) {
      fields.push({ kind: "ne", at: p - start, width: 8 });
      p += 8;
    }
    fields.push({ kind: "ggmltype", at: p - start, width: 4 }, { kind: "offset", at: p + 4 - start, width: 8 });
    p += 12;
    tensors.push({ bytes: b.slice(start, p), fields });
  }
  const dataStart = Math.ceil(p / alignment) * alignment;
  return { version, alignment, kvs, tensors, data: b.slice(Math.min(dataStart, b.length)) };
}

export interface Assembled {
  bytes: Uint8Array;
  fields: Field[];
  /** End of the tensor infos: byte edits aimed at the header stay below this. */
  headerEnd: number;
}

/** Header + records + zero padding to the alignment + data, with absolute field positions. */
export function assemble(l: Layout): Assembled {
  const fields: Field[] = [
    { kind: "version", at: 4, width: 4 },
    { kind: "count", at: 8, width: 8 },
    { kind: "count", at: 16, width: 8 },
  ];
  let n = 24;
  for (const r of [...l.kvs, ...l.tensors]) {
    for (const f of r.fields) fields.push({ ...f, at: n + f.at });
    n += r.bytes.length;
  }
  const headerEnd = n;
  const dataStart = Math.ceil(n / l.alignment) * l.alignment;
  const out = new Uint8Array(dataStart + l.data.length);
  const v = new DataView(out.buffer);
  out.set([0x47, 0x47, 0x55, 0x46]);
  v.setUint32(4, l.version, true);
  v.setBigUint64(8, BigInt(l.tensors.length), true);
  v.setBigUint64(16, BigInt(l.kvs.length), true);
  n = 24;
  for (const r of [...l.kvs, ...l.tensors]) {
    out.set(r.bytes, n);
    n += r.bytes.length;
  }
  out.set(l.data, dataStart);
  return { bytes: out, fields, headerEnd };
}
