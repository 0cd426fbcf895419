/**
 * Block layouts and dequantization vs the spec (gguf.md §6): blocks built byte by byte in the
 * test, expected values from test/helpers/spec-decode.ts (the spec formulas, written
 * independently of src/quant). Also the type table and the QUANT_TRAITS lookup.
 */
import { cpuTraits } from "../../src/kernels/cpu-traits.js";
import { NUMERICS } from "../../src/kernels/numerics.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { EmbedError } from "../../src/errors.js";
import { QUANT_TRAITS, quantTraits } from "../../src/quant/index.js";
import { Q4_0_BYTES, Q4_1_BYTES, Q5_0_BYTES, Q5_1_BYTES, Q8_0_BYTES, Q8_1_BYTES } from "../../src/quant/legacy.js";
import { Q2_K_BYTES, Q3_K_BYTES, Q4_K_BYTES, Q5_K_BYTES, Q6_K_BYTES, Q8_K_BYTES } from "../../src/quant/k-quants.js";
import { IQ4_NL_BYTES, IQ4_XS_BYTES } from "../../src/quant/iq4.js";
import { GGML_TYPES, GGMLType } from "../../src/tensor/ggml-type.js";
import { h2f, SPEC_LAYOUT, specElement } from "../helpers/spec-decode.js";
import { Lcg } from "../helpers/quant-data.js";

const SUPPORTED = [
  "F32",
  "F16",
  "BF16",
  "Q4_0",
  "Q4_1",
  "Q5_0",
  "Q5_1",
  "Q8_0",
  "Q8_1",
  "Q2_K",
  "Q3_K",
  "Q4_K",
  "Q5_K",
  "Q6_K",
  "Q8_K",
  "IQ4_NL",
  "IQ4_XS",
] as const;
const typeId = (name: string) => GGMLType[name as keyof typeof GGMLType];

function sameValue(got: number, want: number): boolean {
  return Number.isNaN(want) ? Number.isNaN(got) : Object.is(got, want) || (got === 0 && want === 0 && Object.is(got, want));
}

/** Run the dequantizer on `blocks` (at an unaligned offset, into an offset dst) and compare every element. */
function checkBlocks(type: string, blocks: Uint8Array, label: string): void {
  const { bytes, blockSize } = SPEC_LAYOUT[type]!;
  const nb = blocks.length / bytes;
  const pad = 3; // odd byte offset: multi-byte fields must be read byte-wise
  const buf = new Uint8Array(pad + blocks.length + 7).fill(0xa5);
  buf.set(blocks, pad);
  const dst = new Float32Array(5 + nb * blockSize).fill(-999);
  quantTraits(typeId(type)).dequantizeRow(buf, pad, dst, 5, nb * blockSize);
  for (let i = 0; i < 5; i++) assert.equal(dst[i], -999, `${type} ${label}: wrote before dstOffset`);
  for (let b = 0; b < nb; b++) {
    for (let e = 0; e < blockSize; e++) {
      const want = specElement(type, blocks, b * bytes, e);
      const got = dst[5 + b * blockSize + e]!;
      assert.ok(sameValue(got, want), `${type} ${label} block ${b} element ${e}: got ${got}, spec ${want}`);
    }
  }
}

// Interesting fp16 scales: normal, negative, awkward mantissa, subnormal, smallest, max, inf, -0.
const SCALES = [0x3800, 0xb400, 0x3555, 0x2e66, 0x0001, 0x03ff, 0x7bff, 0x7c00, 0xfc00, 0x8000, 0x1400];

