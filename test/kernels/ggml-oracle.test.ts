/**
 * Bit-exactness of the reference matmul (src/kernels/reference.ts) against ONE ggml mul_mat run by
 * llama.cpp's CPU backend (tools/ggml-oracle/mm.cpp on node-llama-cpp's shipped libraries, built
 * on demand), for every supported weight type, in every numerics profile: each profile against a
 * variant library of its family that this CPU can execute (test/helpers/variants.ts). 0 differing
 * outputs allowed. A profile with no runnable variant here (amx without AMX) is skipped with a
 * printed notice; a missing or failing oracle fails the test.
 *
 * Default cases let the oracle place the weight as llama.cpp would (mm mode 3: the first extra
 * buffer whose supports_op takes it, src/llama-model-loader.cpp select_weight_buft) and check that
 * our matmulPath names the same buffer; fallback cases force another buffer to exercise its code.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Numerics } from "../../src/kernels/numerics.js";
import { matmul, matmulPath, type MatmulPath } from "../../src/kernels/reference.js";
import { quantizeRows } from "../../src/quant/index.js";
import { GGMLType, ggmlTypeName } from "../../src/tensor/ggml-type.js";
import { BINS, ORACLE_DIR, ensureOracle, profileTargets } from "../helpers/variants.js";

const ORACLE = join(ORACLE_DIR, "mm");
const MODE: Record<MatmulPath | "pick", string> = { cpu: "0", amx: "1", repack: "2", pick: "3" };
const BUFT: Record<MatmulPath, string> = { cpu: "CPU", amx: "AMX", repack: "CPU_REPACK" }; // the oracle names the buffer it used

let dir = "";

before(() => {
  ensureOracle();
  dir = mkdtempSync(join(tmpdir(), "ggml-oracle-"));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Deterministic data in [-1, 1) with an all-zero 64-run at the start. */
function data(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  v.fill(0, 0, Math.min(n, 64));
  return v;
}

/**
 * The weight of (type, K, N) as stored: deterministic data with one large-magnitude row, quantized
 * by ggml's quantizer. Kept for the run: every profile runs the same cases, and the K-quant and IQ4
 * scale searches cost more than the matmuls (about 40% of this file's CPU time before).
 */
const weights = new Map<string, Uint8Array>();
function weightBytes(type: GGMLType, K: number, N: number): Uint8Array {
  const key = `${type} ${K} ${N}`;
  let wq = weights.get(key);
  if (!wq) {
    const w = data(K * N, K * 7 + N + type, 1 / Math.sqrt(K));
    for (let i = 3 * K; i < 4 * K; i++) w[i]! *= 40; // one large-magnitude weight row
    wq = type === GGMLType.F32 ? new Uint8Array(w.buffer) : quantizeRows(type, w, K);
    weights.set(key, wq);
  }
  return wq;
}

/**
 * Run the oracle (variant library `lib`) and our matmul in profile nx on the same bytes; `path`
 * forces a buffer, else the oracle picks llama.cpp's and ours must name the same. Returns the
 * number of differing outputs.
 */
function compare(
  nx: Numerics,
  lib: string,
  type: GGMLType,
  K: number,
  N: number,
  M: number,
  threads: number,
  path?: MatmulPath,
): { neq: number; maxRel: number } {
  const x = data(K * M, 1000 + M + K, 3);
  for (let i = (M - 1) * K; i < M * K; i++) x[i]! *= 1e3; // one large-magnitude token
  const wq = weightBytes(type, K, N);
  writeFileSync(join(dir, "w.bin"), wq);
  writeFileSync(join(dir, "x.bin"), new Uint8Array(x.buffer));
  const ours = path ?? matmulPath(nx, type, K, N);
  const args = [
    BINS,
    lib,
    String(type),
    String(K),
    String(N),
    String(M),
    join(dir, "w.bin"),
    join(dir, "x.bin"),
    join(dir, "y.bin"),
    MODE[path ?? "pick"],
    String(threads),
  ];
  let r = spawnSync(ORACLE, args, { encoding: "utf8", timeout: 60_000 });
  // A busy machine occasionally refuses the fork itself (r.error, no pid; seen ~1 in 200 runs
  // while other jobs ran): retry that, never an oracle that ran and failed.
  for (let retry = 0; retry < 3 && r.error !== undefined && !r.pid; retry++)
    r = spawnSync(ORACLE, args, { encoding: "utf8", timeout: 60_000 });
  assert.equal(
    r.status,
    0,
    `oracle failed (status ${r.status}, signal ${r.signal}, ${r.error?.message ?? "no spawn error"}):\n${r.stderr}`,
  );
  if (path !== "cpu")
    assert.match(
      r.stderr,
      new RegExp(`using ${BUFT[ours]}\\b`),
      `llama.cpp (${lib}) did not use the ${BUFT[ours]} buffer our matmulPath names:\n${r.stderr}`,
    );
  const yb = readFileSync(join(dir, "y.bin"));
  const ref = new Float32Array(yb.buffer.slice(yb.byteOffset, yb.byteOffset + yb.length));
  const y = new Float32Array(N * M);
  matmul(nx, { type, ne0: K, ne1: N, data: wq, name: "w" }, x, M, y, ours);
  let neq = 0,
    maxRel = 0;
  for (let i = 0; i < y.length; i++) {
    if (Object.is(y[i], ref[i])) continue;
    neq++;
    maxRel = Math.max(maxRel, Math.abs(y[i]! - ref[i]!) / Math.max(Math.abs(ref[i]!), 1e-30));
  }
  return { neq, maxRel };
}

