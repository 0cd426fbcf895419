/**
 * WASM kernels vs the scalar reference (src/kernels/reference.ts via the js backend,
 * src/quant/activation.ts) in each numerics profile: the reference path is the only oracle, and
 * every comparison is bit for bit (Object.is on every output), for every weight type, token counts
 * M ∈ {1, 2, 5, 17, 32} (M == 1 and the M thresholds of llama.cpp's sgemm / IQ panel / repack gemm
 * paths included; 32 = 8 full 4-token tiles, beyond every threshold: npm run test:parity runs the
 * model at 1-2048 tokens), 1 and 2 threads. The reference itself is checked against llama.cpp's libraries
 * per profile in ggml-oracle.test.ts, so this runs every profile on any CPU (amx included).
 * Profiles amx and avx512 share no quantized kernel order at the model's shapes (AMX chains vs
 * vec_dot lanes / repack), so both run everything; avx2 differs from avx512 only in the float
 * types and Q2_K. Attention: wasm-attention.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import type { Backend } from "../../src/kernels/backend.js";
import { createJsBackend } from "../../src/kernels/js-backend.js";
import { fma32 } from "../../src/kernels/ggml-order.js";
import { numericsByName, type Numerics } from "../../src/kernels/numerics.js";
import { createWasmBackend, type WasmBackend } from "../../src/kernels/wasm.js";
import { planMatmul } from "../../src/kernels/wasm-plan.js";
import { relaxedBytes } from "../../src/kernels/wasm-module.js";
import { quantizeRowQ8_0, quantizeRowQ8_1, quantizeRowQ8_K } from "../../src/quant/activation.js";
import { quantizeRows } from "../../src/quant/index.js";
import { f32ToFp16 } from "../../src/quant/f16.js";
import { GGMLType, ggmlTypeName, rowBytes } from "../../src/tensor/ggml-type.js";
import { exactFma32 } from "../helpers/exact-fma.js";

const T = GGMLType;
const TYPES = [T.Q8_0, T.Q4_0, T.F16, T.F32, T.Q4_K, T.Q5_K, T.Q6_K, T.Q5_0, T.Q5_1, T.BF16, T.Q4_1, T.IQ4_NL, T.Q2_K, T.Q3_K, T.IQ4_XS];
const SUPER = new Set([T.Q4_K, T.Q5_K, T.Q6_K, T.Q2_K, T.Q3_K, T.IQ4_XS]);
/** Per profile, the types whose every reference path has a wasm kernel at the model's shapes (N % 32 == 0). */
const KERNEL_AT_MODEL_SHAPES: Record<string, Set<GGMLType>> = {
  amx: new Set([T.Q8_0, T.Q4_0, T.F16, T.F32, T.Q4_K, T.Q5_K, T.Q6_K, T.Q5_0, T.Q5_1, T.Q4_1, T.IQ4_NL, T.BF16, T.IQ4_XS, T.Q2_K, T.Q3_K]),
  avx512: new Set([T.Q8_0, T.Q4_0, T.F32, T.Q5_0, T.Q5_1, T.Q4_1, T.IQ4_NL, T.BF16, T.Q4_K, T.Q5_K, T.Q6_K, T.Q2_K, T.Q3_K, T.IQ4_XS]),
  avx2: new Set([T.Q8_0, T.Q4_0, T.Q5_0, T.Q5_1, T.Q4_1, T.IQ4_NL, T.Q4_K, T.Q5_K, T.Q6_K, T.Q2_K, T.Q3_K, T.IQ4_XS]),
};
/** What each profile runs (see the header): [profile, types at model shapes, edge shapes too]. */
const PROFILES: Array<[Numerics, GGMLType[], boolean]> = [
  [numericsByName("amx"), [], false],
  [numericsByName("avx512"), [], true],
  [numericsByName("avx2"), [T.F32, T.F16, T.BF16, T.Q2_K], false],
];
const MS = [1, 2, 5, 17, 32];
const SHAPES: Array<[number, number]> = [
  [768, 256],
  [768, 768],
  [1152, 256],
  [1152, 768],
  [3072, 256],
  [3072, 768],
];
/** Off-model shapes for the other buffers' paths: N % 32 != 0 (repack when N % 8 == 0, else plain CPU), small K. */
const EDGE_SHAPES: Array<[number, number]> = [
  [256, 40],
  [256, 13],
  [32, 9],
  [512, 24],
];
const EDGE_MS = [1, 2, 3, 4, 7, 8, 9];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
}

