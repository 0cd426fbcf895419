/**
 * Element-wise dequantization written straight from the spec text (gguf.md §6.1-6.3), for the
 * layout tests. Deliberately not structured like src/quant (no shared code, one element at a
 * time, own fp16 decoding), so the two can catch each other's mistakes.
 */

const F = Math.fround;

/** binary16 by the IEEE definition. */
export function h2f(h: number): number {
  const s = h >> 15 ? -1 : 1,
    e = (h >> 10) & 31,
    m = h & 1023;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * Math.pow(2, -14) * (m / 1024) : s * Math.pow(2, e - 15) * (1 + m / 1024);
}

const u16 = (b: Uint8Array, o: number) => b[o]! + 256 * b[o + 1]!;
const u32 = (b: Uint8Array, o: number) => u16(b, o) + 65536 * u16(b, o + 2);
const s8 = (v: number) => (v >= 128 ? v - 256 : v);
const f16 = (b: Uint8Array, o: number) => h2f(u16(b, o));
function f32(b: Uint8Array, o: number): number {
  return new DataView(b.buffer, b.byteOffset).getFloat32(o, true);
}
const bit = (v: number, k: number) => Math.floor(v / 2 ** k) % 2;

export const KV = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** Low nibble of qs[j] for elements j < 16, high nibble of qs[j-16] for j >= 16. */
const nib32 = (b: Uint8Array, qs: number, e: number) => (e < 16 ? b[qs + e]! & 15 : b[qs + e - 16]! >> 4);

function q3Scale(b: Uint8Array, sc: number, j: number): number {
  const lo4 = j < 8 ? b[sc + j]! & 0xf : b[sc + j - 8]! >> 4;
  const hi2 = (b[sc + 8 + (j % 4)]! >> (2 * Math.floor(j / 4))) & 3;
  return (lo4 | (hi2 << 4)) - 32;
}

function scaleMinK4(b: Uint8Array, q: number, j: number): [number, number] {
  if (j < 4) return [b[q + j]! & 63, b[q + j + 4]! & 63];
  return [(b[q + j + 4]! & 0x0f) | ((b[q + j - 4]! >> 6) << 4), (b[q + j + 4]! >> 4) | ((b[q + j]! >> 6) << 4)];
}

