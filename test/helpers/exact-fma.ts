/**
 * Test-only, slow, independent model of IEEE f32 arithmetic: the exact value of a·b + c for f32
 * a, b, c computed with BigInt, rounded ONCE to f32 (round to nearest, ties to even). Used to
 * check src/kernels/ggml-order.ts fma32 and to build expected accumulation orders by hand.
 */

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** x = m · 2^e exactly (m a signed BigInt); x must be finite. */
function split(x: number): [bigint, number] {
  if (x === 0) return [0n, 0];
  f64[0] = x;
  const bits = u64[0]!;
  const neg = bits >> 63n === 1n;
  const be = Number((bits >> 52n) & 0x7ffn);
  let m = bits & ((1n << 52n) - 1n);
  let e: number;
  if (be === 0) e = -1074;
  else {
    m |= 1n << 52n;
    e = be - 1075;
  }
  return [neg ? -m : m, e];
}

/** Round m · 2^e (exact) to the nearest f32, ties to even (no overflow handling; subnormals kept). */
export function roundToF32(m: bigint, e: number): number {
  if (m === 0n) return 0;
  const neg = m < 0n;
  let a = neg ? -m : m;
  const len = a.toString(2).length;
  // keep 24 significant bits, but never go below the f32 subnormal quantum 2^-149
  let shift = Math.max(len - 24, -149 - e);
  if (shift > 0) {
    const sh = BigInt(shift);
    const q = a >> sh;
    const rem = a - (q << sh);
    const half = 1n << (sh - 1n);
    a = rem > half || (rem === half && (q & 1n) === 1n) ? q + 1n : q;
  } else {
    shift = 0;
  }
  const v = Number(a) * 2 ** (e + shift);
  return neg ? -v : v;
}

/** Correctly rounded f32 fma(a, b, c); a, b, c must be f32 values. */
export function exactFma32(a: number, b: number, c: number): number {
  const [ma, ea] = split(a),
    [mb, eb] = split(b),
    [mc, ec] = split(c);
  const mp = ma * mb,
    ep = ea + eb;
  if (mp === 0n) return Math.fround(c + 0 * a * b); // keeps the sign rules of c + (±0)
  if (mc === 0n) return roundToF32(mp, ep);
  const e = Math.min(ep, ec);
  return roundToF32((mp << BigInt(ep - e)) + (mc << BigInt(ec - e)), e);
}

/** Correctly rounded f32 a + b. */
export function exactAdd32(a: number, b: number): number {
  return exactFma32(a, 1, b);
}
