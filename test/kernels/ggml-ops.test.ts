/**
 * Our attention and GELU against llama.cpp's CPU libraries themselves, bit for bit, in every
 * numerics profile (each against a variant library of its family this CPU can execute; amx is
 * skipped with a notice where AMX is missing): the no-flash-attention subgraph (kq, soft_max_ext,
 * kqv) run by ggml on the same q/k/v, and ggml's GELU fp16 table. The oracles (tools/ggml-oracle)
 * are built from node-llama-cpp's prebuilt libraries and its bundled source headers; failing to
 * build or run them fails the test.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attention, geluFp16Table } from "../../src/kernels/ops.js";
import { f32ToFp16 } from "../../src/quant/f16.js";
import { BINS, ORACLE_DIR, ensureOracle, profileTargets } from "../helpers/variants.js";

before(() => ensureOracle());

const readF32 = (p: string) => {
  const b = readFileSync(p);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

// [T, window, nHead, nHeadKv, hd]: Gemma's 3/1 × 256 heads; BERT-like 12 × 64 with T not a multiple of 8 or 16
const SHAPES = [
  [4, -1, 3, 1, 256],
  [16, -1, 3, 1, 256],
  [37, -1, 3, 1, 256],
  [300, -1, 3, 1, 256],
  [600, 256, 3, 1, 256],
  [13, -1, 12, 12, 64],
  [100, 7, 4, 2, 64],
] as const;

for (const target of profileTargets()) {
  const nx = target.numerics;
  const lib = `libggml-cpu-${target.variant}.so`;
  describe(`numerics "${nx.name}": attention and GELU equal llama.cpp's ${target.variant ?? nx.variants[0]} library`, {
    skip: target.skip,
  }, () => {
    test(`attention equals ggml's no-FA subgraph bit for bit: ${SHAPES.map(([T, w, h, kv, hd]) => `${T}t ${h}/${kv}x${hd}${w < 0 ? "" : ` ±${w}`}`).join(", ")}`, () => {
      const dir = mkdtempSync(join(tmpdir(), "attn-"));
      try {
        for (const [T, window, nH, nKV, hd] of SHAPES) {
          let seed = 7 + T;
          const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296) * 2 - 1;
          const q = Float32Array.from({ length: T * nH * hd }, () => rnd() * 0.3); // q already scaled, as in the model
          const k = Float32Array.from({ length: T * nKV * hd }, rnd);
          const v = Float32Array.from({ length: T * nKV * hd }, rnd);
          for (const [n, a] of [
            ["q", q],
            ["k", k],
            ["v", v],
          ] as const)
            writeFileSync(join(dir, `${n}.bin`), new Uint8Array(a.buffer));
          execFileSync(
            join(ORACLE_DIR, "attn"),
            [BINS, lib, T, nH, nKV, hd, window, join(dir, "q.bin"), join(dir, "k.bin"), join(dir, "v.bin"), join(dir, "o.bin"), 2].map(
              String,
            ),
            { stdio: ["ignore", "ignore", "pipe"] },
          );
          const ref = readF32(join(dir, "o.bin"));
          const o = new Float32Array(T * nH * hd);
          attention(nx, q, k, v, o, T, nH, nKV, hd, window < 0 ? Infinity : window);
          let diff = 0;
          for (let i = 0; i < o.length; i++) if (o[i] !== ref[i]) diff++;
          assert.equal(diff, 0, `T ${T} heads ${nH}/${nKV} hd ${hd} window ${window}: ${diff} of ${o.length} outputs differ`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test("the GELU fp16 table equals ggml-cpu's ggml_table_gelu_f16 for all 65536 inputs", () => {
      const dir = mkdtempSync(join(tmpdir(), "gelu-"));
      try {
        execFileSync(join(ORACLE_DIR, "gelu"), [BINS, join(dir, "gelu.bin"), lib], { stdio: ["ignore", "ignore", "pipe"] });
        const b = readFileSync(join(dir, "gelu.bin"));
        const ref = new Uint16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
        const ours = geluFp16Table();
        let diff = 0;
        for (let h = 0; h < 65536; h++) if (!Number.isNaN(ours[h]) && f32ToFp16(ours[h]!) !== ref[h]) diff++;
        assert.equal(diff, 0, `${diff} table entries differ`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
