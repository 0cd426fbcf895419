/**
 * Deterministic f32 test data for the quantization tests, reproducible bit-for-bit in other
 * languages (test/fixtures/gen/ggml-quant-golden.py implements the same generators to record
 * ggml's outputs): a 32-bit LCG, integer-derived values, one IEEE rounding at most.
 */

/** Numerical Recipes LCG: s = s·1664525 + 1013904223 mod 2^32. */
export class Lcg {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (Math.imul(this.s, 1664525) + 1013904223) >>> 0;
    return this.s;
  }
  /** Exact f32 in [-2, 2): a 24-bit integer times 2^-22. */
  uniform(): number {
    return ((this.next() >>> 8) - 8388608) / 4194304;
  }
}

export function uniformData(n: number, seed: number): Float32Array {
  const r = new Lcg(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = r.uniform();
  return x;
}

/** Bell-shaped: (a + b + c)/2 of three uniforms; the f64 sum is exact, one rounding to f32. */
export function gaussData(n: number, seed: number): Float32Array {
  const r = new Lcg(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = r.uniform(),
      b = r.uniform(),
      c = r.uniform();
    x[i] = (a + b + c) * 0.5;
  }
  return x;
}

/** gaussData(4096, seed) with blocks that exercise the quantizers' special cases. */
export function edgeData(seed: number): Float32Array {
  const x = gaussData(4096, seed);
  x.fill(0, 0, 256); // an all-zero super-block
  x.fill(0, 256, 288); // an all-zero 32-block inside a non-zero super-block
  x[600] = x[600]! * 64; // one outlier
  x.fill(1.5, 768, 1024); // constant (max == min for the asymmetric types)
  for (let i = 1024; i < 1280; i++) x[i] = -Math.abs(x[i]!); // all negative
  for (let i = 1280; i < 1536; i++) x[i] = x[i]! * 2 ** -20; // tiny scale, fp16-subnormal d
  for (let i = 1536; i < 1568; i++) x[i] = i - 1552; // integers -16..15: exact ties
  for (let i = 1792; i < 2048; i++) x[i] = x[i]! * 1000; // large
  return x;
}

/** ggml tests/test-quantize-fns.cpp generate_data: 0.1 + amplitude·cos(i + offset), in f32. */
export function ggmlTestData(n: number, offset: number, amplitude = 2): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.1 + amplitude * Math.cos(i + offset);
  return x;
}

/**
 * One 256-block of cubed uniforms (draws 256·46074 .. of Lcg(77)), found by a seeded search: on
 * it Q6_K's bytes depend on make_qx_quants trying its last candidate scale (is = ±9), which
 * ordinary data almost never exercises.
 */
export function rareData(): Float32Array {
  const r = new Lcg(77);
  for (let i = 0; i < 256 * 46074; i++) r.next();
  const x = new Float32Array(256);
  for (let i = 0; i < 256; i++) {
    const u = r.uniform();
    x[i] = u * u * u;
  }
  return x;
}
