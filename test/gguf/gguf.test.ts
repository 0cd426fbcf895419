import { test } from "node:test";
import assert from "node:assert/strict";
import { readGGUF } from "../../src/gguf/reader.js";
import { ArrayBufferSource, BlobSource } from "../../src/gguf/source.js";
import { encodeGGUFToBuffer } from "../../src/gguf/writer.js";
import { GGUFValueType, kv, getUint, getString, getFloat, getBool } from "../../src/gguf/keys.js";
import { readGGUFParts, splitPartNames } from "../../src/gguf/split.js";
import { EmbedError } from "../../src/errors.js";
import { GGMLType, GGML_TYPES, rowBytes } from "../../src/tensor/ggml-type.js";
import { Bytes, header, tensorInfo } from "../helpers/bytes.js";
import { rejects } from "../helpers/embed-error.js";

const src = (b: Uint8Array | Bytes) => new ArrayBufferSource(b instanceof Bytes ? b.toUint8Array() : b, "test.gguf");

/** A small valid v3 file: 3 KVs (u32, string, f32 array) and two F32 tensors. */
function smallFile(): Uint8Array {
  const b = header(new Bytes(), 2, 4);
  b.str("general.architecture").u32(GGUFValueType.STRING).str("test");
  b.str("test.n").u32(GGUFValueType.UINT32).u32(7);
  b.str("test.arr").u32(GGUFValueType.ARRAY).u32(GGUFValueType.FLOAT32).u64(3).f32(1).f32(2).f32(3);
  b.str("test.strs").u32(GGUFValueType.ARRAY).u32(GGUFValueType.STRING).u64(2).str("a").str("▁b");
  tensorInfo(b, "t0", [4, 2], GGMLType.F32, 0);
  tensorInfo(b, "t1", [8], GGMLType.F32, 32);
  b.padTo(32);
  for (let i = 0; i < 8; i++) b.f32(i);
  for (let i = 0; i < 8; i++) b.f32(-i);
  return b.toUint8Array();
}

test("reads a hand-built v3 file: metadata, tensor infos, data offset", async () => {
  const bytes = smallFile();
  const f = await readGGUF(src(bytes));
  assert.equal(f.version, 3);
  assert.equal(f.alignment, 32);
  assert.equal(getString(f.metadata, "general.architecture"), "test");
  assert.equal(getUint(f.metadata, "test.n"), 7);
  const arr = f.metadata.get("test.arr")!;
  assert.equal(arr.type, GGUFValueType.ARRAY);
  assert.deepEqual(Array.from(arr.value as Float32Array), [1, 2, 3]);
  assert.deepEqual(f.metadata.get("test.strs")!.value, ["a", "▁b"]);
  assert.equal(f.tensors.length, 2);
  assert.deepEqual(f.tensors[0].ne, [4, 2, 1, 1]);
  assert.equal(f.tensors[0].nBytes, 32);
  assert.equal(f.dataOffset % 32, 0);
  assert.equal(f.tensors[1].byteOffset, f.dataOffset + 32);
  const data = new Float32Array((await f.tensors[1].source.read(f.tensors[1].byteOffset, 32)).slice().buffer);
  assert.deepEqual(Array.from(data), [-0, -1, -2, -3, -4, -5, -6, -7]);
});

test("reads version 2 files (same layout)", async () => {
  const bytes = smallFile();
  bytes[4] = 2;
  assert.equal((await readGGUF(src(bytes))).version, 2);
});

test("Blob source reads the same as ArrayBuffer source", async () => {
  const bytes = smallFile();
  const f = await readGGUF(new BlobSource(new Blob([bytes.slice().buffer as ArrayBuffer])));
  assert.equal(f.tensors.length, 2);
  assert.equal(getUint(f.metadata, "test.n"), 7);
});