/** Random values with zero runs and a few large magnitudes (edge blocks for every quantizer). */
function values(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = r();
  for (let i = 0; i < Math.min(n, 64); i++) v[i] = 0; // an all-zero block
  for (let i = 64; i < n; i += 97) v[i] = r() * 3e4; // large magnitudes
  return v;
}

function differing(ref: Float32Array, got: Float32Array): string {
  let neq = 0,
    first = -1;
  for (let i = 0; i < ref.length; i++) {
    if (Object.is(ref[i], got[i])) continue;
    if (neq++ === 0) first = i;
  }
  return neq === 0 ? "" : `${neq} of ${ref.length} outputs differ (first at ${first}: ${ref[first]} vs ${got[first]})`;
}

/** One wasm backend per thread count, each in the profile being tested; the js reference in the same profile. */
const bes = new Map<string, { js: Backend; be1: WasmBackend; be2: WasmBackend }>();
async function backends(nx: Numerics): Promise<{ js: Backend; be1: WasmBackend; be2: WasmBackend }> {
  let b = bes.get(nx.name);
  if (!b) {
    b = {
      js: createJsBackend(nx),
      be1: await createWasmBackend({ numerics: nx, threads: 1, relaxedSimd: false }),
      be2: await createWasmBackend({ numerics: nx, threads: 2, relaxedSimd: false }),
    };
    bes.set(nx.name, b);
  }
  return b;
}
let be1: WasmBackend;
const AVX512 = numericsByName("avx512");
before(async () => {
  be1 = (await backends(AVX512)).be1;
});
after(async () => {
  for (const b of bes.values()) await Promise.all([b.be1.close(), b.be2.close()]);
});

/** Quantized weights per (type, ne0, ne1), kept for the run: every profile checks the same ones, and ggml's scale searches cost more than the matmuls. */
const weights = new Map<string, Uint8Array>();

/**
 * Reference once per (shape, M), then the wasm backend at 1 and 2 threads; returns the kernels used.
 * Where the backend's plan is "reference" (no wasm kernel for that path: it calls the same js
 * matmul), nothing is computed: comparing the reference with itself could not fail.
 */
function check(
  b: { js: Backend; be1: WasmBackend; be2: WasmBackend },
  type: GGMLType,
  ne0: number,
  ne1: number,
  ms: number[],
): Set<string> {
  const { js, be1, be2 } = b;
  const kernels = new Set<string>();
  const key = `${type} ${ne0} ${ne1}`;
  const bytes = weights.get(key) ?? quantizeRows(type, values(ne0 * ne1, ne0 + ne1 + type), ne0);
  weights.set(key, bytes);
  const ws = [be1, be2].map((be) => {
    const data = be.alloc(bytes.length);
    data.set(bytes);
    return { name: "w", type, ne0, ne1, data };
  });
  const xAll = values(ne0 * Math.max(...ms), 1000 + ne0);
  for (const M of ms) {
    const planned = be1.kernelFor(ws[0]!, M); // be2's too: the plan does not depend on the thread count
    kernels.add(planned);
    if (planned === "reference") continue;
    const x = xAll.slice(0, ne0 * M);
    for (let i = 0; i < ne0; i++) x[(M - 1) * ne0 + i] *= 1e3; // one large-magnitude token
    const ref = new Float32Array(M * ne1);
    js.matmul(ws[0]!, x, M, ref);
    [be1, be2].forEach((be, i) => {
      const got = new Float32Array(M * ne1).fill(NaN);
      be.matmul(ws[i]!, x, M, got);
      const bad = differing(ref, got);
      assert.equal(bad, "", `${be.numerics.name}: ${ggmlTypeName(type)} K=${ne0} N=${ne1} M=${M} ${be.threads}T (${planned}): ${bad}`);
    });
  }
  return kernels;
}