const T = GGMLType;
const BLOCK256 = new Set([T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K, T.IQ4_XS]);
const TYPES = [T.Q8_0, T.Q4_0, T.Q4_K, T.Q6_K, T.F16, T.Q5_K, T.Q5_0, T.Q5_1, T.Q4_1, T.F32, T.BF16, T.IQ4_XS, T.IQ4_NL, T.Q2_K, T.Q3_K];

type Case = [K: number, N: number, M: number, threads: number, path?: MatmulPath];

/**
 * The EmbeddingGemma shapes on the path llama.cpp picks, every M class (1; 2; 5: repack gemm +
 * gemv rows; 17: one AMX row tile + 1; 64: two full tiles), 1 and 2 threads.
 */
function defaultCases(type: GGMLType): Case[] {
  const kBig = BLOCK256.has(type) || type === T.F16 || type === T.F32 || type === T.BF16 ? 3072 : 1152;
  return [
    [768, 256, 1, 1],
    [768, 256, 1, 2],
    [kBig, 768, 1, 2],
    [768, 768, 2, 1],
    [kBig, 256, 5, 2],
    [768, 256, 17, 1],
    [kBig, 768, 17, 2],
    [768, 256, 64, 2],
    [kBig, 256, 64, 1],
  ];
}

/** Other paths, for weights llama.cpp would place elsewhere (other shapes, --no-repack, or without AMX). */
function fallbackCases(nx: Numerics): Array<[GGMLType, ...Case]> {
  const cases: Array<[GGMLType, ...Case]> = [
    // repacked / AMX types on the plain CPU buffer: ggml_vec_dot_* (M = 1) and llamafile sgemm / vec_dot (M > 1)
    ...[T.Q8_0, T.Q4_0, T.Q4_1, T.Q4_K, T.Q5_K, T.Q6_K, T.IQ4_XS, T.F16].flatMap(
      (t): Array<[GGMLType, ...Case]> => [
        [t, 768, 256, 1, 2, "cpu"],
        [t, 768, 256, 5, 1, "cpu"],
      ],
    ),
    [T.IQ4_XS, 768, 256, 8, 2, "cpu"], // IQ panel gemm
    [T.Q2_K, 768, 256, 3, 2, "cpu"],
    [T.IQ4_NL, 800, 256, 1, 2, "cpu"],
    [T.IQ4_NL, 800, 256, 3, 2, "cpu"], // odd block count
    // Q4_0 / Q4_K in CPU_REPACK (N % 32 != 0 with N % 8 == 0): gemm rows + gemv tail rows
    [T.Q4_0, 768, 264, 7, 2],
    [T.Q4_K, 768, 264, 7, 1],
    [T.Q4_K, 768, 256, 1, 2, "repack"],
    // shapes no extra buffer takes (N % 8 != 0), and float tails (K % 64 != 0, K % 32 != 0, K % 8 != 0)
    [T.Q8_0, 768, 13, 3, 2],
    [T.Q4_K, 768, 13, 1, 1],
    [T.F32, 808, 13, 3, 2],
    [T.F32, 808, 16, 3, 2],
    [T.F16, 808, 16, 3, 2],
    [T.F16, 808, 16, 1, 1],
    [T.F32, 812, 16, 1, 1],
    [T.F32, 812, 16, 3, 2],
    [T.F32, 825, 16, 1, 1],
    [T.F32, 829, 12, 2, 1],
    [T.F16, 812, 16, 2, 2],
    [T.F16, 829, 12, 2, 1],
    [T.BF16, 808, 16, 3, 2],
    [T.BF16, 800, 12, 3, 2],
    [T.BF16, 800, 13, 3, 1],
    [T.BF16, 824, 16, 3, 2],
    [T.BF16, 829, 12, 1, 1],
  ];
  // AMX tiling: exactly one 32-row tile (the double-buffered branch), 32 + 1, and 4 threads
  if (nx.amx) cases.push([T.Q8_0, 768, 256, 32, 2], [T.Q4_K, 768, 256, 33, 4], [T.Q4_0, 1152, 768, 17, 4]);
  else cases.push([T.Q8_0, 768, 256, 32, 2], [T.Q4_K, 768, 256, 33, 4], [T.Q4_0, 1152, 768, 17, 4], [T.Q2_K, 768, 256, 9, 2]);
  return cases;
}

