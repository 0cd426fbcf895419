// AssemblyScript, relaxed-SIMD module only. Chain order (legacy.as) with a faster integer dot. i16x8.relaxed_dot_i8x16_i7x16_s(a, b) is exact only
// when every b lane is in [0, 127] (x64 lowers it to pmaddubsw with b as the unsigned operand);
// ggml's int8 operands use the full signed range, so each kernel keeps b 7-bit by construction:
//   Q8_0 · Q8_0: a = q8 weight (any int8), b = pos / neg halves of the activation (quantize.as:
//     q = pos - neg, both 0..127; the x86 quantizer never emits -128, and prepareA8 reports it
//     if it ever did, in which case wasm.ts runs the baseline kernel). The two i16 pair sums are
//     subtracted in i16: the true difference |w0·q0 + w1·q1| <= 32512 fits, so wrap-around is exact.
//   Q4_0 · Q8_0: a = activation int8, b = weight nibble 0..15; Σ(n-8)·q = Σ n·q - 8·Σq.
// The fused i32x4.relaxed_dot_i8x16_i7x16_add_s is not used: Node 20's V8 miscomputes it.
import { accA, accB, drive2x2, f16, hsum4, scales2x2 } from "./common";
import { fmaHiM, fmaLoM } from "./fma";
import { chainQ4_0, chainQ8_0 } from "./legacy";
import { prepareActivations } from "./quantize";

const A8: usize = 176;

// @ts-ignore: decorator
@inline function dotQ8R(w0: v128, w1: v128, a: usize): v128 {
  const s0 = i16x8.sub(i16x8.relaxed_dot_i8x16_i7x16_s(w0, v128.load(a, 80)), i16x8.relaxed_dot_i8x16_i7x16_s(w0, v128.load(a, 112)));
  const s1 = i16x8.sub(i16x8.relaxed_dot_i8x16_i7x16_s(w1, v128.load(a, 96)), i16x8.relaxed_dot_i8x16_i7x16_s(w1, v128.load(a, 128)));
  return i32x4.add(i32x4.extadd_pairwise_i16x8_s(s0), i32x4.extadd_pairwise_i16x8_s(s1));
}

class KQ8_0R {
  // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, nb: i32): void {
    let c0 = f64x2.splat(0), c1 = c0;
    for (let b = 0; b < nb; b++, wA += 34, wB += 34, aA += A8, aB += A8) {
      const x0 = v128.load(wA, 2), x1 = v128.load(wA, 18), y0 = v128.load(wB, 2), y1 = v128.load(wB, 18);
      const is = hsum4(dotQ8R(x0, x1, aA), dotQ8R(x0, x1, aB), dotQ8R(y0, y1, aA), dotQ8R(y0, y1, aB));
      const d = scales2x2(f16(load<u16>(wA)), f16(load<u16>(wB)), load<f32>(aA, 64), load<f32>(aB, 64));
      const x = f32x4.convert_i32x4_s(is);
      c0 = fmaLoM(c0, x, d); c1 = fmaHiM(c1, x, d);
    }
    accA = c0; accB = c1;
  }
}

// pair sums <= 2·128·15 = 3840, so the two halves add in i16 before widening
// @ts-ignore: decorator
@inline function dotQ4R(lo: v128, hi: v128, a: usize): v128 {
  const s = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(a, 144), lo), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(a, 160), hi));
  return i32x4.extadd_pairwise_i16x8_s(s);
}

