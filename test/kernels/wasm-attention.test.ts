/**
 * WASM attention (src/kernels/wasm/attention.as via the wasm backend) vs ops.ts attention, bit for
 * bit: T ∈ {1, 4, 16, 37, 300} with full attention, 300 and 600 with the sliding window 256
 * (T % 16 == 0 takes the tinyBLAS kqv order, the others ggml_vec_dot_f32 with its tail rule),
 * EmbeddingGemma's heads (3 query heads sharing 1 kv head, hd 256), a 4/2-head layout with a short
 * head (hd 80: vec_dot tails) and heads narrower than 64 (attention-lanes.as), 1 and 2 threads. The
 * kernels implement the 16-lane (AVX-512) order, which profiles amx, avx512 and avx512-nobf16 share;
 * avx2 runs the reference (checked below).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { numericsByName } from "../../src/kernels/numerics.js";
import { attention } from "../../src/kernels/ops.js";
import { createWasmBackend, type WasmBackend } from "../../src/kernels/wasm.js";

function values(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1) * scale;
  return v;
}

const CASES: Array<[number, number, number, number, number]> = [
  // T, window, nHead, nHeadKv, hd
  [1, Infinity, 3, 1, 256],
  [4, Infinity, 3, 1, 256],
  [16, Infinity, 3, 1, 256],
  [37, Infinity, 3, 1, 256],
  [300, Infinity, 3, 1, 256],
  [300, 256, 3, 1, 256],
  [600, 256, 3, 1, 256],
  [45, 8, 4, 2, 80],
  [48, 20, 4, 2, 80],
  // small heads (attention-lanes.as): 8 keys / 8 dims per pass, fused tail steps for T % 8 != 0
  [37, Infinity, 4, 4, 32],
  [53, 9, 2, 2, 24],
  [70, Infinity, 2, 1, 40],
];

for (const threads of [1, 2]) {
  describe(`wasm attention = ops.ts attention bit for bit, ${threads} thread(s)`, () => {
    let be: WasmBackend;
    const nx = numericsByName("avx512");
    before(async () => {
      be = await createWasmBackend({ numerics: nx, threads, relaxedSimd: false });
    });
    after(async () => {
      await be.close();
    });
    for (const [T, window, nHead, nHeadKv, hd] of CASES) {
      test(`T=${T} window=${window} heads ${nHead}/${nHeadKv} hd ${hd}`, () => {
        // scores of a few units (q pre-scaled as the model does), so the softmax has real spread
        const q = values(T * nHead * hd, T, 0.4),
          k = values(T * nHeadKv * hd, T + 1, 2),
          v = values(T * nHeadKv * hd, T + 2, 1);
        const ref = new Float32Array(T * nHead * hd),
          got = new Float32Array(T * nHead * hd).fill(NaN);
        attention(nx, q, k, v, ref, T, nHead, nHeadKv, hd, window);
        be.attention(q, k, v, got, T, nHead, nHeadKv, hd, window);
        let neq = 0;
        for (let i = 0; i < ref.length; i++) if (!Object.is(ref[i], got[i])) neq++;
        assert.equal(neq, 0, `${neq} of ${ref.length} outputs differ`);
      });
    }
  });
}

test("avx2: attention runs the reference (no 8-lane kernel) and equals ops.ts in that profile", async () => {
  const nx = numericsByName("avx2");
  const be = await createWasmBackend({ numerics: nx, threads: 2, relaxedSimd: false });
  try {
    assert.equal(be.attentionKernel, "reference");
    const [T, nHead, nHeadKv, hd] = [37, 3, 1, 256];
    const q = values(T * nHead * hd, 5, 0.4),
      k = values(T * nHeadKv * hd, 6, 2),
      v = values(T * nHeadKv * hd, 7, 1);
    const ref = new Float32Array(q.length),
      got = new Float32Array(q.length),
      x16 = new Float32Array(q.length);
    attention(nx, q, k, v, ref, T, nHead, nHeadKv, hd, Infinity);
    be.attention(q, k, v, got, T, nHead, nHeadKv, hd, Infinity);
    assert.deepEqual(got, ref);
    attention(numericsByName("avx512"), q, k, v, x16, T, nHead, nHeadKv, hd, Infinity);
    assert.notDeepEqual(x16, ref, "the 8- and 16-lane orders should differ somewhere on these inputs");
  } finally {
    await be.close();
  }
});
