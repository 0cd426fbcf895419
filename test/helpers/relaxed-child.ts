/**
 * Child process for test/kernels/wasm-matmul.test.ts (does nothing without one of its flags, so the test
 * runner may load it harmlessly):
 *   --probe               print "relaxed" if this runtime validates the relaxed module
 *   --compare             relaxed-backend matmuls (Q8_0, Q4_0, Q4_1, IQ4_NL on their relaxed chain kernels, numerics
 *                         amx, Q8_0 / IQ4_NL / Q4_1 on their panel kernels from 6 tokens, and the K-quants' AMX
 *                         chains; in avx512 the legacy lanes / repack kernels and the K-quant lanes / repack
 *                         ones), attention (also through the f16 KV cache), softmax and SwiGLU vs the
 *                         reference, JSON on stdout
 *   --exit-after-close    2-thread backend, one matmul, close(); the process must then exit
 *   --exit-without-close  same without close()
 */
import { createJsBackend } from "../../src/kernels/js-backend.js";
import { numericsByName } from "../../src/kernels/numerics.js";
import { attentionKvF16 } from "../../src/kernels/attn-kv-f16.js";
import { softmaxGgml } from "../../src/kernels/ggml-order.js";
import { attention } from "../../src/kernels/ops.js";
import { createWasmBackend } from "../../src/kernels/wasm.js";
import { KERNELS } from "../../src/kernels/wasm-calls.js";
import { relaxedBytes } from "../../src/kernels/wasm-module.js";
import { PANEL_BLOCK_BYTES } from "../../src/kernels/wasm-plan.js";
import { quantizeRows } from "../../src/quant/index.js";
import { GGMLType } from "../../src/tensor/ggml-type.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
}

async function compare(): Promise<void> {
  let mismatches = 0,
    cases = 0;
  const r = rng(3);
  const K = [GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K, GGMLType.IQ4_XS];
  const avx512Types = [GGMLType.Q4_0, GGMLType.IQ4_NL, GGMLType.Q8_0, GGMLType.Q5_0, GGMLType.Q4_1, GGMLType.Q5_1, ...K];
  for (const [nx, types] of [
    [
      numericsByName("amx"),
      [GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.Q4_1, GGMLType.IQ4_NL, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K, GGMLType.IQ4_XS],
    ],
    [numericsByName("avx512"), avx512Types],
  ] as const) {
    const rel = await createWasmBackend({ numerics: nx, threads: 2, relaxedSimd: true });
    const panelBytes = (rel.exports as unknown as Record<string, WebAssembly.Global>).PANEL_BLOCK_BYTES?.value;
    if (panelBytes !== PANEL_BLOCK_BYTES) mismatches += 1_000_000; // wasm-plan.ts mirrors relaxed-panel.as
    const js = createJsBackend(nx);
    for (const type of types) {
      // N % 32 == 0: the AMX chain order (Q4_0 also at N = 40: the repack buffer, same order)
      const shapes = K.includes(type)
        ? ([
            [256, 32, 6],
            [768, 64, 17],
            [512, 40, 5],
            [256, 13, 3],
            [256, 16, 9],
          ] as const)
        : ([
            [32, 32, 1],
            [768, 64, 17],
            [768, 44, 16], // amx Q8_0: 8-row panels from 16 tokens (relaxed-panel.as), 4 rows left
            [512, 72, 33],
            [3072, 32, 3],
            [256, 32, 6],
            [256, 13, 1],
            ...(type === GGMLType.Q4_0 ? [[768, 40, 5] as const] : []),
          ] as const);
      for (const [ne0, ne1, T] of shapes) {
        const vals = new Float32Array(ne0 * ne1).map(() => r());
        const bytes = quantizeRows(type, vals, ne0);
        const wr = rel.alloc(bytes.length);
        wr.set(bytes);
        const x = new Float32Array(ne0 * T).map(() => r() * 10);
        const o1 = new Float32Array(ne1 * T),
          o2 = new Float32Array(ne1 * T);
        rel.matmul({ name: "w", type, ne0, ne1, data: wr }, x, T, o1);
        js.matmul({ name: "w", type, ne0, ne1, data: bytes }, x, T, o2);
        const k = rel.kernelFor({ name: "w", type, ne0, ne1, data: wr }, T);
        if (/^(chain|lanes|repack)/.test(k) && !/[RMUP]$/.test(k)) mismatches += 1000; // must be a relaxed (or USDot) one
        for (let i = 0; i < o1.length; i++) if (!Object.is(o1[i], o2[i])) mismatches++;
        cases++;
      }
    }
    // attention on one thread too: the query pairs of attention-relaxed.as then never start at a thread's odd first row
    const one = await createWasmBackend({ numerics: nx, threads: 1, relaxedSimd: true });
    mismatches += compareAttention([rel, one], nx, r);
    cases += 2 * ATTENTION_CASES.length;
    mismatches += compareSoftmax(rel, r);
    mismatches += compareSwiglu(rel, js, r);
    mismatches += compareAttnKvF16(rel, nx, r);
    cases += 3;
    if (!rel.relaxedSimd || !one.relaxedSimd) mismatches += 1e6;
    // the relaxed-only kernels' families (wasm-calls.ts) against this module's export arities
    for (const k of Object.values(KERNELS)) {
      if (!k.name.endsWith("R")) continue;
      if (rel.exports[k.name]?.length !== k.family.args.length + (k.family.thread ? 1 : 0)) mismatches += 1_000_000;
    }
    await rel.close();
    await one.close();
  }
  console.log(JSON.stringify({ relaxed: mismatches < 1e6, mismatches, cases }));
}

