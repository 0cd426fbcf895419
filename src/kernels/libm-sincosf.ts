/**
 * sincosf as the C library under llama.cpp computes it (glibc's float sin/cos: a double-precision
 * polynomial after range reduction), so RoPE angles get the same f32 bits llama.cpp's rope cache
 * has. Correctly rounded cos/sin (Math.cos then fround) differ from it in ~1.3% of RoPE values by
 * 1 ulp — enough to flip an int8 activation rounding downstream.
 * ref: glibc sysdeps/ieee754/flt-32/s_sincosf.c, s_sincosf.h, s_sincosf_data.c (the algorithm
 * of ARM's optimized-routines); constants are the published polynomial coefficients and 4/pi bits.
 * Checked bit for bit against this machine's glibc 2.36 sincosf on every RoPE angle of positions
 * 0..4095 for both EmbeddingGemma bases (tools/ggml-oracle notes; test/kernels/libm.test.ts).
 */
const hex = (mant: number, exp: number) => mant * 2 ** exp; // mant given as an exact integer / 2^52

// Cosine polynomial c0..c4 and sine polynomial s1..s3 (table entry 0; entry 1 negates cosine).
const C = [1, hex(-0x1ffffffd0c621c, -54), hex(0x155553e1068f19, -57), hex(-0x16c087e89a359d, -62), hex(0x199343027bf8c3, -68)];
const S = [hex(-0x1555545995a603, -55), hex(0x11107605230bc4, -59), hex(-0x1994eb3774cf24, -65)];
const HPI_INV = hex(0x145f306dc9c883, -29); // 2/pi * 2^24
const HPI = hex(0x1921fb54442d18, -52); // pi/2
const PI63 = hex(0x1921fb54442d18, -114); // 2pi * 2^-64
const SIGN = [1, -1, -1, 1];
/** 4/pi to 192 bits, 8 new bits per entry. */
const INV_PIO4 = [
  0xa2, 0xa2f9, 0xa2f983, 0xa2f9836e, 0xf9836e4e, 0x836e4e44, 0x6e4e4415, 0x4e441529, 0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1,
  0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0, 0x34ddc0db, 0xddc0db62, 0xc0db6295, 0xdb629599, 0x6295993c, 0x95993c43, 0x993c4390,
  0x3c439041,
];

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const top12 = (y: number) => {
  f32[0] = y;
  return (u32[0] >>> 20) & 0x7ff;
};
const TOP_PIO4 = top12(Math.PI / 4),
  TOP_TINY = top12(2 ** -12),
  TOP_120 = top12(120),
  TOP_INF = top12(Infinity);
const M64 = (1n << 64n) - 1n;

/** [sin(y), cos(y)] as f32 values, for an f32 y. */
export function sincosf(y: number): [number, number] {
  const t = top12(y);
  let x = y,
    n = 0,
    negCos = false;
  if (t < TOP_PIO4) {
    if (t < TOP_TINY) return [y, 1];
  } else if (t < TOP_120) {
    // reduce_fast: quadrant from a scaled product with explicit rounding, x - n*pi/2 in double
    n = ((Math.trunc(x * HPI_INV) | 0) + 0x800000) >> 24;
    x -= n * HPI;
    x *= SIGN[n & 3];
    negCos = (n & 2) !== 0;
  } else if (t < TOP_INF) {
    // reduce_large: a 32 x 96 -> 128 bit fixed-point product with 4/pi gives the exact modulo
    f32[0] = y;
    const xi = u32[0],
      sign = xi >>> 31;
    const arr = (xi >>> 26) & 15;
    const m = BigInt((((xi & 0xffffff) | 0x800000) << ((xi >>> 23) & 7)) >>> 0);
    let r0 = (m * BigInt(INV_PIO4[arr])) & 0xffffffffn;
    const r1 = m * BigInt(INV_PIO4[arr + 4]);
    const r2 = m * BigInt(INV_PIO4[arr + 8]);
    r0 = (((r2 >> 32n) | (r0 << 32n)) + r1) & M64;
    const q = ((r0 + (1n << 61n)) & M64) >> 62n;
    r0 = (r0 - (q << 62n)) & M64;
    x = Number(BigInt.asIntN(64, r0)) * PI63;
    n = Number(q);
    x *= SIGN[(n + sign) & 3];
    negCos = ((n + sign) & 2) !== 0;
  } else {
    return [NaN, NaN];
  }
  const x2 = x * x,
    x3 = x2 * x,
    x4 = x2 * x2,
    x5 = x3 * x2,
    x6 = x4 * x2;
  const cs = negCos ? -1 : 1;
  const c1 = cs * C[0] + x2 * (cs * C[1]);
  const c2 = cs * C[3] + x2 * (cs * C[4]);
  const s1 = S[1] + x2 * S[2];
  const sin = x + x3 * S[0] + x5 * s1;
  const cos = c1 + x4 * (cs * C[2]) + x6 * c2;
  // odd quadrants swap the two results
  return n & 1 ? [Math.fround(cos), Math.fround(sin)] : [Math.fround(sin), Math.fround(cos)];
}
