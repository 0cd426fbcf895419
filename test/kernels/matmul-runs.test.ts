/**
 * A batch of several sequences gives every row the bits of its sequence alone (matmul-path.ts
 * matmulRuns), in the reference and on the wasm backend, for the paths whose order depends on the
 * call's token count M: llamafile sgemm (M >= 2), the IQ panel gemm (M >= 8), the repack gemm/gemv
 * split (Q4_K, Q2_K). Without the sequence lengths the same batch gives other bits for each of them
 * (so the test can fail).
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { createJsBackend } from "../../src/kernels/js-backend.js";
import { matmulRuns } from "../../src/kernels/matmul-path.js";
import { numericsByName } from "../../src/kernels/numerics.js";
import { createWasmBackend, type WasmBackend } from "../../src/kernels/wasm.js";
import { quantizeRows } from "../../src/quant/index.js";
import { GGMLType, ggmlTypeName } from "../../src/tensor/ggml-type.js";

const T = GGMLType;
const SEQS = [1, 3, 5, 8, 10, 2, 4, 9]; // lengths around every threshold (1, 2, 4, 8)
const N_TOK = SEQS.reduce((a, b) => a + b, 0);

function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return new Float32Array(n).map(() => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1);
}

const wasm: WasmBackend[] = [];
after(async () => {
  for (const b of wasm) await b.close();
});

for (const [profile, type, ne0, ne1] of [
  ["avx512", T.Q4_K, 768, 256],
  ["avx512", T.Q2_K, 768, 256],
  ["avx512", T.F16, 768, 256],
  ["avx512", T.BF16, 768, 256],
  ["avx512", T.F32, 768, 256],
  ["avx512", T.IQ4_NL, 768, 13],
  ["avx512", T.IQ4_XS, 768, 256],
  ["avx2", T.F16, 768, 256],
  ["amx", T.IQ4_NL, 768, 13],
] as const) {
  test(`${profile} ${ggmlTypeName(type)} ${ne0}x${ne1}: a packed batch equals each sequence alone, bit for bit (js and wasm)`, async () => {
    const nx = numericsByName(profile);
    const js = createJsBackend(nx);
    const be = await createWasmBackend({ numerics: nx, threads: 2, relaxedSimd: false });
    wasm.push(be);
    const bytes = quantizeRows(type, values(ne0 * ne1, type + ne1), ne0);
    const data = be.alloc(bytes.length);
    data.set(bytes);
    const w = { name: "w", type, ne0, ne1, data };
    const x = values(ne0 * N_TOK, 99);
    const solo = new Float32Array(N_TOK * ne1);
    let at = 0;
    for (const len of SEQS) {
      js.matmul(w, x.subarray(at * ne0, (at + len) * ne0), len, solo.subarray(at * ne1, (at + len) * ne1));
      at += len;
    }
    const batchJs = new Float32Array(N_TOK * ne1),
      batchWasm = new Float32Array(N_TOK * ne1),
      oneSeq = new Float32Array(N_TOK * ne1);
    js.matmul(w, x, N_TOK, batchJs, SEQS);
    be.matmul(w, x, N_TOK, batchWasm, SEQS);
    js.matmul(w, x, N_TOK, oneSeq);
    assert.deepEqual(batchJs, solo, "reference");
    assert.deepEqual(batchWasm, solo, "wasm");
    assert.notDeepEqual(oneSeq, solo, "without seqLen the batch should differ (else this case tests nothing)");
    assert.ok(matmulRuns(nx, type, ne0, ne1, N_TOK, SEQS).length > 1);
  });
}

test("matmulRuns: one run where the order does not depend on M; runs that keep each row's class otherwise", () => {
  const avx512 = numericsByName("avx512"),
    amx = numericsByName("amx");
  assert.deepEqual(matmulRuns(avx512, T.Q8_0, 768, 256, N_TOK, SEQS), [[0, N_TOK]]);
  assert.deepEqual(matmulRuns(amx, T.Q4_K, 768, 256, N_TOK, SEQS), [[0, N_TOK]]);
  // repack: gemm rows of every sequence (multiples of 4) merge until a gemv tail; tails stand alone
  assert.deepEqual(matmulRuns(avx512, T.Q4_K, 768, 256, 13, [5, 8]), [
    [0, 4],
    [4, 1],
    [5, 8],
  ]);
  // sgemm: sequences of >= 2 rows merge; a 1-row sequence is its own call
  assert.deepEqual(matmulRuns(avx512, T.F16, 768, 256, 7, [2, 1, 1, 3]), [
    [0, 2],
    [2, 1],
    [3, 1],
    [4, 3],
  ]);
  // IQ panel: sequences of >= 8 rows merge; shorter ones stand alone
  assert.deepEqual(matmulRuns(avx512, T.IQ4_XS, 768, 256, 24, [8, 8, 3, 5]), [
    [0, 16],
    [16, 3],
    [19, 5],
  ]);
});
