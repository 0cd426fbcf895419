// AssemblyScript. The forward pass's element-wise ops, bit for bit with src/kernels/ops.ts:
//   normRows  = rmsNormRows: per row, sum += f64(f32(v·v)) in element order (f64 adds), then
//               mean = f32(sum / n), scale = f32(1 / f32(sqrt(f32(mean + eps)))), and
//               out = f32(f32(x·scale)·g) (f32x4; f32 products round exactly like fround)
//   gegluRange = geglu: y = 0 for g <= -10, g for g >= 10, else table[fp16(g)]; out = f32(y·u)
//   geluRange  = gelu: the same y, out = y
//   layerNormRows = layer-norm.ts normRows (ggml_norm): per row the f64 sum of x in element order,
//               mean = f32(f32(sum) / n); y = f32(x - mean) into out, its squares f32(y·y) summed
//               per block of `lanes` (16: _mm512_reduce_add_ps, 8: hsum8) in f32 and the block sums
//               (then the tail's squares) in f64; variance = f32(sum / n), scale =
//               f32(1 / f32(sqrt(f32(variance + eps)))), out = f32(y·scale)
//   swigluRows = silu.ts swiglu for the 16-lane profiles (ggml_vec_swiglu_f32): per row of nc, the
//               blocks of 16 as x / (1 + v_expf(0 - x)) · g with the vector exp (softmax.as vexp4:
//               f64-emulated in the baseline module, relaxed_madd in the relaxed one), the last nc mod 16 as
//               x / (1 + expf(-x)) · g with glibc's expf; every step rounded to f32
// All take a [lo, hi) range (rows / elements) so the pool can split them across threads.
import { reduce16, hsum8 } from "./fma";
import { expfGlibc, vexp4 } from "./softmax";

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

/** Elements [i0, i1): out = gelu(x) with the 65536-entry GELU table (f32) at table (out may be x). */
export function geluRange(x: usize, out: usize, table: usize, i0: i32, i1: i32): void {
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 2;
    const gv = load<f32>(x + o);
    let y: f32;
    if (gv <= -10) y = 0;
    else if (gv >= 10) y = gv;
    else y = load<f32>(table + (<usize>fp16Bits(reinterpret<u32>(gv)) << 2));
    store<f32>(out + o, y);
  }
}

/** Rows [r0, r1) of n f32 at x: ggml_norm into out (may be x); lanes 16 or 8; eps: f64 at epsAt. */
export function layerNormRows(x: usize, out: usize, n: i32, lanes: i32, epsAt: usize, r0: i32, r1: i32): void {
  const eps = load<f64>(epsAt); // in memory: the pool passes i32 arguments only
  const rb = <usize>n << 2;
  let r = r0;
  for (; r + 4 <= r1; r += 4) { // four rows' sequential sums interleaved (each in its own order)
    const a = x + <usize>r * rb, b = a + rb, c = b + rb, d = c + rb;
    let sa: f64 = 0, sb: f64 = 0, sc: f64 = 0, sd: f64 = 0;
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      sa += <f64>load<f32>(a + o); sb += <f64>load<f32>(b + o); sc += <f64>load<f32>(c + o); sd += <f64>load<f32>(d + o);
    }
    centerScale(a, out + <usize>r * rb, n, lanes, sa, eps);
    centerScale(b, out + <usize>(r + 1) * rb, n, lanes, sb, eps);
    centerScale(c, out + <usize>(r + 2) * rb, n, lanes, sc, eps);
    centerScale(d, out + <usize>(r + 3) * rb, n, lanes, sd, eps);
  }
  for (; r < r1; r++) {
    const a = x + <usize>r * rb;
    let s: f64 = 0;
    for (let i = 0; i < n; i++) s += <f64>load<f32>(a + (<usize>i << 2));
    centerScale(a, out + <usize>r * rb, n, lanes, s, eps);
  }
}