test("writer round-trips every metadata value type and tensor bytes", async () => {
  const meta: [string, ReturnType<typeof kv.u8>][] = [
    ["a.u8", kv.u8(250)],
    ["a.i8", kv.i8(-5)],
    ["a.u16", kv.u16(65000)],
    ["a.i16", kv.i16(-30000)],
    ["a.u32", kv.u32(4000000000)],
    ["a.i32", kv.i32(-2000000000)],
    ["a.f32", kv.f32(1.5)],
    ["a.bool", kv.bool(true)],
    ["a.str", kv.str("héllo ▁ 🦙")],
    ["a.u64", kv.u64(2n ** 60n)],
    ["a.i64", kv.i64(-(2n ** 60n))],
    ["a.f64", kv.f64(Math.PI)],
    ["a.strs", kv.strs(["", "x", "yz"])],
    ["a.f32s", kv.f32s(Float32Array.of(0.5, -2))],
    ["a.i32s", kv.i32s(Int32Array.of(-1, 2, 3))],
    ["a.bools", kv.bools(Uint8Array.of(1, 0))],
  ];
  const t0 = new Uint8Array(34 * 2).map((_, i) => i);
  const bytes = encodeGGUFToBuffer({
    metadata: meta,
    tensors: [
      { name: "q", type: GGMLType.Q8_0, ne: [64], data: t0 },
      { name: "r", type: GGMLType.F32, ne: [3, 1], data: new Uint8Array(12).fill(7) },
    ],
  });
  const f = await readGGUF(src(bytes));
  for (const [k, v] of meta) {
    const got = f.metadata.get(k)!;
    assert.equal(got.type, v.type, k);
    if (v.type === GGUFValueType.ARRAY)
      assert.deepEqual(Array.from(got.value as ArrayLike<unknown>), Array.from(v.value as ArrayLike<unknown>), k);
    else if (v.type === GGUFValueType.FLOAT32) assert.equal(got.value, Math.fround(v.value as number));
    else assert.equal(got.value, v.value, k);
  }
  assert.equal(f.tensors[0].type, GGMLType.Q8_0);
  assert.equal(f.tensors[1].offset, 96); // 68 bytes padded to 96
  assert.deepEqual(await f.tensors[0].source.read(f.tensors[0].byteOffset, 68), t0);
});

test("typed getters check types and report the key", async () => {
  const f = await readGGUF(src(smallFile()));
  assert.throws(
    () => getUint(f.metadata, "general.architecture"),
    (e: EmbedError) => e.code === "GGUF_KEY_TYPE" && /general\.architecture/.test(e.message),
  );
  assert.throws(
    () => getFloat(f.metadata, "missing.key"),
    (e: EmbedError) => e.code === "GGUF_KEY_MISSING" && /missing\.key/.test(e.message),
  );
  assert.equal(getBool(f.metadata, "missing.key", true), true);
});

test("truncation anywhere (header, key, value, array, tensor info, padding, data) is a clean EmbedError", async () => {
  const bytes = smallFile();
  for (let n = 0; n < bytes.length; n++) {
    let err: unknown;
    try {
      await readGGUF(src(bytes.subarray(0, n)));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof EmbedError, `cut at ${n}: expected EmbedError, got ${String(err)}`);
    assert.ok(["GGUF_TRUNCATED", "GGUF_LIMIT", "GGUF_BAD_OFFSET"].includes(err.code), `cut at ${n}: ${err.code} ${err.message}`);
    assert.match(err.message, /offset \d+|at \d+/, `cut at ${n}: ${err.message}`);
  }
});

test("wrong magic, version 1, future versions and big-endian files are rejected", async () => {
  const bytes = smallFile();
  const bad = bytes.slice();
  bad[0] = 0x46;
  await rejects(readGGUF(src(bad)), "GGUF_BAD_MAGIC", /magic/);
  const v1 = bytes.slice();
  v1[4] = 1;
  await rejects(readGGUF(src(v1)), "GGUF_BAD_VERSION", /version 1/);
  const v4 = bytes.slice();
  v4[4] = 4;
  await rejects(readGGUF(src(v4)), "GGUF_BAD_VERSION", /version 4/);
  const be = bytes.slice();
  be.set([0, 0, 0, 3], 4); // version 3 stored big-endian
  await rejects(readGGUF(src(be)), "GGUF_BIG_ENDIAN", /byte-swapped/);
});