test("dequantizers match the spec formulas on edge blocks built field by field", () => {
  for (const type of SUPPORTED) {
    const { bytes, f16 } = SPEC_LAYOUT[type]!;
    // (a) every quant byte 0xFF: max nibbles, all high bits / hmask / qh bits set, scales 63/-1
    // (b) every quant byte 0x00; (c) alternating 0x5A/0xA5 patterns; each with several d values
    for (const fill of [0xff, 0x00, 0x5a]) {
      for (let k = 0; k < SCALES.length; k++) {
        const blk = new Uint8Array(bytes);
        for (let i = 0; i < bytes; i++) blk[i] = fill === 0x5a ? (i % 2 ? 0x5a : 0xa5) : fill;
        for (const [n, off] of f16.entries()) {
          const h = SCALES[(k + 3 * n) % SCALES.length]!;
          blk[off] = h & 0xff;
          blk[off + 1] = h >> 8;
        }
        if (type === "Q8_K") new DataView(blk.buffer).setFloat32(0, k % 2 ? -0.0078125 : 3.0517578125e-5, true);
        if (type === "F32") new DataView(blk.buffer).setFloat32(0, -1.5 * k, true);
        checkBlocks(type, blk, `fill 0x${fill.toString(16)} d#${k}`);
      }
    }
  }
});

test("dequantizers match the spec formulas on random blocks (random quants, finite scales)", () => {
  const r = new Lcg(7);
  for (const type of SUPPORTED) {
    const { bytes, f16 } = SPEC_LAYOUT[type]!;
    const nb = 6;
    const blocks = new Uint8Array(bytes * nb);
    for (let i = 0; i < blocks.length; i++) blocks[i] = r.next() >>> 24;
    for (let b = 0; b < nb; b++) {
      for (const off of f16) {
        const h = (r.next() >>> 16) & 0xbfff; // exponent < 16: finite, any sign, subnormals included
        blocks[b * bytes + off] = h & 0xff;
        blocks[b * bytes + off + 1] = h >> 8;
      }
      if (type === "Q8_K") new DataView(blocks.buffer).setFloat32(b * bytes, (b - 2.5) / 1024, true);
      if (type === "F32") new DataView(blocks.buffer).setFloat32(b * bytes, Math.fround(b * 0.1 - 0.3), true);
    }
    checkBlocks(type, blocks, "random");
  }
});