/** One row of layerNormRows after its sum: center into out, the squares' sum by lane blocks, scale. */
function centerScale(x: usize, out: usize, n: i32, lanes: i32, sum: f64, eps: f64): void {
  const mean = <f32>sum / <f32>n;
  const m = f32x4.splat(mean);
  const body = n - n % lanes;
  let sq: f64 = 0;
  let i = 0;
  for (; i < body; i += lanes) {
    const o = <usize>i << 2;
    const y0 = f32x4.sub(v128.load(x + o), m), y1 = f32x4.sub(v128.load(x + o, 16), m);
    v128.store(out + o, y0); v128.store(out + o, y1, 16);
    if (lanes == 16) {
      const y2 = f32x4.sub(v128.load(x + o, 32), m), y3 = f32x4.sub(v128.load(x + o, 48), m);
      v128.store(out + o, y2, 32); v128.store(out + o, y3, 48);
      sq += <f64>reduce16(f32x4.mul(y0, y0), f32x4.mul(y1, y1), f32x4.mul(y2, y2), f32x4.mul(y3, y3));
    } else {
      sq += <f64>hsum8(f32x4.mul(y0, y0), f32x4.mul(y1, y1));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const y = load<f32>(x + o) - mean;
    store<f32>(out + o, y);
    sq += <f64>(y * y);
  }
  const variance = <f32>(sq / <f64>n);
  const scale = <f32>(1.0 / <f64><f32>Math.sqrt(<f64><f32>(<f64>variance + eps)));
  const sv = f32x4.splat(scale);
  i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), f32x4.mul(v128.load(out + (<usize>i << 2)), sv));
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), load<f32>(out + (<usize>i << 2)) * scale);
}

/** Rows [r0, r1) of nc: out = silu(gate) · up (gate, up, out (rows, nc); out may be gate or up). */
export function swigluRows(gate: usize, up: usize, out: usize, nc: i32, r0: i32, r1: i32): void {
  const body = nc & ~15, zero = f32x4.splat(0), one = f32x4.splat(1);
  for (let r = r0; r < r1; r++) {
    const ro = (<usize>r * <usize>nc) << 2;
    const g = gate + ro, u = up + ro, o = out + ro;
    for (let i = 0; i < body; i += 4) {
      const p = <usize>i << 2;
      const x = v128.load(g + p);
      const s = f32x4.div(x, f32x4.add(one, vexp4(f32x4.sub(zero, x))));
      v128.store(o + p, f32x4.mul(s, v128.load(u + p)));
    }
    for (let i = body; i < nc; i++) {
      const p = <usize>i << 2;
      const x = load<f32>(g + p);
      store<f32>(o + p, (x / (1 + expfGlibc(-x))) * load<f32>(u + p));
    }
  }
}

/**
 * Rows [r0, r1) of n, in place: x = ((x · w) + b) + res (ops.ts mulAddRows), each step only when
 * its bit of flags is set (1: w (n), 2: b (n), 4: res (rows, n)); f32x4 ops round as the
 * reference's Math.fround of each f64 product or sum does (exact f64 product, one rounding; the
 * sum's double rounding is innocuous).
 */
export function mulAddRows(x: usize, w: usize, b: usize, res: usize, flags: i32, n: i32, r0: i32, r1: i32): void {
  const hasW = (flags & 1) != 0, hasB = (flags & 2) != 0, hasR = (flags & 4) != 0;
  for (let r = r0; r < r1; r++) {
    const row = <usize>r * <usize>n << 2, xr = x + row, rr = res + row;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const p = <usize>j << 2;
      let v = v128.load(xr + p);
      if (hasW) v = f32x4.mul(v, v128.load(w + p));
      if (hasB) v = f32x4.add(v, v128.load(b + p));
      if (hasR) v = f32x4.add(v, v128.load(rr + p));
      v128.store(xr + p, v);
    }
    for (; j < n; j++) {
      const p = <usize>j << 2;
      let v = load<f32>(xr + p);
      if (hasW) v = v * load<f32>(w + p);
      if (hasB) v = v + load<f32>(b + p);
      if (hasR) v = v + load<f32>(rr + p);
      store<f32>(xr + p, v);
    }
  }
}