for (const [nx, only, edges] of PROFILES) {
  const types = only.length ? only : TYPES;
  describe(`numerics "${nx.name}": wasm matmul = reference.ts bit for bit (model shapes, M 1/2/5/17/32, 1 and 2 threads)`, () => {
    for (const type of types) {
      test(ggmlTypeName(type), async () => {
        const b = await backends(nx);
        let cases = 0;
        const kernels = new Set<string>();
        for (const [ne0, ne1] of SHAPES) {
          if (ne0 % (SUPER.has(type) ? 256 : 32) !== 0) continue;
          for (const k of check(b, type, ne0, ne1, MS)) kernels.add(k);
          cases++;
        }
        assert.ok(cases >= 4);
        // the model's shapes must not fall back to the reference for the types that have kernels
        if (KERNEL_AT_MODEL_SHAPES[nx.name]!.has(type)) {
          if (type === T.BF16) kernels.delete("reference"); // M == 1: ggml_vec_dot_bf16 has no wasm kernel (wasm-plan.ts)
          assert.ok(!kernels.has("reference"), `${ggmlTypeName(type)} used the reference: ${[...kernels].join(", ")}`);
        }
      });
    }
  });
  if (edges) {
    describe(`numerics "${nx.name}": wasm matmul = reference.ts bit for bit (repack / plain CPU buffer shapes)`, () => {
      for (const type of types) {
        test(ggmlTypeName(type), async () => {
          const b = await backends(nx);
          for (const [ne0, ne1] of EDGE_SHAPES) {
            if (ne0 % (SUPER.has(type) ? 256 : 32) !== 0) continue;
            check(b, type, ne0, ne1, EDGE_MS);
          }
        });
      }
    });
  }
}

test("kernel choice follows the reference's code path", () => {
  const amx = numericsByName("amx"),
    avx2 = numericsByName("avx2");
  const k = (type: GGMLType, ne0: number, ne1: number, m: number, nx = amx) => planMatmul(nx, type, ne0, ne1, m)?.fn ?? "reference";
  assert.equal(k(T.Q8_0, 768, 256, 1), "chainQ8_0"); // AMX, M == 1 (VNNI) and M > 1 alike
  assert.equal(k(T.Q8_0, 768, 256, 1, AVX512), "lanesQ8_0"); // no AMX: vec_dot (M == 1) and tinyBLAS_Q0_AVX, one order
  assert.equal(k(T.Q8_0, 768, 256, 5, avx2), "lanesQ8_0");
  assert.equal(k(T.Q4_0, 768, 256, 5, AVX512), "chainQ4_0"); // CPU_REPACK
  assert.equal(k(T.F32, 768, 256, 2, avx2), "reference"); // 8-lane tinyBLAS: no kernel
  assert.equal(k(T.BF16, 768, 256, 2, numericsByName("avx512-nobf16")), "reference"); // tinyBLAS<16, f32> on bf16: no kernel
  assert.equal(k(T.Q8_0, 768, 13, 5), "lanesQ8_0"); // plain CPU: vec_dot
  assert.equal(k(T.Q4_0, 768, 40, 5), "chainQ4_0"); // CPU_REPACK
  assert.equal(k(T.IQ4_NL, 768, 40, 1), "chainIQ4_NL");
  assert.equal(k(T.IQ4_NL, 768, 13, 2), "lanesIQ4_NL"); // tinyBLAS_Q0_AVX
  assert.equal(k(T.IQ4_NL, 768, 13, 1), "reference"); // vec_dot_iq4_nl's even/odd split
  assert.equal(k(T.F16, 768, 256, 1), "f16Sgemm");
  assert.equal(k(T.F16, 768, 13, 2), "reference"); // N % 4 != 0: vec_dot_f16
  assert.equal(k(T.F32, 768, 256, 1), "f32VecDot");
  assert.equal(k(T.F32, 768, 256, 2), "f32Sgemm");
  assert.equal(k(T.BF16, 768, 256, 2), "bf16Sgemm");
  assert.equal(k(T.IQ4_XS, 768, 24, 8), "chainIQ4_XS"); // IQ panel gemm
  assert.equal(k(T.IQ4_XS, 768, 24, 7), "lanesIQ4_XS"); // vec_dot_iq4_xs_q8_K
  assert.equal(k(T.Q2_K, 768, 256, 4), "repackQ2_K"); // q2_K 8x8 (AVX-512 only)
  assert.equal(k(T.Q2_K, 768, 256, 4, avx2), "lanesQ2_K");
  assert.equal(k(T.Q3_K, 768, 256, 4), "lanesQ3_K");
  assert.equal(k(T.Q4_K, 768, 40, 4), "repackQ4_K"); // q4_K 8x8
  assert.equal(planMatmul(amx, T.Q4_K, 768, 40, 5)?.tailFn, "repackQ4_KV"); // the last M % 4 rows: its gemv
  assert.equal(k(T.Q4_K, 768, 13, 4), "lanesQ4_K"); // N % 8 != 0: vec_dot_q4_K_q8_K
  for (const t of [T.Q4_K, T.Q5_K, T.Q6_K])
    assert.equal(k(t, 768, 256, 4, AVX512), t === T.Q4_K ? "repackQ4_K" : `lanes${ggmlTypeName(t)}`);
});