test("hand-computed values: a few elements worked out on paper", () => {
  const deq = (type: string, blk: Uint8Array) => {
    const n = SPEC_LAYOUT[type]!.blockSize;
    const out = new Float32Array(n);
    quantTraits(typeId(type)).dequantizeRow(blk, 0, out, 0, n);
    return out;
  };
  // Q4_0, d = 0.5 (0x3800); qs[0] = 0x9F: x[0] = (15-8)·0.5 = 3.5, x[16] = (9-8)·0.5 = 0.5
  const q40 = new Uint8Array(18).fill(0x88);
  q40.set([0x00, 0x38, 0x9f], 0);
  const y40 = deq("Q4_0", q40);
  assert.equal(y40[0], 3.5);
  assert.equal(y40[16], 0.5);
  assert.equal(y40[1], 0);
  // Q5_0, d = -0.25 (0xB400); qh bit 31 set, qs[15] = 0xF0: x[31] = ((15 | 16) - 16)·-0.25 = -3.75; x[15] = (0 - 16)·-0.25 = 4
  const q50 = new Uint8Array(22);
  q50.set([0x00, 0xb4, 0, 0, 0, 0x80], 0);
  q50[6 + 15] = 0xf0;
  const y50 = deq("Q5_0", q50);
  assert.equal(y50[31], -3.75);
  assert.equal(y50[15], 4);
  // Q8_0 with a subnormal d = 2^-24 (0x0001): x = q·2^-24
  const q80 = new Uint8Array(34);
  q80.set([0x01, 0x00, 0x81, 0x7f], 0);
  const y80 = deq("Q8_0", q80);
  assert.equal(y80[0], -127 * 2 ** -24);
  assert.equal(y80[1], 127 * 2 ** -24);
  // Q8_0 with d = +inf: 0·inf = NaN, q·inf = ±inf
  q80.set([0x00, 0x7c], 0);
  const yInf = deq("Q8_0", q80);
  assert.equal(yInf[0], -Infinity);
  assert.ok(Number.isNaN(yInf[2]!));
  // Q6_K: d = 1 (0x3C00), scales[0] = -128 (0x80), ql[0] = 0x0F, qh[0] = 0x03 -> q1 = 63 - 32 = 31: x[0] = -128·31
  const q6 = new Uint8Array(210);
  q6[0] = 0x0f;
  q6[128] = 0x03;
  q6[192] = 0x80;
  q6[208] = 0x00;
  q6[209] = 0x3c;
  assert.equal(deq("Q6_K", q6)[0], -3968);
  // Q4_K: d = 1, dmin = 0.5, scale/min pair 0 = (63, 2), qs[0] = 0x0F: x[0] = 63·15 − 0.5·2 = 944
  const q4k = new Uint8Array(144);
  q4k.set([0x00, 0x3c, 0x00, 0x38], 0);
  q4k[4] = 63;
  q4k[8] = 2;
  q4k[16] = 0x0f;
  assert.equal(deq("Q4_K", q4k)[0], 944);
  // IQ4_XS, d = 1: scales_l[0] = 0x0F -> ls0 = 15 (factor -17), ls1 = 0 (factor -32);
  // scales_h = 0x0030 and scales_l[1] = 0x01 -> ls2 = 1 | 3 << 4 = 49 (factor 17); qs = 0 -> K[0] = -127
  const iq = new Uint8Array(136);
  iq.set([0x00, 0x3c, 0x30, 0x00, 0x0f, 0x01], 0);
  iq[8 + 32] = 0x0f; // sub-block 2, element 64: low nibble 15 -> K[15] = 113
  const yiq = deq("IQ4_XS", iq);
  assert.equal(yiq[0], -17 * -127);
  assert.equal(yiq[32], -32 * -127);
  assert.equal(yiq[64], 17 * 113);
  assert.equal(yiq[80], 17 * -127);
  assert.equal(h2f(0x3555), 0.333251953125);
});

test("type table: typeSize = spec field sums = src layout constants; dequantizers stride exactly typeSize", () => {
  const constants: Record<string, number> = {
    Q4_0: Q4_0_BYTES,
    Q4_1: Q4_1_BYTES,
    Q5_0: Q5_0_BYTES,
    Q5_1: Q5_1_BYTES,
    Q8_0: Q8_0_BYTES,
    Q8_1: Q8_1_BYTES,
    Q2_K: Q2_K_BYTES,
    Q3_K: Q3_K_BYTES,
    Q4_K: Q4_K_BYTES,
    Q5_K: Q5_K_BYTES,
    Q6_K: Q6_K_BYTES,
    Q8_K: Q8_K_BYTES,
    IQ4_NL: IQ4_NL_BYTES,
    IQ4_XS: IQ4_XS_BYTES,
  };
  const specTable: Record<string, number> = {
    // gguf.md §6 table
    F32: 4,
    F16: 2,
    BF16: 2,
    Q4_0: 18,
    Q4_1: 20,
    Q5_0: 22,
    Q5_1: 24,
    Q8_0: 34,
    Q8_1: 36,
    Q2_K: 84,
    Q3_K: 110,
    Q4_K: 144,
    Q5_K: 176,
    Q6_K: 210,
    Q8_K: 292,
    IQ4_NL: 18,
    IQ4_XS: 136,
  };
  assert.deepEqual([...QUANT_TRAITS.values()].map((t) => t.name).sort(), [...SUPPORTED].sort());
  for (const type of SUPPORTED) {
    const t = GGML_TYPES.get(typeId(type))!;
    const spec = SPEC_LAYOUT[type]!;
    assert.equal(t.typeSize, spec.bytes, `${type} typeSize vs field sum`);
    assert.equal(t.typeSize, specTable[type], `${type} typeSize vs spec table`);
    assert.equal(t.blockSize, spec.blockSize, `${type} blockSize`);
    if (constants[type] !== undefined) assert.equal(constants[type], t.typeSize, `${type} layout constant`);
    // stride: 3 blocks decoded together == each decoded alone at k·typeSize; bytes after the row are never read
    const r = new Lcg(99);
    const blocks = new Uint8Array(3 * t.typeSize + 64);
    for (let i = 0; i < blocks.length; i++) blocks[i] = r.next() >>> 24;
    const deq = quantTraits(typeId(type)).dequantizeRow;
    const all = new Float32Array(3 * t.blockSize);
    deq(blocks, 0, all, 0, 3 * t.blockSize);
    for (let k = 0; k < 3; k++) {
      const one = new Float32Array(t.blockSize);
      deq(blocks.slice(k * t.typeSize, (k + 1) * t.typeSize), 0, one, 0, t.blockSize);
      for (let e = 0; e < t.blockSize; e++) assert.ok(sameValue(all[k * t.blockSize + e]!, one[e]!), `${type} block ${k} element ${e}`);
    }
    blocks.fill(0x77, 3 * t.typeSize);
    const again = new Float32Array(3 * t.blockSize);
    deq(blocks, 0, again, 0, 3 * t.blockSize);
    for (let e = 0; e < again.length; e++) assert.ok(sameValue(again[e]!, all[e]!), `${type} read past its row`);
  }
});