test("absurd counts are rejected before allocating", async () => {
  await rejects(readGGUF(src(header(new Bytes(), 2n ** 63n, 0))), "GGUF_LIMIT", /tensor count/);
  await rejects(readGGUF(src(header(new Bytes(), 0, 2n ** 62n))), "GGUF_LIMIT", /metadata count/);
  const longStr = header(new Bytes(), 0, 1)
    .u64(2n ** 60n)
    .raw(new Uint8Array(100));
  await rejects(readGGUF(src(longStr)), "GGUF_LIMIT", /length of key/);
  const hugeArr = header(new Bytes(), 0, 1)
    .str("k")
    .u32(GGUFValueType.ARRAY)
    .u32(GGUFValueType.UINT8)
    .u64(2n ** 50n);
  await rejects(readGGUF(src(hugeArr.raw(new Uint8Array(100)))), "GGUF_LIMIT", /array "k"/);
  const hugeStrArr = header(new Bytes(), 0, 1)
    .str("k")
    .u32(GGUFValueType.ARRAY)
    .u32(GGUFValueType.STRING)
    .u64(2n ** 50n);
  await rejects(readGGUF(src(hugeStrArr.raw(new Uint8Array(100)))), "GGUF_LIMIT", /array "k"/);
});

test("a 1 KB file claiming 2^40 elements is rejected without allocating", async () => {
  const b = header(new Bytes(), 1, 0);
  tensorInfo(b, "huge", [2 ** 20, 2 ** 20], GGMLType.F32, 0);
  b.padTo(32).raw(new Uint8Array(1024 - b.length - 0 > 0 ? 1024 - b.length : 0));
  const bytes = b.toUint8Array();
  assert.ok(bytes.length <= 1024);
  const before = process.memoryUsage().arrayBuffers;
  await rejects(readGGUF(src(bytes)), "GGUF_BAD_OFFSET", /"huge".*past the end/);
  assert.ok(process.memoryUsage().arrayBuffers - before < 8 << 20, "no large allocation");
});

test("duplicate keys and tensor names are rejected", async () => {
  const dk = header(new Bytes(), 0, 2).str("k").u32(GGUFValueType.UINT8).u8(1).str("k").u32(GGUFValueType.UINT8).u8(2);
  await rejects(readGGUF(src(dk)), "GGUF_DUPLICATE_KEY", /"k"/);
  const dt = header(new Bytes(), 2, 0);
  tensorInfo(dt, "t", [8], GGMLType.F32, 0);
  tensorInfo(dt, "t", [8], GGMLType.F32, 32);
  await rejects(readGGUF(src(dt.padTo(32).raw(new Uint8Array(64)))), "GGUF_DUPLICATE_TENSOR", /"t"/);
});

test("bad alignment, value types, dims and type ids are rejected", async () => {
  const al = header(new Bytes(), 0, 1).str("general.alignment").u32(GGUFValueType.UINT32).u32(48);
  await rejects(readGGUF(src(al)), "GGUF_BAD_ALIGNMENT", /power of two/);
  const vt = header(new Bytes(), 0, 1).str("k").u32(13).u32(0);
  await rejects(readGGUF(src(vt)), "GGUF_BAD_VALUE_TYPE", /"k".*type 13/);
  const nested = header(new Bytes(), 0, 1).str("k").u32(GGUFValueType.ARRAY).u32(GGUFValueType.ARRAY).u64(1);
  await rejects(readGGUF(src(nested.raw(new Uint8Array(16)))), "GGUF_BAD_VALUE_TYPE", /nested/);
  const nd = header(new Bytes(), 1, 0);
  tensorInfo(nd, "t", [1, 1, 1, 1, 1], GGMLType.F32, 0);
  await rejects(readGGUF(src(nd.raw(new Uint8Array(64)))), "GGUF_BAD_TENSOR", /"t" has 5 dimensions/);
  for (const id of [4, 5, 31, 36, 40, 99]) {
    const ty = header(new Bytes(), 1, 0);
    tensorInfo(ty, "w", [32], id, 0);
    await rejects(readGGUF(src(ty.padTo(32).raw(new Uint8Array(256)))), "UNSUPPORTED_TYPE", new RegExp(`"w".*type id ${id}`));
  }
  const blk = header(new Bytes(), 1, 0);
  tensorInfo(blk, "q", [33], GGMLType.Q8_0, 0);
  await rejects(readGGUF(src(blk.padTo(32).raw(new Uint8Array(64)))), "GGUF_BAD_TENSOR", /"q".*block size 32/);
  const neg = header(new Bytes(), 1, 0);
  tensorInfo(neg, "n", [-1n & 0xffffffffffffffffn], GGMLType.F32, 0);
  await rejects(readGGUF(src(neg.padTo(32).raw(new Uint8Array(64)))), "GGUF_BAD_TENSOR", /negative/);
  const ov = header(new Bytes(), 1, 0);
  tensorInfo(ov, "o", [2 ** 31, 2 ** 31, 2 ** 31], GGMLType.F32, 0);
  await rejects(readGGUF(src(ov.padTo(32).raw(new Uint8Array(64)))), "GGUF_LIMIT", /"o".*overflows/);
  const longName = header(new Bytes(), 1, 0);
  tensorInfo(longName, "x".repeat(64), [8], GGMLType.F32, 0);
  await rejects(readGGUF(src(longName.padTo(32).raw(new Uint8Array(64)))), "GGUF_BAD_TENSOR", /64 bytes/);
});