test("weights outside wasm memory use the reference", () => {
  const bytes = quantizeRows(T.Q8_0, values(256 * 32, 5), 256);
  const w = { name: "foreign", type: T.Q8_0, ne0: 256, ne1: 32, data: bytes };
  assert.equal(be1.kernelFor(w), "reference");
  const x = values(256 * 2, 6),
    ref = new Float32Array(64),
    got = new Float32Array(64);
  createJsBackend(AVX512).matmul(w, x, 2, ref);
  be1.matmul(w, x, 2, got);
  assert.deepEqual(got, ref);
});

/**
 * One baseline lanes kernel (wasm/lanes.as) called directly on be1's own instance (whose test hooks
 * count its tiles): W (N rows of K, raw `bytes`) · x (M, K) -> out (M, N), with the tile counters'
 * increments [fast, checked, fix-ups]; `force`: take the fast tile whatever its bound says.
 */
function lanesDirect(type: GGMLType, bytes: Uint8Array, K: number, N: number, x: Float32Array, M: number, force = false, family = "lanes") {
  const ex = be1.exports;
  const count = family === "lanes" ? ex.lanesTileCount! : ex.chainTileCount!;
  const nb = K / 32,
    tP = Math.ceil(M / 4) * 4,
    kind = type === T.Q4_1 || type === T.Q5_1 ? 1 : 0;
  const ptr = (n: number) => be1.alloc(n).byteOffset;
  const xp = ptr(4 * K * M),
    blk = ptr(36 * nb + 64),
    act = ptr(112 * nb * M),
    sd = ptr(8 * nb * tP),
    scr = ptr(72 * nb),
    wv = be1.alloc(bytes.length),
    op = ptr(4 * N * M);
  wv.set(bytes);
  new Float32Array(be1.memory.buffer, xp, K * M).set(x);
  const before = [0, 1, 2].map((k) => count(k));
  ex.prepareActivations!(xp, M, K, kind, blk, act, 112 * nb, sd, tP, 0);
  ex.lanesForceFast!(force ? 1 : 0);
  ex[`${family}${ggmlTypeName(type)}`]!(wv.byteOffset, rowBytes(type, K), 0, N, act, 112 * nb, M, op, N, nb, sd, tP, scr, 0, 0);
  ex.lanesForceFast!(0);
  const out = new Float32Array(new Float32Array(be1.memory.buffer, op, N * M));
  return { out, counts: [0, 1, 2].map((k) => count(k) - before[k]!) };
}

/** Raw Q8_0 rows: per block an fp16 scale from `scale(row, block)` and int8 quants from `q(row, i)`. */
function q8Rows(K: number, N: number, scale: (r: number, b: number) => number, q: (r: number, i: number) => number): Uint8Array {
  const bytes = new Uint8Array((N * K * 34) / 32);
  const dv = new DataView(bytes.buffer);
  for (let r = 0; r < N; r++) {
    for (let b = 0; b < K / 32; b++) {
      const o = (r * K * 34) / 32 + b * 34;
      dv.setUint16(o, f32ToFp16(scale(r, b)), true);
      for (let j = 0; j < 32; j++) dv.setInt8(o + 2 + j, q(r, b * 32 + j));
    }
  }
  return bytes;
}

