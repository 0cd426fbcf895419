/**
 * Matmul weights are not scanned at load (issue 15 item 11): what llama.cpp does with extreme
 * values there, checked against node-llama-cpp on the same files and token ids.
 * - Huge but finite values (1e30 in an F32 attn_q; the largest f16 scale, 65504, in Q8_0 blocks):
 *   llama.cpp computes finite vectors, and ours are the same (1 - cos <= 1e-6).
 * - Values that overflow (3e38 in an F32 attn_q): llama.cpp returns NaN vectors; ours raise
 *   NON_FINITE_OUTPUT naming the input, never a NaN vector.
 * RELIABILITY.md ("Non-finite weights") records the one case where we still differ.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbedError } from "../../src/errors.js";
import { readGGUF } from "../../src/gguf/reader.js";
import { ArrayBufferSource } from "../../src/gguf/source.js";
import { loadModel } from "../../src/node.js";
import { gemmaFixture, SMALL_GEMMA } from "../helpers/fixtures.js";
import { disposeModel, l2normalize, llamaEmbed, oneMinusCos } from "../helpers/llama.js";

const INPUTS = [
  [2, 9259, 1902, 1],
  [2, 107, 108, 109, 110, 1],
];
const written: string[] = [];
after(async () => {
  for (const p of written) await rm(p, { force: true });
});

/** The fixture with `patch` applied to blk.0.attn_q.weight's bytes, written to a temp file. */
async function poisoned(weightType: "F32" | "Q8_0", what: string, patch: (d: DataView) => void): Promise<string> {
  const path = await gemmaFixture({ ...SMALL_GEMMA, nLayer: 6, weightType, dense: false });
  const bytes = new Uint8Array(await readFile(path));
  const t = (await readGGUF(new ArrayBufferSource(bytes))).tensors.find((x) => x.name === "blk.0.attn_q.weight")!;
  patch(new DataView(bytes.buffer, bytes.byteOffset + t.byteOffset, t.nBytes));
  const out = join(tmpdir(), `gguf-embed-${what}-${process.pid}.gguf`);
  await writeFile(out, bytes);
  written.push(out);
  return out;
}

const finite = (v: Float32Array) => v.every(Number.isFinite);

test("huge but finite matmul weights: llama.cpp's vectors are finite and ours are the same", async () => {
  const cases: [string, string][] = [
    [
      "1e30 in an F32 attn_q",
      await poisoned("F32", "f32-1e30", (d) => {
        for (let i = 0; i < 8; i++) d.setFloat32(4 * 257 * i, 1e30, true);
      }),
    ],
    [
      "f16-max scales in a Q8_0 attn_q",
      await poisoned("Q8_0", "q8-65504", (d) => {
        for (let r = 0; r < 8; r++) d.setUint16(272 * r, 0x7bff, true);
      }),
    ],
  ];
  for (const [what, path] of cases) {
    const ref = await llamaEmbed(path, INPUTS);
    await disposeModel(path);
    assert.ok(ref.every(finite), `${what}: llama.cpp's vectors are finite`);
    for (const backend of ["wasm"] as const) {
      // the js path gives the same bits (test/model.test.ts)
      const m = await loadModel(path, { backend });
      try {
        const ours = await m.embed(INPUTS, { normalize: "l2" });
        ours.forEach((v, i) =>
          assert.ok(
            oneMinusCos(v, l2normalize(ref[i])) <= 1e-6,
            `${what} [${backend}] input ${i}: 1 - cos = ${oneMinusCos(v, l2normalize(ref[i]))}`,
          ),
        );
      } finally {
        await m.close();
      }
    }
  }
});

test("matmul weights that overflow: llama.cpp returns NaN vectors; ours raise NON_FINITE_OUTPUT", async () => {
  const path = await poisoned("F32", "f32-3e38", (d) => {
    for (let i = 0; i < 8; i++) d.setFloat32(4 * 257 * i, 3e38, true);
  });
  const ref = await llamaEmbed(path, INPUTS);
  await disposeModel(path);
  assert.ok(
    ref.every((v) => v.some(Number.isNaN)),
    "llama.cpp's vectors hold NaN",
  );
  for (const backend of ["wasm"] as const) {
    // the js path gives the same bits (test/model.test.ts)
    const m = await loadModel(path, { backend });
    try {
      await assert.rejects(
        m.embed(INPUTS),
        (e: unknown) => e instanceof EmbedError && e.code === "NON_FINITE_OUTPUT" && e.detail.index === 0,
        backend,
      );
    } finally {
      await m.close();
    }
  }
});