// T, window, nHead, nHeadKv, hd, kqScale: full and windowed rows, query pairs whose kqv steps differ
// (window edges at 64- and 16-element boundaries), T % 16 == 0 (tinyBLAS order) and not, hd with
// vec_dot tails (72, 80, 100), odd T, soft_max_ext scales other than 1 (BERT; an f32, as the model passes it)
const ATTENTION_CASES = [
  [1, Infinity, 3, 1, 256, 1],
  [2, Infinity, 3, 1, 256, 1],
  [3, Infinity, 2, 2, 64, 0.125],
  [16, Infinity, 3, 1, 256, 1],
  [37, Infinity, 2, 2, 64, 1],
  [300, 256, 3, 1, 256, 1],
  [258, 100, 3, 1, 256, 1],
  [272, 100, 3, 1, 256, 1],
  [64, 5, 4, 2, 72, 1],
  [48, 20, 4, 2, 80, Math.fround(1 / Math.sqrt(80))],
  [161, 70, 2, 1, 100, 1],
  [96, 33, 2, 2, 128, 1],
  // small heads (MiniLM hd 32, nomic / bge hd 64, an odd one): keys and dims in lanes for T < 64
  [10, Infinity, 12, 12, 32, Math.fround(1 / Math.sqrt(32))],
  [37, Infinity, 4, 4, 32, Math.fround(1 / Math.sqrt(32))],
  [64, Infinity, 4, 4, 32, 1],
  [45, 9, 3, 3, 24, 1],
  [53, Infinity, 4, 2, 64, 0.125],
  [77, 30, 2, 2, 40, 1],
  [3, Infinity, 2, 2, 16, 1],
] as const;

/** ATTENTION_CASES on each backend's relaxed kernels (attention-relaxed.as) vs ops.ts: the number of outputs that differ. */
function compareAttention(
  bes: Array<Awaited<ReturnType<typeof createWasmBackend>>>,
  nx: ReturnType<typeof numericsByName>,
  r: () => number,
): number {
  let mismatches = 0;
  for (const [T, window, nHead, nHeadKv, hd, kqScale] of ATTENTION_CASES) {
    const q = new Float32Array(T * nHead * hd).map(() => r() * 0.5),
      k = new Float32Array(T * nHeadKv * hd).map(() => r() * 2);
    const v = new Float32Array(T * nHeadKv * hd).map(() => r());
    const ref = new Float32Array(q.length);
    attention(nx, q, k, v, ref, T, nHead, nHeadKv, hd, window, kqScale);
    for (const be of bes) {
      const o = new Float32Array(q.length);
      be.attention(q, k, v, o, T, nHead, nHeadKv, hd, window, kqScale);
      for (let i = 0; i < o.length; i++) if (!Object.is(o[i], ref[i])) mismatches++;
    }
  }
  return mismatches;
}

/**
 * softmax.as softmaxRow in the relaxed module (vexp4R) vs ggml-order.ts softmaxGgml on rows whose spread reaches past
 * exp's normal range: results that are subnormal (scalef's n < -126), zero (n < -149 and
 * |n| > 192), masked -inf entries, exact ties with the max, lengths with and without a tail.
 */