describe("baseline lanes kernels: fast tiles where the scale-span bound proves every f64 add exact, checked tiles elsewhere", () => {
  const js = createJsBackend(AVX512);
  const reference = (type: GGMLType, bytes: Uint8Array, K: number, N: number, x: Float32Array, M: number) => {
    const ref = new Float32Array(N * M);
    js.matmul({ name: "w", type, ne0: K, ne1: N, data: bytes }, x, M, ref);
    return ref;
  };

  test("model-like data takes the fast tiles only and equals the reference (every legacy lanes type, M 1/2/5)", () => {
    const K = 768,
      N = 13; // N % 8 != 0: no repack buffer for Q4_0 / IQ4_NL, so the reference takes the lanes order
    for (const type of [T.Q8_0, T.Q4_0, T.Q5_0, T.IQ4_NL, T.Q4_1, T.Q5_1]) {
      const r = rng(type + 7);
      const bytes = quantizeRows(
        type,
        new Float32Array(K * N).map(() => r() * 0.05),
        K,
      );
      for (const M of [1, 2, 5]) {
        if (planMatmul(AVX512, type, K, N, M)?.fn !== `lanes${ggmlTypeName(type)}`) continue; // IQ4_NL at M == 1: no kernel
        const x = new Float32Array(K * M).map(() => r() * (1 + 20 * Math.abs(r()))); // block scales spread ~20x
        const { out, counts } = lanesDirect(type, bytes, K, N, x, M);
        assert.equal(differing(reference(type, bytes, K, N, x, M), out), "", `${ggmlTypeName(type)} M=${M}`);
        assert.ok(counts[0]! > 0 && counts[1] === 0, `${ggmlTypeName(type)} M=${M}: tiles fast/checked ${counts}`);
      }
    }
  });

  test("fast tiles on short sums (power-of-two scales, exact f32 ties: rounded to even by f32.demote) equal the reference", () => {
    const K = 256,
      N = 16;
    const r = rng(99);
    const bytes = q8Rows(
      K,
      N,
      (row, b) => 2 ** -((row + b) % 3) / 64,
      () => Math.round(r() * 127),
    );
    for (const M of [1, 2, 7]) {
      const x = new Float32Array(K * M).map((_, i) => (i % 32 === 0 ? 127 : Math.round(r() * 127)) / 256); // da = 2^-8
      const { out, counts } = lanesDirect(T.Q8_0, bytes, K, N, x, M);
      assert.equal(differing(reference(T.Q8_0, bytes, K, N, x, M), out), "", `M=${M}`);
      assert.ok(counts[0]! > 0 && counts[1] === 0, `M=${M}: tiles fast/checked ${counts}`);
    }
  });

  test("a double rounding built on purpose: the bound fails, the checked tile runs its fix-up and equals the reference; forced fast misrounds", () => {
    // One row, K = 64. Lane 0 of block 0: dw 2^-24 · da 2^-20 · 127 = c = 127·2^-44 (< half an f64 ulp of p below).
    // Lane 0 of block 1: dw 2047·2^-10 · da 2047·4 · 5 = p = 20951045·2^-8, exactly between two f32 values
    // (25 bits, the lower one even). fma(d, 5, c) rounds up; f32(f64(p + c)) = f32(p) rounds to even, down.
    const K = 64,
      N = 2;
    const bytes = q8Rows(
      K,
      N,
      (_, b) => (b === 0 ? 2 ** -24 : 2047 / 1024),
      (_, i) => (i === 0 || i === 32 ? 1 : 0),
    );
    for (const M of [1, 2]) {
      const x = new Float32Array(K * M);
      for (let t = 0; t < M; t++) {
        x[t * K] = 127 * 2 ** -20; // block 0: amax -> da = 2^-20, q = 127
        x[t * K + 32] = 5 * 8188; // block 1: q = 5
        x[t * K + 63] = 127 * 8188; // block 1: amax -> da = 8188 (weight 0 there)
      }
      const ref = reference(T.Q8_0, bytes, K, N, x, M);
      assert.equal(ref[0], Math.fround(20951046 * 2 ** -8), "the reference rounds up (fma with c > 0)");
      const { out, counts } = lanesDirect(T.Q8_0, bytes, K, N, x, M);
      assert.equal(differing(ref, out), "", `M=${M}`);
      assert.ok(counts[0] === 0 && counts[1]! > 0 && counts[2]! > 0, `M=${M}: tiles fast/checked/fix-ups ${counts}`);
      const forced = lanesDirect(T.Q8_0, bytes, K, N, x, M, true);
      assert.equal(forced.out[0], Math.fround(20951044 * 2 ** -8), `M=${M}: the fast tile alone double-rounds (to even, down)`);
    }
  });
});

