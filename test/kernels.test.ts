/**
 * WASM kernels vs the scalar reference (src/kernels/reference.ts via jsBackend, and
 * src/quant/activation.ts): the reference path is the only oracle. Block types must match bit
 * for bit; float types within 1e-7 relative (they only differ in f64 summation order).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { jsBackend } from "../src/kernels/js-backend.js";
import { attention } from "../src/kernels/ops.js";
import { createWasmBackend, type WasmBackend } from "../src/kernels/wasm.js";
import { relaxedBytes } from "../src/kernels/wasm-module.js";
import { quantizeRowQ8_0, quantizeRowQ8_1, quantizeRowQ8_K } from "../src/quant/activation.js";
import { quantizeRows } from "../src/quant/index.js";
import { GGMLType, ggmlTypeName } from "../src/tensor/ggml-type.js";

const TYPES = [GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.F16, GGMLType.F32, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K, GGMLType.Q5_0, GGMLType.Q5_1,
  GGMLType.BF16, GGMLType.Q4_1, GGMLType.IQ4_NL, GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.IQ4_XS];
const FLOAT = new Set([GGMLType.F32, GGMLType.F16, GGMLType.BF16]);
const NE0 = [32, 256, 768, 1152, 3072];
const NTOK = [1, 3, 17];

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

function compare(ref: Float32Array, got: Float32Array): { neq: number; maxRel: number } {
  let neq = 0, maxRel = 0;
  for (let i = 0; i < ref.length; i++) {
    if (Object.is(ref[i], got[i])) continue;
    neq++;
    maxRel = Math.max(maxRel, Math.abs(ref[i]! - got[i]!) / Math.max(Math.abs(ref[i]!), 1e-30));
  }
  return { neq, maxRel };
}

for (const threads of [1, 2]) {
  describe(`wasm matmul vs reference, ${threads} thread(s)`, () => {
    let be: WasmBackend;
    before(async () => { be = await createWasmBackend({ threads, relaxedSimd: false }); });
    after(async () => { await be.close(); });

    for (const type of TYPES) {
      test(`${ggmlTypeName(type)}`, () => {
        assert.equal(be.threads, threads);
        const bs = type === GGMLType.Q4_K || type === GGMLType.Q5_K || type === GGMLType.Q6_K || type === GGMLType.Q2_K || type === GGMLType.Q3_K || type === GGMLType.IQ4_XS ? 256 : 32;
        let cases = 0;
        for (const ne0 of NE0) {
          if (ne0 % bs !== 0) continue;
          const ne1 = ne0 === 3072 ? 9 : 13; // odd: exercises the tile edge
          const bytes = quantizeRows(type, values(ne0 * ne1, ne0 + type), ne0);
          const data = be.alloc(bytes.length);
          data.set(bytes);
          const w = { name: "w", type, ne0, ne1, data };
          for (const T of NTOK) {
            const x = values(ne0 * T, 1000 + T);
            for (let i = 0; i < ne0; i++) x[(T - 1) * ne0 + i] *= 1e3; // one large-magnitude token
            const ref = new Float32Array(T * ne1), got = new Float32Array(T * ne1);
            jsBackend.matmul(w, x, T, ref);
            be.matmul(w, x, T, got);
            const { neq, maxRel } = compare(ref, got);
            if (FLOAT.has(type)) assert.ok(maxRel <= 1e-7, `${ggmlTypeName(type)} ne0=${ne0} T=${T}: max rel ${maxRel}`);
            else assert.equal(neq, 0, `${ggmlTypeName(type)} ne0=${ne0} T=${T}: ${neq} outputs differ (max rel ${maxRel})`);
            cases++;
          }
        }
        assert.ok(cases > 0);
      });
    }

    test("types without a kernel and weights outside wasm memory use the reference", () => {
      for (const t of [GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.IQ4_XS]) {
        assert.equal(be.kernelFor({ name: "w", type: t, ne0: 256, ne1: 1, data: be.alloc(256) }), "reference");
      }
      const bytes = quantizeRows(GGMLType.Q8_0, values(256 * 4, 5), 256);
      const w = { name: "foreign", type: GGMLType.Q8_0, ne0: 256, ne1: 4, data: bytes };
      assert.equal(be.kernelFor(w), "reference");
      const x = values(256 * 2, 6), ref = new Float32Array(8), got = new Float32Array(8);
      jsBackend.matmul(w, x, 2, ref);
      be.matmul(w, x, 2, got);
      assert.deepEqual(got, ref);
    });

    test("attention matches ops.ts (T = 1, 7, 300; window 256 and Infinity; nHead 3, nHeadKv 1, hd 256)", () => {
      for (const T of [1, 7, 300]) {
        for (const window of [256, Infinity]) {
          const q = values(T * 3 * 256, T).map((v) => v / 16), k = values(T * 256, T + 1), v = values(T * 256, T + 2);
          const ref = new Float32Array(T * 3 * 256), got = new Float32Array(T * 3 * 256);
          attention(q, k, v, ref, T, 3, 1, 256, window);
          be.attention(q, k, v, got, T, 3, 1, 256, window);
          assert.ok(compare(ref, got).maxRel <= 1e-7, `T=${T} window=${window}`);
        }
      }
    });
  });
}

describe("wasm activation quantizers are byte-identical to src/quant/activation.ts", () => {
  let be: WasmBackend;
  before(async () => { be = await createWasmBackend({ threads: 1 }); });
  after(async () => { await be.close(); });
  const cases: Array<[string, (s: Float32Array, so: number, d: Uint8Array, o: number, n: number) => void, number, number]> = [
    ["quantizeRowQ8_0", quantizeRowQ8_0, 32, 34], ["quantizeRowQ8_1", quantizeRowQ8_1, 32, 36], ["quantizeRowQ8_K", quantizeRowQ8_K, 256, 292],
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
      const xs = be.alloc(4 * n), out = be.alloc(want.length);
      new Float32Array(xs.buffer, xs.byteOffset, n).set(x);
      be.exports[name]!(xs.byteOffset, out.byteOffset, n);
      assert.deepEqual(Array.from(out), Array.from(want));
    });
  }
});

// Relaxed SIMD: Node 20 needs --experimental-wasm-relaxed-simd; check it in a child process.
const CHILD = fileURLToPath(new URL("./helpers/relaxed-child.js", import.meta.url));
const inProcess = WebAssembly.validate(relaxedBytes());
const probe = inProcess ? null : spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", CHILD, "--probe"], { encoding: "utf8", timeout: 60_000 });
const childHasRelaxed = inProcess || probe?.stdout.trim() === "relaxed";
const where = inProcess ? "in this process" : "in a child process with --experimental-wasm-relaxed-simd";

if (childHasRelaxed) {
  test(`relaxed SIMD: self-check passes and relaxed kernels equal baseline bit for bit (${where})`, () => {
    const args = inProcess ? [CHILD, "--compare"] : ["--experimental-wasm-relaxed-simd", CHILD, "--compare"];
    const r = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 120_000 });
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
  const be = await createWasmBackend({ threads: 1 });
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
