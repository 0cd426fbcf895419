/**
 * A GGUF ByteSource assembled on the fly: a real header (our writer) followed by tensor data that
 * exists only where given (the rest reads as zeros). It can claim tensors of many GiB without
 * holding them, and it logs which tensors' bytes were read, so tests can show a refusal came
 * before any tensor data was touched.
 */
import type { GGUFValue } from "../../src/gguf/keys.js";
import type { GGUFFile } from "../../src/gguf/reader.js";
import { checkRange, type ByteSource } from "../../src/gguf/source.js";
import { encodeGGUFHeader } from "../../src/gguf/writer.js";
import type { GGMLType } from "../../src/tensor/ggml-type.js";

export interface VirtualTensor {
  name: string;
  type: GGMLType;
  ne: readonly number[];
  /** The bytes; absent: zeros. */
  data?: Uint8Array;
}

export class VirtualGGUF implements ByteSource {
  readonly name = "virtual.gguf";
  readonly nBytes: number;
  private readonly header: Uint8Array;
  private readonly regions: { name: string; start: number; end: number; data?: Uint8Array }[] = [];
  /** Names of tensors some of whose bytes were read by a read that starts in the data section. */
  readonly touched = new Set<string>();
  /** Bytes handed out by read(). */
  bytesRead = 0;

  constructor(metadata: Iterable<[string, GGUFValue]>, tensors: VirtualTensor[]) {
    const { header, alignment, nBytes } = encodeGGUFHeader({
      metadata,
      tensors: tensors.map((t) => ({ ...t, data: () => new Uint8Array(0) })),
    });
    this.header = header;
    let at = header.byteLength;
    tensors.forEach((t, i) => {
      this.regions.push({ name: t.name, start: at, end: at + nBytes[i], data: t.data });
      at += Math.ceil(nBytes[i] / alignment) * alignment;
    });
    this.nBytes = at;
  }

  async read(byteOffset: number, nBytes: number): Promise<Uint8Array> {
    checkRange(this, byteOffset, nBytes);
    const end = byteOffset + nBytes;
    const out = new Uint8Array(nBytes);
    if (byteOffset < this.header.byteLength) out.set(this.header.subarray(byteOffset, Math.min(end, this.header.byteLength)));
    for (const r of this.regions) {
      const lo = Math.max(r.start, byteOffset),
        hi = Math.min(r.end, end);
      if (lo >= hi) continue;
      if (byteOffset >= this.header.byteLength) this.touched.add(r.name); // header reads run on into the data
      if (r.data) out.set(r.data.subarray(lo - r.start, hi - r.start), lo - byteOffset);
    }
    this.bytesRead += nBytes;
    return out;
  }
}

/** The metadata and tensors (with their bytes) of a parsed file, to rebuild edited variants. */
export async function tensorsOf(f: GGUFFile): Promise<VirtualTensor[]> {
  const out: VirtualTensor[] = [];
  for (const t of f.tensors)
    out.push({ name: t.name, type: t.type, ne: t.ne.slice(0, t.nDims), data: await t.source.read(t.byteOffset, t.nBytes) });
  return out;
}

export function metadataOf(f: GGUFFile, edits: Record<string, GGUFValue | undefined> = {}): [string, GGUFValue][] {
  const m = new Map(f.metadata);
  for (const [k, v] of Object.entries(edits)) v === undefined ? m.delete(k) : m.set(k, v);
  return [...m];
}
