/** A tiny hand-rolled GGUF byte builder for tests, independent of src/gguf/writer.ts. */
export class Bytes {
  private parts: number[] = [];
  get length(): number {
    return this.parts.length;
  }
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u32(v: number): this {
    for (let i = 0; i < 4; i++) this.parts.push((v >>> (8 * i)) & 0xff);
    return this;
  }
  u64(v: bigint | number): this {
    let b = BigInt(v);
    for (let i = 0; i < 8; i++) {
      this.parts.push(Number(b & 0xffn));
      b >>= 8n;
    }
    return this;
  }
  f32(v: number): this {
    const d = new DataView(new ArrayBuffer(4));
    d.setFloat32(0, v, true);
    for (let i = 0; i < 4; i++) this.parts.push(d.getUint8(i));
    return this;
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    b.forEach((x) => this.parts.push(x));
    return this;
  }
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.parts.push(b[i]);
    return this;
  }
  padTo(align: number): this {
    while (this.parts.length % align) this.parts.push(0);
    return this;
  }
  toUint8Array(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** GGUF header: magic, version, n_tensors, n_kv. */
export function header(b: Bytes, nTensors: bigint | number, nKv: bigint | number, version = 3): Bytes {
  return b.raw([0x47, 0x47, 0x55, 0x46]).u32(version).u64(nTensors).u64(nKv);
}

/** A tensor info record. */
export function tensorInfo(b: Bytes, name: string, ne: (number | bigint)[], type: number, offset: number | bigint): Bytes {
  b.str(name).u32(ne.length);
  for (const d of ne) b.u64(d);
  return b.u32(type).u64(offset);
}