/** Value of element e of the block starting at byte o, per the spec formula of `type`. */
export function specElement(type: string, b: Uint8Array, o: number, e: number): number {
  switch (type) {
    case "F32":
      return f32(b, o);
    case "F16":
      return f16(b, o);
    case "BF16":
      return new DataView(new Uint32Array([u16(b, o) * 65536]).buffer).getFloat32(0, true);
    case "Q4_0":
      return F((nib32(b, o + 2, e) - 8) * f16(b, o));
    case "Q4_1":
      return F(F(nib32(b, o + 4, e) * f16(b, o)) + f16(b, o + 2));
    case "Q5_0":
      return F(((nib32(b, o + 6, e) | (bit(u32(b, o + 2), e) << 4)) - 16) * f16(b, o));
    case "Q5_1":
      return F(F((nib32(b, o + 8, e) | (bit(u32(b, o + 4), e) << 4)) * f16(b, o)) + f16(b, o + 2));
    case "Q8_0":
      return F(s8(b[o + 2 + e]!) * f16(b, o));
    case "Q8_1":
      return F(s8(b[o + 4 + e]!) * f16(b, o));
    case "IQ4_NL":
      return F(f16(b, o) * KV[nib32(b, o + 2, e)]!);
    case "Q2_K": {
      const h = Math.floor(e / 128),
        j = Math.floor(e / 32) % 4,
        l = e % 32;
      const q = (b[o + 16 + 32 * h + l]! >> (2 * j)) & 3;
      const s = b[o + 8 * h + 2 * j + (l >= 16 ? 1 : 0)]!;
      const dl = F(f16(b, o + 80) * (s & 0xf)),
        ml = F(f16(b, o + 82) * (s >> 4));
      return F(F(dl * q) - ml);
    }
    case "Q3_K": {
      const h = Math.floor(e / 128),
        j = Math.floor(e / 32) % 4,
        l = e % 32;
      const q2 = (b[o + 32 + 32 * h + l]! >> (2 * j)) & 3;
      const hb = b[o + l]! & (1 << (4 * h + j));
      const q = q2 - (hb ? 0 : 4);
      const is = 8 * h + 2 * j + (l >= 16 ? 1 : 0);
      return F(F(f16(b, o + 108) * q3Scale(b, o + 96, is)) * q);
    }
    case "Q4_K":
    case "Q5_K": {
      const c = Math.floor(e / 64),
        r = e % 64,
        hiHalf = r >= 32,
        l = r % 32;
      const [sc, m] = scaleMinK4(b, o + 4, 2 * c + (hiHalf ? 1 : 0));
      const qs = type === "Q4_K" ? o + 16 : o + 48;
      let q = hiHalf ? b[qs + 32 * c + l]! >> 4 : b[qs + 32 * c + l]! & 0xf;
      if (type === "Q5_K" && b[o + 16 + l]! & ((hiHalf ? 2 : 1) << (2 * c))) q += 16;
      return F(F(F(f16(b, o) * sc) * q) - F(f16(b, o + 2) * m));
    }
    case "Q6_K": {
      const h = Math.floor(e / 128),
        k = Math.floor(e / 32) % 4,
        l = e % 32,
        is = Math.floor(l / 16);
      const L = o + 64 * h,
        H = o + 128 + 32 * h,
        S = o + 192 + 8 * h;
      const lo = [b[L + l]! & 0xf, b[L + l + 32]! & 0xf, b[L + l]! >> 4, b[L + l + 32]! >> 4][k]!;
      const hi = (b[H + l]! >> (2 * k)) & 3;
      return F(F(f16(b, o + 208) * s8(b[S + is + 2 * k]!)) * ((lo | (hi << 4)) - 32));
    }
    case "Q8_K":
      return F(f32(b, o) * s8(b[o + 4 + e]!));
    case "IQ4_XS": {
      const ib = Math.floor(e / 32),
        r = e % 32;
      const ls = ((b[o + 4 + Math.floor(ib / 2)]! >> (4 * (ib % 2))) & 0xf) | (((u16(b, o + 2) >> (2 * ib)) & 3) << 4);
      const dl = F(f16(b, o) * (ls - 32));
      return F(dl * KV[nib32(b, o + 8 + 16 * ib, r)]!);
    }
  }
  throw new Error(`no spec decoder for ${type}`);
}

/** Where each type keeps its f16 scale fields (byte offsets within the block) and its size. */
export const SPEC_LAYOUT: Record<string, { bytes: number; blockSize: number; f16: number[] }> = {
  F32: { bytes: 4, blockSize: 1, f16: [] },
  F16: { bytes: 2, blockSize: 1, f16: [] },
  BF16: { bytes: 2, blockSize: 1, f16: [] },
  Q4_0: { bytes: 2 + 16, blockSize: 32, f16: [0] },
  Q4_1: { bytes: 2 + 2 + 16, blockSize: 32, f16: [0, 2] },
  Q5_0: { bytes: 2 + 4 + 16, blockSize: 32, f16: [0] },
  Q5_1: { bytes: 2 + 2 + 4 + 16, blockSize: 32, f16: [0, 2] },
  Q8_0: { bytes: 2 + 32, blockSize: 32, f16: [0] },
  Q8_1: { bytes: 2 + 2 + 32, blockSize: 32, f16: [0, 2] },
  IQ4_NL: { bytes: 2 + 16, blockSize: 32, f16: [0] },
  Q2_K: { bytes: 16 + 64 + 2 + 2, blockSize: 256, f16: [80, 82] },
  Q3_K: { bytes: 32 + 64 + 12 + 2, blockSize: 256, f16: [108] },
  Q4_K: { bytes: 2 + 2 + 12 + 128, blockSize: 256, f16: [0, 2] },
  Q5_K: { bytes: 2 + 2 + 12 + 32 + 128, blockSize: 256, f16: [0, 2] },
  Q6_K: { bytes: 128 + 64 + 16 + 2, blockSize: 256, f16: [208] },
  Q8_K: { bytes: 4 + 256 + 32, blockSize: 256, f16: [] },
  IQ4_XS: { bytes: 2 + 2 + 4 + 128, blockSize: 256, f16: [0] },
};