/** Where llama.cpp puts a 768 x 256 weight of each type, per profile (checked against the oracle above, case by case). */
const EXPECTED_PATH: Record<string, Partial<Record<string, MatmulPath>>> = {
  amx: {
    Q8_0: "amx",
    Q4_0: "amx",
    Q4_1: "amx",
    Q4_K: "amx",
    Q5_K: "amx",
    Q6_K: "amx",
    IQ4_XS: "amx",
    F16: "amx",
    IQ4_NL: "repack",
    Q2_K: "repack",
  },
  avx512: { Q4_0: "repack", Q4_K: "repack", IQ4_NL: "repack", Q2_K: "repack" },
  "avx512-nobf16": { Q4_0: "repack", Q4_K: "repack", IQ4_NL: "repack", Q2_K: "repack" },
  avx2: { Q4_0: "repack", Q4_K: "repack", IQ4_NL: "repack" },
};

for (const target of profileTargets()) {
  const nx = target.numerics;
  const lib = `libggml-cpu-${target.variant}.so`;
  describe(`reference matmul in numerics "${nx.name}" is bit-identical to llama.cpp's ${target.variant ?? nx.variants[0]} CPU backend`, {
    skip: target.skip,
  }, () => {
    for (const type of TYPES) {
      test(`${ggmlTypeName(type)} on ${matmulPath(nx, type, 768, 256)}: EmbeddingGemma shapes, M = 1, 2, 5, 17, 64, 1 and 2 threads`, () => {
        let outputs = 0;
        for (const [K, N, M, threads] of defaultCases(type)) {
          const { neq, maxRel } = compare(nx, lib, type, K, N, M, threads);
          assert.equal(
            neq,
            0,
            `${ggmlTypeName(type)} K=${K} N=${N} M=${M} ${matmulPath(nx, type, K, N)} t=${threads}: ${neq}/${N * M} outputs differ (max rel ${maxRel.toExponential(2)})`,
          );
          outputs += N * M;
        }
        assert.ok(outputs > 0);
      });
    }
    test("fallback paths: plain CPU buffer (vec_dot, llamafile sgemm, IQ panel), CPU_REPACK, odd shapes and tails, tiling", () => {
      const failures: string[] = [];
      for (const [type, K, N, M, threads, forced] of fallbackCases(nx)) {
        const { neq, maxRel } = compare(nx, lib, type, K, N, M, threads, forced);
        if (neq !== 0)
          failures.push(
            `${ggmlTypeName(type)} K=${K} N=${N} M=${M} ${forced ?? matmulPath(nx, type, K, N)} t=${threads}: ${neq}/${N * M} differ (max rel ${maxRel.toExponential(2)})`,
          );
      }
      assert.deepEqual(failures, []);
    });
    test("matmulPath follows llama.cpp's buffer choice", () => {
      for (const t of TYPES) assert.equal(matmulPath(nx, t, 768, 256), EXPECTED_PATH[nx.name]![ggmlTypeName(t)] ?? "cpu", ggmlTypeName(t));
      assert.equal(matmulPath(nx, T.Q4_0, 768, 264), "repack");
      assert.equal(matmulPath(nx, T.Q8_0, 768, 264), "cpu");
      assert.equal(matmulPath(nx, T.IQ4_NL, 768, 13), "cpu");
    });
  });
}
