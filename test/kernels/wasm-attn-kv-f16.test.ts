/**
 * WASM f16-KV causal attention (src/kernels/wasm/attention-f16.as via the wasm backend's
 * attentionKvF16) vs the TypeScript reference kernels/attn-kv-f16.ts attentionKvF16, bit for bit:
 * every numerics profile (amx, avx512, avx512-nobf16: tinyBLAS kn 16; avx2: kn 8), the baseline and
 * relaxed modules, 1 and 2 threads; T ∈ {1, 2, 15, 16, 17, 100, 300} (300: a cache row of 512),
 * GQA 4/2 at hd 128 and Qwen3-0.6B's 16/8 at hd 128, hd 12 and 24 (hd % 16 != 0: the score dots
 * take ggml_vec_dot_f16 on kn 16) and hd 6 (hd % 4 != 0: the output dots take ggml_vec_dot_f16
 * too). q, k, v have magnitudes from 2^-20 (f16 subnormals) to 2^4; one case puts values past
 * f16's range (inf after rounding, NaN rows) and on f16 rounding ties. NaN equals NaN here (the
 * two sides may carry different NaN payloads); every other value must have the same bits.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { attentionKvF16 } from "../../src/kernels/attn-kv-f16.js";
import { type NumericsName, numericsByName } from "../../src/kernels/numerics.js";
import { createWasmBackend, type WasmBackend } from "../../src/kernels/wasm.js";
import { relaxedBytes } from "../../src/kernels/wasm-module.js";

// The relaxed module: in this process when the runtime validates it, else (Node 20) this file runs
// again in a child with --experimental-wasm-relaxed-simd and RELAXED_CHILD set, testing only it there.
const CHILD = process.env.GGUF_EMBED_ATTNF16_RELAXED_CHILD === "1";
const relaxedHere = WebAssembly.validate(relaxedBytes());

/** Deterministic values: sign · u · 2^e, u in [0.5, 1), e uniform in [eLo, eHi]. */
function values(n: number, seed: number, eLo: number, eHi: number): Float32Array {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const e = eLo + Math.floor(next() * (eHi - eLo + 1));
    v[i] = (next() < 0.5 ? -1 : 1) * (0.5 + next() / 2) * 2 ** e;
  }
  return v;
}

/** f16's edges: overflow (>= 65520 -> inf), the largest finite, rounding ties, subnormals. */
function withEdges(x: Float32Array, every: number, seed: number): Float32Array {
  const edges = [65520, 70000, 65504, 65519.99, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -25, 3 * 2 ** -25, 2 ** -14 - 2 ** -25, 1e-9];
  for (let i = seed % every; i < x.length; i += every) x[i] = (i & 1 ? -1 : 1) * edges[((i / every + seed) % edges.length) | 0]!;
  return x;
}

interface Case {
  T: number;
  nHead: number;
  nHeadKv: number;
  hd: number;
  edges?: boolean;
}

const CASES: Case[] = [
  ...[1, 2, 15, 16, 17, 100, 300].map((T) => ({ T, nHead: 4, nHeadKv: 2, hd: 128 })),
  { T: 17, nHead: 16, nHeadKv: 8, hd: 128 },
  { T: 100, nHead: 16, nHeadKv: 8, hd: 128 },
  ...[1, 2, 17, 100].map((T) => ({ T, nHead: 4, nHeadKv: 2, hd: 12 })),
  { T: 33, nHead: 2, nHeadKv: 1, hd: 24 },
  ...[2, 17].map((T) => ({ T, nHead: 4, nHeadKv: 2, hd: 6 })),
  { T: 40, nHead: 4, nHeadKv: 2, hd: 128, edges: true },
];

const PROFILES: NumericsName[] = ["amx", "avx512", "avx512-nobf16", "avx2"];

/** Index of the first output whose bits differ (NaN = NaN), and how many differ. */
function diff(ref: Float32Array, got: Float32Array): { first: number; n: number } {
  let first = -1,
    n = 0;
  for (let i = 0; i < ref.length; i++) {
    const a = ref[i]!,
      b = got[i]!;
    if (Object.is(a, b) || (a !== a && b !== b)) continue;
    if (first < 0) first = i;
    n++;
  }
  return { first, n };
}

