import { test } from "node:test";
import assert from "node:assert/strict";
import { bf16ToF32, f32ToBf16, f32ToFp16, fp16ToF32, nearestInt, roundf, roundHalfEven } from "../../src/quant/f16.js";
import { Lcg } from "../helpers/quant-data.js";

// Independent helpers: bit casts through our own typed arrays, binary16 decoded by formula.
const fb = new Float32Array(1);
const ub = new Uint32Array(fb.buffer);
const fromBits = (u: number) => ((ub[0] = u >>> 0), fb[0]!);
const toBits = (x: number) => ((fb[0] = x), ub[0]!);
const nextUp32 = (x: number) => fromBits(toBits(x) + 1); // positive finite x only
const nextDown32 = (x: number) => fromBits(toBits(x) - 1);

/** binary16 by the IEEE definition: (-1)^s · 2^(e-15) · (1 + m/1024), subnormal 2^-14 · m/1024. */
function h2f(h: number): number {
  const s = h >> 15 ? -1 : 1,
    e = (h >> 10) & 31,
    m = h & 1023;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * Math.pow(2, -14) * (m / 1024) : s * Math.pow(2, e - 15) * (1 + m / 1024);
}

test("fp16ToF32: all 65536 patterns match the IEEE definition (incl. -0, subnormals, inf, NaN)", () => {
  for (let h = 0; h < 65536; h++) {
    const want = h2f(h),
      got = fp16ToF32(h);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(got), `h=${h.toString(16)}`);
    else assert.ok(Object.is(got, want), `h=0x${h.toString(16)}: ${got} != ${want}`);
  }
  assert.equal(fp16ToF32(0x3c00), 1);
  assert.equal(fp16ToF32(0xc000), -2);
  assert.equal(fp16ToF32(0x7bff), 65504);
  // biome-ignore lint/correctness/noPrecisionLoss: 2^-24 as a decimal literal that reads back exactly
  assert.equal(fp16ToF32(0x0001), 5.960464477539063e-8);
  assert.equal(fp16ToF32(0x0400), 6.103515625e-5);
  assert.ok(Object.is(fp16ToF32(0x8000), -0));
});

test("f32ToFp16: round-trips every non-NaN binary16; NaN -> sign|0x7E00", () => {
  for (let h = 0; h < 65536; h++) {
    const isNaN16 = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    assert.equal(f32ToFp16(h2f(h)), isNaN16 ? 0x7e00 : h, `h=0x${h.toString(16)}`);
  }
  assert.equal(f32ToFp16(fromBits(0xffc00000)), 0xfe00);
});

test("f32ToFp16: midpoints between neighbours round to even, ±1 f32 ulp rounds to nearest", () => {
  for (let h = 0; h < 0x7c00; h++) {
    // positive finite neighbours h, h+1 (0x7BFF's upper neighbour is inf = 0x7C00, the overflow threshold)
    const a = h2f(h),
      b = h === 0x7bff ? 65536 : h2f(h + 1);
    const mid = (a + b) / 2; // exact in binary32 (needs at most 12 significant bits)
    assert.equal(toBits(mid) >>> 0, toBits(Math.fround(mid)) >>> 0);
    const even = h % 2 === 0 ? h : h + 1;
    assert.equal(f32ToFp16(mid), even, `mid of 0x${h.toString(16)}`);
    assert.equal(f32ToFp16(-mid), 0x8000 | even);
    assert.equal(f32ToFp16(nextUp32(mid)), h + 1, `above mid of 0x${h.toString(16)}`);
    if (mid > 0) assert.equal(f32ToFp16(nextDown32(mid)), h, `below mid of 0x${h.toString(16)}`);
  }
});

test("f32ToFp16: overflow, underflow and specials", () => {
  assert.equal(f32ToFp16(65504), 0x7bff);
  assert.equal(f32ToFp16(nextDown32(65520)), 0x7bff);
  assert.equal(f32ToFp16(65520), 0x7c00); // tie with 2^16 goes to the even pattern = inf
  assert.equal(f32ToFp16(1e10), 0x7c00);
  assert.equal(f32ToFp16(-1e10), 0xfc00);
  assert.equal(f32ToFp16(Infinity), 0x7c00);
  assert.equal(f32ToFp16(-Infinity), 0xfc00);
  assert.equal(f32ToFp16(2 ** -25), 0x0000); // tie between 0 and the smallest subnormal
  assert.equal(f32ToFp16(nextUp32(2 ** -25)), 0x0001);
  assert.equal(f32ToFp16(3 * 2 ** -25), 0x0002); // tie between 1 and 2 ulps -> 2
  assert.equal(f32ToFp16(2 ** -26), 0x0000);
  assert.equal(f32ToFp16(-(2 ** -30)), 0x8000);
  assert.equal(f32ToFp16(fromBits(1)), 0); // f32 subnormal
  assert.equal(f32ToFp16(-0), 0x8000);
  assert.equal(f32ToFp16(NaN), 0x7e00);
});