test("QUANT_TRAITS / CPU_TRAITS: vec_dot types follow ggml-cpu.c type_traits_cpu", () => {
  const T = GGMLType;
  const want: Array<[GGMLType, GGMLType]> = [
    [T.F32, T.F32],
    [T.F16, T.F16],
    [T.BF16, T.BF16],
    [T.Q4_0, T.Q8_0],
    [T.Q5_0, T.Q8_0],
    [T.Q8_0, T.Q8_0],
    [T.IQ4_NL, T.Q8_0],
    [T.Q4_1, T.Q8_1],
    [T.Q5_1, T.Q8_1],
    [T.Q2_K, T.Q8_K],
    [T.Q3_K, T.Q8_K],
    [T.Q4_K, T.Q8_K],
    [T.Q5_K, T.Q8_K],
    [T.Q6_K, T.Q8_K],
    [T.IQ4_XS, T.Q8_K],
  ];
  for (const nx of NUMERICS) {
    for (const [w, a] of want) {
      const tr = quantTraits(w),
        ct = cpuTraits(w, nx);
      assert.equal(ct.vecDotType, a, tr.name);
      assert.equal(typeof ct.vecDot, "function", `${tr.name} vecDot`);
      assert.equal(typeof tr.quantizeRow, "function", `${tr.name} quantizeRow`);
      assert.equal(typeof cpuTraits(a, nx).fromFloat, "function", `${quantTraits(a).name} fromFloat`);
    }
  }
});

test("quantTraits: unsupported types throw UNSUPPORTED_TYPE naming the type and the tensor", () => {
  const cases: Array<[number, string]> = [
    [GGMLType.IQ2_XXS, "IQ2_XXS"],
    [GGMLType.IQ3_S, "IQ3_S"],
    [GGMLType.TQ2_0, "TQ2_0"],
    [GGMLType.I32, "I32"],
    [99, "type#99"],
  ];
  for (const [id, name] of cases) {
    assert.throws(
      () => quantTraits(id, "blk.0.attn_q.weight"),
      (e: unknown) =>
        e instanceof EmbedError &&
        e.code === "UNSUPPORTED_TYPE" &&
        e.message.includes(name) &&
        e.message.includes("blk.0.attn_q.weight") &&
        e.detail.tensor === "blk.0.attn_q.weight",
    );
    assert.throws(
      () => quantTraits(id),
      (e: unknown) => e instanceof EmbedError && e.code === "UNSUPPORTED_TYPE" && e.message.includes(name) && !e.message.includes("tensor"),
    );
  }
});
