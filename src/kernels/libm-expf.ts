/**
 * expf as the C library under llama.cpp computes it (glibc's float exp: 2^(k/32) from a table
 * times a cubic polynomial, all in double). ggml's softmax uses it for the last (n mod 16) keys of
 * each row; Math.exp rounded to f32 differs from it on ~0.06% of inputs.
 * ref: glibc sysdeps/ieee754/flt-32/e_expf.c and e_exp2f_data.c (ARM optimized-routines);
 * the table holds the published bits of 2^(i/32). Checked bit for bit against this machine's
 * glibc 2.36 on 4M inputs in [-40, 0] (test/kernels/libm.test.ts).
 */
const N = 32;
const SHIFT = 1.5 * 2 ** 52; // adding it rounds z to an integer, ties to even
const INV_LN2_N = 0x171547652b82fe * 2 ** -52 * N;
const C0 = (0x1c6af84b912394 * 2 ** -57) / N / N / N;
const C1 = (0x1ebfce50fac4f3 * 2 ** -55) / N / N;
const C2 = (0x162e42ff0c52d6 * 2 ** -53) / N;
/** Bits of 2^(i/32) minus (i << 47), as glibc stores them; POW2[i] adds the (i << 47) back. */
const TAB = [
  0x3ff0000000000000n,
  0x3fefd9b0d3158574n,
  0x3fefb5586cf9890fn,
  0x3fef9301d0125b51n,
  0x3fef72b83c7d517bn,
  0x3fef54873168b9aan,
  0x3fef387a6e756238n,
  0x3fef1e9df51fdee1n,
  0x3fef06fe0a31b715n,
  0x3feef1a7373aa9cbn,
  0x3feedea64c123422n,
  0x3feece086061892dn,
  0x3feebfdad5362a27n,
  0x3feeb42b569d4f82n,
  0x3feeab07dd485429n,
  0x3feea47eb03a5585n,
  0x3feea09e667f3bcdn,
  0x3fee9f75e8ec5f74n,
  0x3feea11473eb0187n,
  0x3feea589994cce13n,
  0x3feeace5422aa0dbn,
  0x3feeb737b0cdc5e5n,
  0x3feec49182a3f090n,
  0x3feed503b23e255dn,
  0x3feee89f995ad3adn,
  0x3feeff76f2fb5e47n,
  0x3fef199bdd85529cn,
  0x3fef3720dcef9069n,
  0x3fef5818dcfba487n,
  0x3fef7c97337b9b5fn,
  0x3fefa4afa2a490dan,
  0x3fefd0765b6e4540n,
];
const POW2 = TAB.map((t, i) => {
  const v = new DataView(new ArrayBuffer(8));
  v.setBigUint64(0, t + (BigInt(i) << 47n));
  return v.getFloat64(0);
});

/** expf(x) for an f32 x, as an f32 value. */
export function expf(x: number): number {
  if (x !== x) return x;
  if (x < -103.97207641601562) return 0; // below log(2^-150): underflows to +0 (and -inf -> 0)
  if (x > 88.72283172607422) return Infinity;
  const z = INV_LN2_N * x;
  const k = z + SHIFT - SHIFT; // nearest integer, ties to even
  const r = z - k;
  const s = POW2[k & 31] * 2 ** Math.floor(k / N); // 2^(k/32), exact scaling
  const y = (C0 * r + C1) * (r * r) + (C2 * r + 1);
  return Math.fround(y * s);
}