class KQ4_0R {
  // @ts-ignore: decorator
  @inline tile(wA: usize, wB: usize, aA: usize, aB: usize, nb: i32): void {
    let c0 = f64x2.splat(0), c1 = c0;
    const m = i8x16.splat(15);
    for (let b = 0; b < nb; b++, wA += 18, wB += 18, aA += A8, aB += A8) {
      const va = v128.load(wA, 2), vb = v128.load(wB, 2);
      const la = v128.and(va, m), ha = i8x16.shr_u(va, 4), lb = v128.and(vb, m), hb = i8x16.shr_u(vb, 4);
      let is = hsum4(dotQ4R(la, ha, aA), dotQ4R(la, ha, aB), dotQ4R(lb, hb, aA), dotQ4R(lb, hb, aB));
      const sA = load<i32>(aA, 72), sB = load<i32>(aB, 72);
      const sums = i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(sA), 1, sB), 3, sB);
      is = i32x4.sub(is, i32x4.shl(sums, 3));
      const d = scales2x2(f16(load<u16>(wA)), f16(load<u16>(wB)), load<f32>(aA, 64), load<f32>(aB, 64));
      const x = f32x4.convert_i32x4_s(is);
      c0 = fmaLoM(c0, x, d); c1 = fmaHiM(c1, x, d);
    }
    accA = c0; accB = c1;
  }
}

export function chainQ8_0R(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KQ8_0R>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }
export function chainQ4_0R(w: usize, ws: usize, r0: i32, r1: i32, a: usize, as: usize, nTok: i32, out: usize, ne1: i32, nb: i32): void { drive2x2<KQ4_0R>(w, ws, r0, r1, a, as, nTok, out, ne1, nb); }

/**
 * Exactness self-check at `p` (needs ~64 KiB): 3 weight rows x 3 tokens x 256 elements, with
 * weights covering -128..127 and nibbles 0..15, activations hitting ±127. Returns the number of
 * outputs where a relaxed kernel differs from its baseline twin (0 = usable).
 */
export function selfCheck(p: usize): i32 {
  const n = 256, rows = 3, toks = 3, nb = n >> 5;
  const x = p, blk = x + 4 * n * toks, act = blk + 1024, w8 = act + A8 * nb * toks, w4 = w8 + 34 * nb * rows;
  const o1 = w4 + 18 * nb * rows + 64, o2 = o1 + 4 * rows * toks;
  let s: u32 = 12345;
  for (let i = 0; i < n * toks; i++) {
    s = s * 1103515245 + 12345;
    let v = <f32>((s >>> 8) & 0xffff) / 32768 - 1;
    if ((i & 31) == 7) v = (i & 64) ? 5 : -5; // block extremes -> ±127
    store<f32>(x + (<usize>i << 2), v);
  }
  for (let r = 0; r < rows * nb; r++) {
    store<u16>(w8 + 34 * r, 0x3c00 + <u16>(r & 0xff)); // d near 1
    store<u16>(w4 + 18 * r, 0x3800 + <u16>(r & 0xff));
    for (let j = 0; j < 32; j++) { s = s * 1103515245 + 12345; store<u8>(w8 + 34 * r + 2 + j, <u8>(j == 0 ? 0x80 : j == 1 ? 0x7f : s >>> 24)); }
    for (let j = 0; j < 16; j++) { s = s * 1103515245 + 12345; store<u8>(w4 + 18 * r + 2 + j, <u8>(j == 0 ? 0xff : s >>> 24)); }
  }
  if (prepareActivations(x, toks, n, 0, blk, act, A8 * nb) != 0) return 1000;
  let bad = 0;
  chainQ8_0(w8, 34 * nb, 0, rows, act, A8 * nb, toks, o1, rows, nb);
  chainQ8_0R(w8, 34 * nb, 0, rows, act, A8 * nb, toks, o2, rows, nb);
  for (let i = 0; i < rows * toks; i++) if (load<u32>(o1 + 4 * i) != load<u32>(o2 + 4 * i)) bad++;
  chainQ4_0(w4, 18 * nb, 0, rows, act, A8 * nb, toks, o1, rows, nb);
  chainQ4_0R(w4, 18 * nb, 0, rows, act, A8 * nb, toks, o2, rows, nb);
  for (let i = 0; i < rows * toks; i++) if (load<u32>(o1 + 4 * i) != load<u32>(o2 + 4 * i)) bad++;
  return bad;
}
