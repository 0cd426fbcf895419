// AssemblyScript. The forward pass's element-wise ops, bit for bit with src/kernels/ops.ts:
//   normRows  = rmsNormRows: per row, sum += f64(f32(v·v)) in element order (f64 adds), then
//               mean = f32(sum / n), scale = f32(1 / f32(sqrt(f32(mean + eps)))), and
//               out = f32(f32(x·scale)·g) (f32x4; f32 products round exactly like fround)
//   gegluRange = geglu: y = 0 for g <= -10, g for g >= 10, else table[fp16(g)]; out = f32(y·u)
// Both take a [lo, hi) range (rows / elements) so the pool can split them across threads.

/** Rows [r0, r1) of n f32 at x normalized into out (may be x), weight g (n f32); eps: f64 at epsAt. */
export function normRows(x: usize, out: usize, g: usize, n: i32, epsAt: usize, r0: i32, r1: i32): void {
  const eps = load<f64>(epsAt); // in memory: the pool passes i32 arguments only
  const rb = <usize>n << 2;
  let r = r0;
  for (; r + 4 <= r1; r += 4) { // four rows' sequential sums interleaved (each in its own order)
    const a = x + <usize>r * rb, b = a + rb, c = b + rb, d = c + rb;
    let sa: f64 = 0, sb: f64 = 0, sc: f64 = 0, sd: f64 = 0;
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      const va = load<f32>(a + o), vb = load<f32>(b + o), vc = load<f32>(c + o), vd = load<f32>(d + o);
      sa += <f64>(va * va); sb += <f64>(vb * vb); sc += <f64>(vc * vc); sd += <f64>(vd * vd);
    }
    scaleRow(a, out + <usize>r * rb, g, n, sa, eps);
    scaleRow(b, out + <usize>(r + 1) * rb, g, n, sb, eps);
    scaleRow(c, out + <usize>(r + 2) * rb, g, n, sc, eps);
    scaleRow(d, out + <usize>(r + 3) * rb, g, n, sd, eps);
  }
  for (; r < r1; r++) {
    const a = x + <usize>r * rb;
    let s: f64 = 0;
    for (let i = 0; i < n; i++) { const v = load<f32>(a + (<usize>i << 2)); s += <f64>(v * v); }
    scaleRow(a, out + <usize>r * rb, g, n, s, eps);
  }
}

// @ts-ignore: decorator
@inline function scaleRow(x: usize, out: usize, g: usize, n: i32, sum: f64, eps: f64): void {
  const mean = <f32>(sum / <f64>n);
  const scale = <f32>(1.0 / <f64><f32>Math.sqrt(<f64><f32>(<f64>mean + eps)));
  const sv = f32x4.splat(scale);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(f32x4.mul(v128.load(x + o), sv), v128.load(g + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(x + o) * scale * load<f32>(g + o));
  }
}

/** fp16 bit pattern of an f32 (round to nearest even), as src/quant/f16.ts fp16FromF32Bits. */
// @ts-ignore: decorator
@inline function fp16Bits(bits: u32): u32 {
  const sign = (bits >> 16) & 0x8000, a = bits & 0x7fffffff;
  if (a >= 0x38800000 && a < 0x47800000) return ((a - 0x38000000 + 0xfff + ((a >> 13) & 1)) >> 13) | sign; // normal fp16
  const exp = a >> 23, mant = a & 0x7fffff;
  if (exp == 0xff) return sign | (mant != 0 ? 0x7e00 : 0x7c00);
  if (exp >= 143) return sign | 0x7c00;
  if (exp < 102) return sign;
  const sig = mant | 0x800000, shift = 126 - exp; // fp16 subnormal
  let h = sig >> shift;
  const rest = sig & ((1 << shift) - 1), half: u32 = 1 << (shift - 1);
  if (rest > half || (rest == half && (h & 1) != 0)) h++;
  return sign | h;
}

/** Elements [i0, i1): out = geglu(gate, up) with the 65536-entry GELU table (f32) at table. */
export function gegluRange(gate: usize, up: usize, out: usize, table: usize, i0: i32, i1: i32): void {
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 2;
    const gv = load<f32>(gate + o);
    let y: f32;
    if (gv <= -10) y = 0;
    else if (gv >= 10) y = gv;
    else y = load<f32>(table + (<usize>fp16Bits(reinterpret<u32>(gv)) << 2));
    store<f32>(out + o, y * load<f32>(up + o));
  }
}