function compareSoftmax(be: Awaited<ReturnType<typeof createWasmBackend>>, r: () => number): number {
  let mismatches = 0;
  const special = [0, -0, -87.3, -87.4, -88.7, -95, -100, -103.2, -103.3, -103.9, -104, -120, -133.1, -150, -Infinity];
  for (const n of [16, 64, 77, 130, 300]) {
    for (const spread of [1, 30, 110, 140, 400]) {
      const row = new Float32Array(n).map(() => r() * spread);
      for (let i = 0; i < n; i += 7) row[i] = special[(i / 7 + n) % special.length]! + (i % 2 ? 0 : 3.5);
      const ref = row.slice();
      softmaxGgml(ref, 0, n);
      const view = be.alloc(4 * n);
      const f = new Float32Array(view.buffer, view.byteOffset, n);
      f.set(row);
      be.exports.softmaxRow!(view.byteOffset, 0, n, 0, n);
      for (let i = 0; i < n; i++) if (!Object.is(f[i], ref[i])) mismatches++;
    }
  }
  return mismatches;
}

/** SwiGLU on the relaxed module (norm.as swigluRows with vexp4R) vs silu.ts, gates reaching exp's edges (|x| past 88 and 104, ±inf, NaN). */
function compareSwiglu(be: Awaited<ReturnType<typeof createWasmBackend>>, js: ReturnType<typeof createJsBackend>, r: () => number): number {
  let mismatches = 0;
  const special = [0, -0, 87.5, -87.5, 89, -89, 103.5, -103.5, 104.2, -104.2, 150, -150, Infinity, -Infinity, NaN];
  for (const [rows, nc] of [
    [3, 3072],
    [4, 200],
    [2, 7],
  ] as const) {
    const g = new Float32Array(rows * nc).map(() => r() * 12),
      up = new Float32Array(rows * nc).map(() => r() * 2);
    for (let i = 0; i < g.length; i += 13) g[i] = special[(i / 13) % special.length]!;
    const a = new Float32Array(g.length),
      b = new Float32Array(g.length);
    be.swiglu(g, up, a, rows, nc);
    js.swiglu(g, up, b, rows, nc);
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) mismatches++;
  }
  return mismatches;
}

/** Causal attention through the f16 KV cache (attention-f16.as, its softmax on vexp4R) vs attn-kv-f16.ts: Qwen3's heads, odd T, scores with spread. */
function compareAttnKvF16(
  be: Awaited<ReturnType<typeof createWasmBackend>>,
  nx: ReturnType<typeof numericsByName>,
  r: () => number,
): number {
  let mismatches = 0;
  for (const [T, nHead, nHeadKv, hd] of [
    [37, 4, 2, 128],
    [70, 2, 1, 64],
  ] as const) {
    const q = new Float32Array(T * nHead * hd).map(() => r() * 3),
      k = new Float32Array(T * nHeadKv * hd).map(() => r() * 3),
      v = new Float32Array(T * nHeadKv * hd).map(() => r());
    const a = new Float32Array(q.length),
      b = new Float32Array(q.length);
    be.attentionKvF16(q, k, v, a, T, nHead, nHeadKv, hd, 1 / Math.sqrt(hd));
    attentionKvF16(nx, q, k, v, b, T, nHead, nHeadKv, hd, 1 / Math.sqrt(hd));
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) mismatches++;
  }
  return mismatches;
}

async function exitTest(close: boolean): Promise<void> {
  const be = await createWasmBackend({ numerics: numericsByName("avx512"), threads: 2 });
  const bytes = quantizeRows(GGMLType.Q8_0, new Float32Array(256 * 8).fill(0.5), 256);
  const data = be.alloc(bytes.length);
  data.set(bytes);
  const out = new Float32Array(8 * 4);
  be.matmul({ name: "w", type: GGMLType.Q8_0, ne0: 256, ne1: 8, data }, new Float32Array(256 * 4).fill(1), 4, out);
  if (close) await be.close();
  console.log("done", out[0]);
}

const flag = process.argv[2];
if (flag === "--probe") console.log(WebAssembly.validate(relaxedBytes()) ? "relaxed" : "baseline");
else if (flag === "--compare") await compare();
else if (flag === "--exit-after-close") await exitTest(true);
else if (flag === "--exit-without-close") await exitTest(false);