test("f32ToFp16: 300k random f32 patterns equal a brute-force nearest-even search", () => {
  // sorted positive finite binary16 values, for a binary search by value
  const vals: number[] = [];
  for (let h = 0; h < 0x7c00; h++) vals.push(h2f(h));
  const ref = (x: number): number => {
    const s = toBits(x) >>> 31 ? 0x8000 : 0;
    const a = Math.abs(x);
    if (a >= 65520) return s | 0x7c00;
    let lo = 0,
      hi = vals.length - 1; // invariant: vals[lo] <= a < vals[hi] (a < 65504 here, or equal)
    if (a >= vals[hi]!) return s | hi;
    while (hi - lo > 1) {
      const m = (lo + hi) >> 1;
      if (vals[m]! <= a) lo = m;
      else hi = m;
    }
    const dl = a - vals[lo]!,
      dh = vals[hi]! - a; // both exact in f64
    if (dl < dh) return s | lo;
    if (dh < dl) return s | hi;
    return s | (lo % 2 === 0 ? lo : hi);
  };
  const r = new Lcg(42);
  for (let k = 0; k < 300000; k++) {
    // concentrate on the binary16 exponent range (f32 exponents 90..150) with any sign/mantissa
    const u = k % 4 === 0 ? r.next() : ((r.next() & 0x807fffff) | ((90 + (r.next() % 61)) << 23)) >>> 0;
    const x = fromBits(u);
    if (Number.isNaN(x)) continue;
    assert.equal(f32ToFp16(x), ref(x), `x=${x} bits=0x${u.toString(16)}`);
  }
});

test("bf16: decode is the upper half; RNE on the upper half; quiet NaN; no subnormal flush", () => {
  assert.equal(bf16ToF32(0x3f80), 1);
  assert.equal(bf16ToF32(0xc040), -3);
  assert.ok(Object.is(bf16ToF32(0x8000), -0));
  assert.equal(bf16ToF32(0x0001), fromBits(0x00010000)); // subnormal kept
  assert.equal(f32ToBf16(1), 0x3f80);
  assert.equal(f32ToBf16(fromBits(0x3f808000)), 0x3f80); // tie, even stays
  assert.equal(f32ToBf16(fromBits(0x3f818000)), 0x3f82); // tie, odd rounds up
  assert.equal(f32ToBf16(fromBits(0x3f808001)), 0x3f81);
  assert.equal(f32ToBf16(fromBits(0x3f807fff)), 0x3f80);
  assert.equal(f32ToBf16(fromBits(0x7f7fffff)), 0x7f80); // overflow -> inf
  assert.equal(f32ToBf16(fromBits(0xff7fffff)), 0xff80);
  assert.equal(f32ToBf16(fromBits(0x00000001)), 0x0000);
  assert.equal(f32ToBf16(fromBits(0x00008000)), 0x0000); // tie -> even 0
  assert.equal(f32ToBf16(fromBits(0x00018000)), 0x0002);
  assert.equal(f32ToBf16(fromBits(0x00012345)), 0x0001); // subnormal kept, not flushed
  assert.equal(f32ToBf16(fromBits(0x807fffff)), 0x8080); // rounds up into the smallest normal
  assert.equal(f32ToBf16(fromBits(0x7fc00000)), 0x7fc0);
  assert.equal(f32ToBf16(fromBits(0xffc00000)), 0xffc0);
  for (let h = 0; h < 65536; h++) {
    const isNaN16 = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
    if (!isNaN16) assert.equal(f32ToBf16(bf16ToF32(h)), h);
    else assert.ok(Number.isNaN(bf16ToF32(h)));
  }
});

test("roundf: C semantics, halfway away from zero, exact on awkward doubles", () => {
  const cases: Array<[number, number]> = [
    [0.5, 1],
    [-0.5, -1],
    [1.5, 2],
    [2.5, 3],
    [-2.5, -3],
    [0.49999997, 0],
    [0.49999999999999994, 0],
    [-0.49999999999999994, -0],
    [126.5, 127],
    [-126.5, -127],
    [3.2, 3],
    [-3.7, -4],
    [2 ** 52 + 1, 2 ** 52 + 1],
    [0, 0],
  ];
  for (const [x, want] of cases) assert.ok(Object.is(roundf(x), want) || roundf(x) === want, `roundf(${x}) = ${roundf(x)}`);
});

test("roundHalfEven and nearestInt: ties to even", () => {
  const cases: Array<[number, number]> = [
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [3.5, 4],
    [-0.5, 0],
    [-1.5, -2],
    [-2.5, -2],
    [126.5, 126],
    [-127.5, -128],
    [3.7, 4],
    [-3.2, -3],
    [Math.fround(0.49999997), 0],
    [4194302.5, 4194302],
    [4194303, 4194303],
    [-4194303, -4194303],
  ];
  for (const [x, want] of cases) {
    assert.equal(roundHalfEven(x) + 0, want, `roundHalfEven(${x})`);
    assert.equal(nearestInt(x), want, `nearestInt(${x})`);
  }
  // out of range: ggml's bit trick on (x + 1.5·2^23) as f32; NaN reads back the quiet-NaN mantissa.
  assert.equal(nearestInt(NaN), 0);
  assert.equal(nearestInt(Infinity), -0x400000);
});
