/**
 * The BERT-family ops against llama.cpp's CPU libraries, bit for bit, in every numerics profile
 * (each against a variant library of its family this CPU can execute; amx is skipped with a
 * notice where AMX is missing): ggml_swiglu_split (silu.ts), ggml_norm (layer-norm.ts), ggml_gelu
 * (ops.ts gelu) and attention with soft_max_ext's kq_scale (ops.ts attention). The oracles are
 * tools/ggml-oracle/ops.cpp (one ggml op on the same f32 input) and attn.cpp; failing to build or
 * run them fails the test.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { normRows } from "../../src/kernels/layer-norm.js";
import { attention, gelu } from "../../src/kernels/ops.js";
import { swiglu } from "../../src/kernels/silu.js";
import { BINS, ORACLE_DIR, ensureOracle, profileTargets } from "../helpers/variants.js";

before(() => ensureOracle());

const readF32 = (p: string) => {
  const b = readFileSync(p);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

/** Run tools/ggml-oracle/ops: op on a (and b) of ne1 rows of ne0 in library `lib`. */
export function ggmlOp(lib: string, op: string, ne0: number, ne1: number, param: number, a: Float32Array, b?: Float32Array): Float32Array {
  const dir = mkdtempSync(join(tmpdir(), "ops-"));
  try {
    writeFileSync(join(dir, "a.bin"), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    if (b) writeFileSync(join(dir, "b.bin"), new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    const args = [BINS, lib, op, ne0, ne1, param, join(dir, "a.bin"), b ? join(dir, "b.bin") : "-", join(dir, "y.bin")].map(String);
    execFileSync(join(ORACLE_DIR, "ops"), args, { stdio: ["ignore", "ignore", "pipe"] });
    return readF32(join(dir, "y.bin"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Deterministic values in [-scale, scale), plus edge values where they fit. */
function data(n: number, seed: number, scale: number, edges: number[] = []): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296) * 2 - 1) * scale;
  edges.forEach((e, i) => {
    if (i * 7 < n) a[i * 7] = e;
  });
  return a;
}

const diffCount = (x: Float32Array, y: Float32Array) => {
  let d = 0;
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) d++;
  return d;
};

// [rows, nc]: nomic's 3072 (whole blocks); rows with 16-lane and 8-lane tails (37, 1000, 7, 1)
const SWIGLU_SHAPES = [
  [5, 3072],
  [3, 37],
  [4, 1000],
  [2, 7],
  [1, 1],
] as const;
// [rows, n]: MiniLM 384, nomic 768, XLM-R 1024; tails for 16 and 8 lanes (37, 100, 5)
const NORM_SHAPES = [
  [4, 384],
  [3, 768],
  [2, 1024],
  [3, 37],
  [2, 100],
  [2, 5],
] as const;
// [T, nHead, hd]: MiniLM 12 x 32, BERT-base 12 x 64, T on and off 8/16-multiples
const ATTN_SHAPES = [
  [10, 12, 32],
  [16, 12, 64],
  [37, 4, 64],
  [100, 2, 32],
] as const;
const EDGES = [0, -0, 1e-30, -1e-30, 88, -88, 100, -100, 87.5, -103.9, 30, -30, 1e-7, 3.4e38, -3.4e38, Infinity, -Infinity];

for (const target of profileTargets()) {
  const nx = target.numerics;
  const lib = `libggml-cpu-${target.variant}.so`;
  describe(`numerics "${nx.name}": BERT-family ops equal llama.cpp's ${target.variant ?? nx.variants[0]} library`, {
    skip: target.skip,
  }, () => {
    const shapes = (a: readonly (readonly number[])[]) => a.map((s) => s.join("x")).join(", ");
    test(`SwiGLU equals ggml_swiglu_split bit for bit: ${shapes(SWIGLU_SHAPES)}, wide inputs and edge values`, () => {
      for (const [rows, nc] of SWIGLU_SHAPES) {
        for (const scale of [4, 40]) {
          const gate = data(rows * nc, rows * 31 + nc + scale, scale, EDGES);
          const up = data(rows * nc, nc * 17 + scale, 2);
          const ref = ggmlOp(lib, "swiglu", nc, rows, 0, gate, up);
          const ours = new Float32Array(rows * nc);
          swiglu(nx, gate, up, ours, rows, nc);
          assert.equal(diffCount(ours, ref), 0, `${rows}x${nc} scale ${scale}: ${diffCount(ours, ref)} of ${ours.length} differ`);
        }
      }
    });

    test(`LayerNorm equals ggml_norm bit for bit: ${shapes(NORM_SHAPES)}, eps 1e-12 and 1e-5, offset means`, () => {
      for (const [rows, n] of NORM_SHAPES) {
        for (const eps of [1e-12, 1e-5]) {
          const x = data(rows * n, rows + n * 3, 3);
          for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) x[r * n + j] = Math.fround(x[r * n + j]! + r - 2); // row means differ
          const ref = ggmlOp(lib, "norm", n, rows, eps, x);
          const ours = new Float32Array(rows * n);
          normRows(nx, x, 0, ours, 0, n, rows, Math.fround(eps));
          assert.equal(diffCount(ours, ref), 0, `${rows}x${n} eps ${eps}: ${diffCount(ours, ref)} of ${ours.length} differ`);
        }
      }
    });

    test("GELU (ungated) equals ggml_gelu bit for bit on 20000 values in [-12, 12) and edges", () => {
      const x = data(20000, 99, 12, EDGES);
      const ref = ggmlOp(lib, "gelu", 20000, 1, 0, x);
      const ours = new Float32Array(20000);
      gelu(x, ours, 20000);
      assert.equal(diffCount(ours, ref), 0, `${diffCount(ours, ref)} of 20000 differ`);
    });

    test(`attention, kq_scale = 1/sqrt(hd) in soft_max_ext, equals ggml's no-FA subgraph: T x heads x hd ${shapes(ATTN_SHAPES)}`, () => {
      const dir = mkdtempSync(join(tmpdir(), "attn-"));
      try {
        for (const [T, nH, hd] of ATTN_SHAPES) {
          const q = data(T * nH * hd, T + 1, 1.5),
            k = data(T * nH * hd, T + 2, 1.5),
            v = data(T * nH * hd, T + 3, 1);
          for (const [n, a] of [
            ["q", q],
            ["k", k],
            ["v", v],
          ] as const)
            writeFileSync(join(dir, `${n}.bin`), new Uint8Array(a.buffer));
          const scale = Math.fround(1 / Math.sqrt(hd));
          execFileSync(
            join(ORACLE_DIR, "attn"),
            [BINS, lib, T, nH, nH, hd, -1, join(dir, "q.bin"), join(dir, "k.bin"), join(dir, "v.bin"), join(dir, "o.bin"), 2, scale].map(
              String,
            ),
            { stdio: ["ignore", "ignore", "pipe"] },
          );
          const ref = readF32(join(dir, "o.bin"));
          const o = new Float32Array(T * nH * hd);
          attention(nx, q, k, v, o, T, nH, nH, hd, Infinity, scale);
          assert.equal(diffCount(o, ref), 0, `T ${T} ${nH}x${hd}: ${diffCount(o, ref)} of ${o.length} differ`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
