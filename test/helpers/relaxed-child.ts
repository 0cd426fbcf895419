/**
 * Child process for test/kernels/wasm-matmul.test.ts (does nothing without one of its flags, so the test
 * runner may load it harmlessly):
 *   --probe               print "relaxed" if this runtime validates the relaxed module
 *   --compare             relaxed-backend matmuls (Q8_0, Q4_0, Q4_1, IQ4_NL on their relaxed chain kernels, numerics
 *                         amx, Q8_0 / IQ4_NL / Q4_1 on their panel kernels from 6 tokens, and the K-quants' AMX
 *                         chains; in avx512 the legacy lanes / repack kernels and the K-quant lanes / repack
 *                         ones) and attention vs the reference, JSON on stdout
 *   --exit-after-close    2-thread backend, one matmul, close(); the process must then exit
 *   --exit-without-close  same without close()
 */
import { createJsBackend } from "../../src/kernels/js-backend.js";
import { numericsByName } from "../../src/kernels/numerics.js";
import { attention } from "../../src/kernels/ops.js";
import { createWasmBackend } from "../../src/kernels/wasm.js";
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
    // attention on the relaxed kernels (attention-relaxed.as) vs ops.ts
    for (const [T, window, nHead, nHeadKv, hd] of [
      [1, Infinity, 3, 1, 256],
      [16, Infinity, 3, 1, 256],
      [37, Infinity, 2, 2, 64],
      [300, 256, 3, 1, 256],
      [64, 5, 4, 2, 72],
    ] as const) {
      const q = new Float32Array(T * nHead * hd).map(() => r() * 0.5),
        k = new Float32Array(T * nHeadKv * hd).map(() => r() * 2);
      const v = new Float32Array(T * nHeadKv * hd).map(() => r());
      const o1 = new Float32Array(q.length),
        o2 = new Float32Array(q.length);
      rel.attention(q, k, v, o1, T, nHead, nHeadKv, hd, window);
      attention(nx, q, k, v, o2, T, nHead, nHeadKv, hd, window);
      for (let i = 0; i < o1.length; i++) if (!Object.is(o1[i], o2[i])) mismatches++;
      cases++;
    }
    if (!rel.relaxedSimd) mismatches += 1e6;
    await rel.close();
  }
  console.log(JSON.stringify({ relaxed: mismatches < 1e6, mismatches, cases }));
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