for (const name of PROFILES) {
  describe(`wasm attentionKvF16 = attn-kv-f16.ts bit for bit, profile ${name}`, () => {
    const nx = numericsByName(name);
    const backends: Array<[string, WasmBackend]> = [];
    before(async () => {
      for (const threads of [1, 2]) {
        if (!CHILD)
          backends.push([`baseline, ${threads} thread(s)`, await createWasmBackend({ numerics: nx, threads, relaxedSimd: false })]);
        if (CHILD || relaxedHere) {
          const r = await createWasmBackend({ numerics: nx, threads, relaxedSimd: true });
          backends.push([`relaxed, ${threads} thread(s)`, r]);
        }
      }
    });
    after(async () => {
      for (const [, be] of backends) await be.close();
    });
    for (const { T, nHead, nHeadKv, hd, edges } of CASES) {
      test(`T=${T} heads ${nHead}/${nHeadKv} hd ${hd}${edges ? " (f16 edges)" : ""}`, () => {
        const seed = T * 7919 + hd * 31 + nHead;
        const q = values(T * nHead * hd, seed, -20, 3),
          k = values(T * nHeadKv * hd, seed + 1, -20, 4),
          v = values(T * nHeadKv * hd, seed + 2, -20, 4);
        if (edges) {
          withEdges(k, 997, 3); // a few keys overflow: NaN / inf scores in some rows
          withEdges(v, 13, 5);
          withEdges(q, 101, 7);
        }
        const scale = Math.fround(1 / Math.sqrt(hd));
        const ref = new Float32Array(T * nHead * hd);
        attentionKvF16(nx, q, k, v, ref, T, nHead, nHeadKv, hd, scale);
        let finite = 0;
        for (const x of ref) if (Number.isFinite(x)) finite++;
        if (edges) assert.ok(finite > 0 && finite < ref.length, `the edge case should have finite and non-finite outputs (${finite})`);
        else assert.equal(finite, ref.length, "the reference should be finite");
        for (const [label, be] of backends) {
          const got = new Float32Array(ref.length).fill(12345);
          be.attentionKvF16(q, k, v, got, T, nHead, nHeadKv, hd, scale);
          const { first, n } = diff(ref, got);
          assert.equal(n, 0, `${label}: ${n} of ${ref.length} outputs differ, first at ${first}: ${ref[first]} vs ${got[first]}`);
        }
      });
    }
  });
}

if (!CHILD && !relaxedHere) {
  test("the relaxed module, in a child process with --experimental-wasm-relaxed-simd", () => {
    const self = fileURLToPath(import.meta.url);
    const env: NodeJS.ProcessEnv = { ...process.env, GGUF_EMBED_ATTNF16_RELAXED_CHILD: "1" };
    delete env.NODE_TEST_CONTEXT; // the child reports in plain TAP, not to this runner
    const r = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", "--test", self], {
      encoding: "utf8",
      timeout: 600_000,
      env,
    });
    if (/relaxedSimd: true, but this runtime/.test(r.stdout + r.stderr)) {
      console.log("# NOTICE: no relaxed SIMD even with --experimental-wasm-relaxed-simd: only the baseline module was tested");
      return;
    }
    assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr.slice(-2000));
    assert.match(r.stdout, /# pass [1-9]/);
    assert.match(r.stdout, /# fail 0/);
  });
}

test("the two tinyBLAS widths give different bits on these inputs (the kn 8 / kn 16 cases are not one path)", () => {
  const [T, nHead, nHeadKv, hd] = [100, 4, 2, 128];
  const q = values(T * nHead * hd, 1, -20, 3),
    k = values(T * nHeadKv * hd, 2, -20, 4),
    v = values(T * nHeadKv * hd, 3, -20, 4);
  const a = new Float32Array(T * nHead * hd),
    b = new Float32Array(T * nHead * hd);
  attentionKvF16(numericsByName("avx512"), q, k, v, a, T, nHead, nHeadKv, hd, 0.125);
  attentionKvF16(numericsByName("avx2"), q, k, v, b, T, nHead, nHeadKv, hd, 0.125);
  assert.ok(diff(a, b).n > 0);
});

test("bad shapes are refused with TENSOR_SHAPE", async () => {
  const be = await createWasmBackend({ numerics: numericsByName("avx512"), threads: 1, relaxedSimd: false });
  try {
    const x = new Float32Array(64);
    assert.throws(() => be.attentionKvF16(x, x, x, x, 4, 3, 2, 4, 1), { code: "TENSOR_SHAPE" });
    assert.throws(() => be.attentionKvF16(x, x, x, x, 100, 2, 1, 4, 1), { code: "TENSOR_SHAPE" });
  } finally {
    await be.close();
  }
});