test("baseline chain kernels skip the per-step test under the same bound (2^33 for 32-element sums): model-like data unchecked, the built double rounding checked, both = the reference", () => {
  const amx = numericsByName("amx"),
    js = createJsBackend(amx);
  const r = rng(5);
  const K = 768,
    N = 32; // the AMX buffer takes N % 32 == 0
  for (const type of [T.Q8_0, T.Q4_0, T.Q4_1]) {
    const bytes = quantizeRows(
      type,
      new Float32Array(K * N).map(() => r() * 0.05),
      K,
    );
    const x = new Float32Array(K * 8).map(() => r() * (1 + 20 * Math.abs(r())));
    assert.equal(planMatmul(amx, type, K, N, 8)?.fn, `chain${ggmlTypeName(type)}`);
    const ref = new Float32Array(N * 8);
    js.matmul({ name: "w", type, ne0: K, ne1: N, data: bytes }, x, 8, ref);
    const { out, counts } = lanesDirect(type, bytes, K, N, x, 8, false, "chain");
    assert.equal(differing(ref, out), "", ggmlTypeName(type));
    assert.ok(counts[0]! > 0 && counts[1] === 0, `${ggmlTypeName(type)}: tiles unchecked/checked ${counts}`);
  }
  // the lanes test's built double rounding is one in the chain order too (one nonzero product per block)
  const K2 = 64,
    N2 = 32,
    M = 4;
  const bytes = q8Rows(
    K2,
    N2,
    (_, b) => (b === 0 ? 2 ** -24 : 2047 / 1024),
    (_, i) => (i === 0 || i === 32 ? 1 : 0),
  );
  const x = new Float32Array(K2 * M);
  for (let t = 0; t < M; t++) [x[t * K2], x[t * K2 + 32], x[t * K2 + 63]] = [127 * 2 ** -20, 5 * 8188, 127 * 8188];
  assert.equal(planMatmul(amx, T.Q8_0, K2, N2, M)?.fn, "chainQ8_0");
  const ref = new Float32Array(N2 * M);
  js.matmul({ name: "w", type: T.Q8_0, ne0: K2, ne1: N2, data: bytes }, x, M, ref);
  assert.equal(ref[0], Math.fround(20951046 * 2 ** -8));
  const { out, counts } = lanesDirect(T.Q8_0, bytes, K2, N2, x, M, false, "chain");
  assert.equal(differing(ref, out), "");
  assert.ok(counts[0] === 0 && counts[1]! > 0, `tiles unchecked/checked ${counts}`);
});

test("wasm fma2 = fma32 = the correctly rounded f32 fma (double-rounding midpoints, subnormals)", () => {
  const a: number[] = [],
    b: number[] = [],
    c: number[] = [];
  const r = rng(61);
  for (let i = 0; i < 3000; i++) {
    a.push(Math.fround(r() * 2 ** ((i % 17) - 8)));
    b.push(Math.fround(r() * 2 ** ((i % 5) - 2)));
    c.push(Math.fround(r() * 2 ** ((i % 23) - 6)));
  }
  for (let i = 0; i < 2000; i++) {
    // a·b ≈ ±ulp(c)/2: the f64 sum lands on (or next to) an f32 midpoint
    const ci = Math.fround(r() * 2 ** ((i % 40) - 20)) || 1;
    const half = 2 ** (Math.floor(Math.log2(Math.abs(ci))) - 24);
    const [ai, bi] = [
      [half * (1 + 2 ** -23), 1 - 2 ** -23],
      [half * (1 + 2 ** -23), 1 + 2 ** -23],
      [-half * (1 + 2 ** -23), 1 - 2 ** -23],
      [half, 1],
      [-half, 1],
    ][i % 5]!;
    a.push(Math.fround(ai!));
    b.push(Math.fround(bi!));
    c.push(ci);
  }
  for (let i = 0; i < 200; i++) {
    // results near and below 2^-126
    a.push(Math.fround(r() * 2 ** -70));
    b.push(Math.fround(r() * 2 ** -60));
    c.push(Math.fround(r() * 2 ** -128));
  }
  const n = a.length;
  const mem = be1.alloc(16 * n);
  const f = new Float32Array(mem.buffer, mem.byteOffset, 4 * n);
  f.set(a, 0);
  f.set(b, n);
  f.set(c, 2 * n);
  be1.exports.fmaCheck!(mem.byteOffset, mem.byteOffset + 4 * n, mem.byteOffset + 8 * n, mem.byteOffset + 12 * n, n);
  let naiveWrong = 0;
  for (let i = 0; i < n; i++) {
    const want = exactFma32(a[i]!, b[i]!, c[i]!);
    assert.ok(
      Object.is(f[3 * n + i], want) && Object.is(fma32(a[i]!, b[i]!, c[i]!), want),
      `fma(${a[i]}, ${b[i]}, ${c[i]}): wasm ${f[3 * n + i]}, ref ${fma32(a[i]!, b[i]!, c[i]!)}, exact ${want}`,
    );
    if (Math.fround(a[i]! * b[i]! + c[i]!) !== want) naiveWrong++;
  }
  assert.ok(naiveWrong > 100, `only ${naiveWrong} cases exercise the midpoint fix`);
});