test("misaligned, overlapping and out-of-file tensor ranges are rejected", async () => {
  const mk = (offsets: number[], dataBytes: number) => {
    const b = header(new Bytes(), offsets.length, 0);
    offsets.forEach((o, i) => tensorInfo(b, `t${i}`, [16], GGMLType.F32, o));
    return src(b.padTo(32).raw(new Uint8Array(dataBytes)));
  };
  await rejects(readGGUF(mk([4], 128)), "GGUF_BAD_OFFSET", /"t0".*not a multiple of the alignment 32/);
  await rejects(readGGUF(mk([0, 32], 128)), "GGUF_BAD_OFFSET", /"t1".*overlaps tensor "t0"/);
  await rejects(readGGUF(mk([0, 64], 100)), "GGUF_BAD_OFFSET", /"t1".*past the end/);
  await rejects(readGGUF(mk([2 ** 40], 64)), "GGUF_BAD_OFFSET", /"t0"/);
});

test("type table sizes follow ggml's block structs", () => {
  assert.equal(GGML_TYPES.size, 32);
  const expect: Record<string, [number, number]> = {
    F32: [1, 4],
    F16: [1, 2],
    Q4_0: [32, 18],
    Q4_1: [32, 20],
    Q5_0: [32, 22],
    Q5_1: [32, 24],
    Q8_0: [32, 34],
    Q8_1: [32, 36],
    Q2_K: [256, 84],
    Q3_K: [256, 110],
    Q4_K: [256, 144],
    Q5_K: [256, 176],
    Q6_K: [256, 210],
    Q8_K: [256, 292],
    IQ2_XXS: [256, 66],
    IQ2_XS: [256, 74],
    IQ3_XXS: [256, 98],
    IQ1_S: [256, 50],
    IQ4_NL: [32, 18],
    IQ3_S: [256, 110],
    IQ2_S: [256, 82],
    IQ4_XS: [256, 136],
    I8: [1, 1],
    I16: [1, 2],
    I32: [1, 4],
    I64: [1, 8],
    F64: [1, 8],
    IQ1_M: [256, 56],
    BF16: [1, 2],
    TQ1_0: [256, 54],
    TQ2_0: [256, 66],
    MXFP4: [32, 17],
  };
  for (const t of GGML_TYPES.values()) assert.deepEqual([t.blockSize, t.typeSize], expect[t.name], t.name);
  assert.equal(rowBytes(GGMLType.Q4_K, 768), 3 * 144);
  assert.throws(
    () => rowBytes(GGMLType.Q4_K, 1152),
    (e: EmbedError) => e.code === "TENSOR_SHAPE",
  );
});

test("split files load as one model and are cross-checked", async () => {
  assert.deepEqual(splitPartNames("m-00002-of-00003.gguf"), ["m-00001-of-00003.gguf", "m-00002-of-00003.gguf", "m-00003-of-00003.gguf"]);
  assert.equal(splitPartNames("m.gguf"), undefined);
  const part = (no: number, names: string[], extra: [string, ReturnType<typeof kv.u8>][] = []) =>
    new ArrayBufferSource(
      encodeGGUFToBuffer({
        metadata: [["split.no", kv.u16(no)], ["split.count", kv.u16(2)], ["split.tensors.count", kv.i32(3)], ...extra],
        tensors: names.map((name) => ({ name, type: GGMLType.F32, ne: [4], data: new Uint8Array(16).fill(no + 1) })),
      }),
      `part${no}`,
    );
  const m = await readGGUFParts([part(0, ["a", "b"], [["general.architecture", kv.str("x")]]), part(1, ["c"])]);
  assert.deepEqual(
    m.tensors.map((t) => t.name),
    ["a", "b", "c"],
  );
  assert.equal(m.tensorByName.get("c")!.source.name, "part1");
  assert.deepEqual(await m.tensorByName.get("c")!.source.read(m.tensorByName.get("c")!.byteOffset, 4), new Uint8Array(4).fill(2));
  await rejects(readGGUFParts([part(0, ["a", "b"])]), "GGUF_BAD_SPLIT", /split\.count is 2 but 1/);
  await rejects(readGGUFParts([part(0, ["a", "b"]), part(1, ["b"])]), "GGUF_DUPLICATE_TENSOR", /"b"/);
  await rejects(readGGUFParts([part(1, ["a", "b"]), part(0, ["c"])]), "GGUF_BAD_SPLIT", /split\.no is 1, expected 0/);
});

test("writer grows its header buffer correctly past 64 KiB of metadata", async () => {
  const strs = Array.from({ length: 20000 }, (_, i) => `token_${i}_▁`);
  const bytes = encodeGGUFToBuffer({
    metadata: [
      ["a.strs", kv.strs(strs)],
      ["a.after", kv.u32(42)],
    ],
    tensors: [{ name: "t", type: GGMLType.F32, ne: [2], data: new Uint8Array(8).fill(3) }],
  });
  const f = await readGGUF(src(bytes));
  assert.deepEqual(f.metadata.get("a.strs")!.value, strs);
  assert.equal(getUint(f.metadata, "a.after"), 42);
  assert.deepEqual(await f.tensors[0].source.read(f.tensors[0].byteOffset, 8), new Uint8Array(8).fill(3));
});

test("hostile-input hardening: per-dim size, raw name length, record caps (found by fuzzing / parse-time DoS)", async () => {
  // ne = [0, 2^62]: the element count is 0, but ne[1] alone is not a safe integer
  const zeroDim = header(new Bytes(), 1, 0);
  tensorInfo(zeroDim, "z", [0, 2n ** 62n], GGMLType.F32, 0);
  await rejects(readGGUF(src(zeroDim.padTo(32).raw(new Uint8Array(64)))), "GGUF_LIMIT", /"z" ne\[1\] = 4611686018427387904 is too large/);
  // The name limit is on raw bytes, as in ggml: 40 invalid bytes (40 U+FFFD once decoded) are fine, 64 are not
  for (const [n, ok] of [
    [40, true],
    [63, true],
    [64, false],
  ] as const) {
    const b = header(new Bytes(), 1, 0).u64(n).raw(new Uint8Array(n).fill(0xff)).u32(1).u64(8).u32(GGMLType.F32).u64(0);
    const p = readGGUF(src(b.padTo(32).raw(new Uint8Array(32))));
    if (ok) assert.equal((await p).tensors[0].name, "\uFFFD".repeat(n));
    else await rejects(p, "GGUF_BAD_TENSOR", /64 bytes or longer/);
  }
  // 70,000 one-byte keys fit in 1 MB but exceed the record cap: rejected at once, not parsed for ~0.5 s
  const many = header(new Bytes(), 0, 70000).raw(new Uint8Array(70000 * 14));
  const t0 = performance.now();
  await rejects(readGGUF(src(many)), "GGUF_LIMIT", /declares 70000 metadata keys; this reader accepts at most 65536/);
  assert.ok(performance.now() - t0 < 100);
  await rejects(readGGUF(src(header(new Bytes(), 65537, 0).raw(new Uint8Array(65537 * 32)))), "GGUF_LIMIT", /65537 tensors/);
});