describe("wasm activation quantizers are byte-identical to src/quant/activation.ts", () => {
  const cases: Array<[string, (s: Float32Array, so: number, d: Uint8Array, o: number, n: number) => void, number, number]> = [
    ["quantizeRowQ8_0", quantizeRowQ8_0, 32, 34],
    ["quantizeRowQ8_1", quantizeRowQ8_1, 32, 36],
    ["quantizeRowQ8_K", quantizeRowQ8_K, 256, 292],
  ];
  for (const [name, ref, bs, bb] of cases) {
    test(name, () => {
      const n = 3072;
      const x = values(n, 77);
      x[300] = 0.5 / (127 / 1); // values near rounding ties
      for (let i = 512; i < 544; i++) x[i] = (i - 528) * 0.25; // exact ties after scaling
      x[700] = -x[701]!; // equal |max| of both signs: the first one wins in Q8_K
      for (let i = 1024; i < 1280; i++) x[i] = 1e-40 * (i - 1100); // subnormals
      const want = new Uint8Array((n / bs) * bb);
      ref(x, 0, want, 0, n);
      const xs = be1.alloc(4 * n),
        out = be1.alloc(want.length);
      new Float32Array(xs.buffer, xs.byteOffset, n).set(x);
      be1.exports[name]!(xs.byteOffset, out.byteOffset, n);
      assert.deepEqual(Array.from(out), Array.from(want));
    });
  }
});

// Relaxed SIMD: Node 20 needs --experimental-wasm-relaxed-simd; check it in a child process.
const CHILD = fileURLToPath(new URL("../helpers/relaxed-child.js", import.meta.url));
const inProcess = WebAssembly.validate(relaxedBytes());
const probe = inProcess
  ? null
  : spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", CHILD, "--probe"], { encoding: "utf8", timeout: 60_000 });
const childHasRelaxed = inProcess || probe?.stdout.trim() === "relaxed";
const where = inProcess ? "in this process" : "in a child process with --experimental-wasm-relaxed-simd";

if (childHasRelaxed) {
  test(`relaxed SIMD: self-check passes and relaxed kernels equal the reference bit for bit (${where})`, () => {
    const args = inProcess ? [CHILD, "--compare"] : ["--experimental-wasm-relaxed-simd", CHILD, "--compare"];
    const r = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim().split("\n").pop()!) as { relaxed: boolean; mismatches: number; cases: number };
    assert.equal(res.relaxed, true);
    assert.ok(res.cases > 0);
    assert.equal(res.mismatches, 0);
  });
} else {
  test("relaxed SIMD UNAVAILABLE even in a child process with --experimental-wasm-relaxed-simd: only the baseline kernels were tested", () => {});
}

test("without relaxed SIMD (plain Node 20) the backend falls back to baseline SIMD", async () => {
  const be = await createWasmBackend({ numerics: AVX512, threads: 1 });
  assert.equal(be.relaxedSimd, inProcess);
  await be.close();
});

test("pool shutdown: the process exits after close(), and also without it (workers are unref'd)", () => {
  for (const mode of ["--exit-after-close", "--exit-without-close"]) {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [CHILD, mode], { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.signal, null, `${mode}: killed after ${Date.now() - t0} ms (hang at exit)`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /done/);
  }
});
