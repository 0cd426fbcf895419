/**
 * Bit-exactness of the reference matmul (src/kernels/reference.ts) against ONE ggml mul_mat run by
 * the llama.cpp CPU backend node-llama-cpp ships (tools/ggml-oracle/mm.cpp, built on demand with
 * tools/ggml-oracle/build.sh), for every supported weight type: 0 differing outputs allowed.
 *
 * The oracle loads libggml-cpu-sapphirerapids.so, the variant ggml picks on this project's
 * reference machine (AVX-512 + AVX512-BF16 + AMX-INT8), and puts the weight in the buffer type
 * llama.cpp would choose (reference.ts matmulPath), or in the one a case names to exercise a
 * fallback kernel. This test FAILS (it does not skip) when the oracle cannot be built or run,
 * including on a CPU without AMX: the orders it checks are those of that build.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { matmul, matmulPath, type MatmulPath } from "../src/kernels/reference.js";
import { quantizeRows } from "../src/quant/index.js";
import { GGMLType, ggmlTypeName } from "../src/tensor/ggml-type.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url)); // dist/test/ -> repo root
const ORACLE = join(ROOT, ".cache/ggml-oracle/mm");
const BINS = join(ROOT, "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64");
const VARIANT = "libggml-cpu-sapphirerapids.so";
const MODE: Record<MatmulPath, string> = { cpu: "0", amx: "1", repack: "2" };
const BUFT: Record<MatmulPath, string> = { cpu: "CPU", amx: "AMX", repack: "CPU_REPACK" }; // the oracle names the extra buffer it used

let dir = "";

before(() => {
  const flags = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const missing = ["avx512f", "avx512_vnni", "avx512_bf16", "amx_int8", "amx_tile"].filter((f) => !new RegExp(`\\b${f}\\b`).test(flags));
  if (missing.length > 0) {
    throw new Error(`the oracle runs ${VARIANT}, which needs ${missing.join(", ")}; this CPU lacks them (run this test on the AMX reference machine)`);
  }
  if (!existsSync(ORACLE)) {
    const r = spawnSync("bash", [join(ROOT, "tools/ggml-oracle/build.sh")], { encoding: "utf8", timeout: 300_000 });
    if (r.status !== 0) throw new Error(`building the ggml oracle failed (status ${r.status}):\n${r.stderr}`);
  }
  if (!existsSync(ORACLE)) throw new Error(`${ORACLE} missing after tools/ggml-oracle/build.sh`);
  if (!existsSync(join(BINS, VARIANT))) throw new Error(`${join(BINS, VARIANT)} missing: is node-llama-cpp installed?`);
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

/** Run the oracle and our matmul on the same bytes; returns the number of differing outputs. */
function compare(type: GGMLType, K: number, N: number, M: number, threads: number, path: MatmulPath): { neq: number; maxRel: number } {
  const w = data(K * N, K * 7 + N + type, 1 / Math.sqrt(K));
  for (let i = 3 * K; i < 4 * K; i++) w[i]! *= 40; // one large-magnitude weight row
  const x = data(K * M, 1000 + M + K, 3);
  for (let i = (M - 1) * K; i < M * K; i++) x[i]! *= 1e3; // one large-magnitude token
  const wq = type === GGMLType.F32 ? new Uint8Array(w.buffer) : quantizeRows(type, w, K);
  writeFileSync(join(dir, "w.bin"), wq);
  writeFileSync(join(dir, "x.bin"), new Uint8Array(x.buffer));
  const args = [BINS, VARIANT, String(type), String(K), String(N), String(M), join(dir, "w.bin"), join(dir, "x.bin"), join(dir, "y.bin"), MODE[path], String(threads)];
  let r = spawnSync(ORACLE, args, { encoding: "utf8", timeout: 60_000 });
  // A busy machine occasionally refuses the fork itself (r.error, no pid; seen ~1 in 200 runs
  // while other jobs ran): retry that, never an oracle that ran and failed.
  for (let retry = 0; retry < 3 && r.error !== undefined && !r.pid; retry++) r = spawnSync(ORACLE, args, { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, `oracle failed (status ${r.status}, signal ${r.signal}, ${r.error?.message ?? "no spawn error"}):\n${r.stderr}`);
  if (path !== "cpu") assert.match(r.stderr, new RegExp(`using ${BUFT[path]}\\b`), `oracle did not use the ${BUFT[path]} buffer:\n${r.stderr}`);
  const yb = readFileSync(join(dir, "y.bin"));
  const ref = new Float32Array(yb.buffer.slice(yb.byteOffset, yb.byteOffset + yb.length));
  const ours = new Float32Array(N * M);
  matmul({ type, ne0: K, ne1: N, data: wq, byteOffset: 0, name: "w" }, x, M, ours, path);
  let neq = 0, maxRel = 0;
  for (let i = 0; i < ours.length; i++) {
    if (Object.is(ours[i], ref[i])) continue;
    neq++;
    maxRel = Math.max(maxRel, Math.abs(ours[i]! - ref[i]!) / Math.max(Math.abs(ref[i]!), 1e-30));
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
    [768, 256, 1, 1], [768, 256, 1, 2], [kBig, 768, 1, 2], [768, 768, 2, 1], [kBig, 256, 5, 2],
    [768, 256, 17, 1], [kBig, 768, 17, 2], [768, 256, 64, 2], [kBig, 256, 64, 1],
  ];
}

/** Other paths, for weights llama.cpp would place elsewhere (other shapes, or no AMX / --no-repack). */
const FALLBACK: Array<[GGMLType, ...Case]> = [
  // AMX types on the plain CPU buffer: ggml_vec_dot_* (M = 1) and llamafile sgemm / vec_dot (M > 1)
  ...[T.Q8_0, T.Q4_0, T.Q4_1, T.Q4_K, T.Q5_K, T.Q6_K, T.IQ4_XS, T.F16].flatMap((t): Array<[GGMLType, ...Case]> => [[t, 768, 256, 1, 2, "cpu"], [t, 768, 256, 5, 1, "cpu"]]),
  [T.IQ4_XS, 768, 256, 8, 2, "cpu"], // IQ panel gemm
  [T.Q2_K, 768, 256, 3, 2, "cpu"], [T.IQ4_NL, 800, 256, 1, 2, "cpu"], [T.IQ4_NL, 800, 256, 3, 2, "cpu"], // odd block count
  // Q4_0 / Q4_K in CPU_REPACK (N % 32 != 0 with N % 8 == 0): gemm rows + gemv tail rows
  [T.Q4_0, 768, 264, 7, 2], [T.Q4_K, 768, 264, 7, 1], [T.Q4_K, 768, 256, 1, 2, "repack"],
  // shapes no extra buffer takes (N % 8 != 0), and float tails (K % 64 != 0)
  [T.Q8_0, 768, 13, 3, 2], [T.Q4_K, 768, 13, 1, 1], [T.F32, 808, 13, 3, 2], [T.F32, 808, 16, 3, 2], [T.F16, 808, 16, 3, 2], [T.F16, 808, 16, 1, 1],
  [T.BF16, 808, 16, 3, 2], [T.BF16, 800, 12, 3, 2], [T.BF16, 800, 13, 3, 1],
  // AMX tiling: exactly one 32-row tile (the double-buffered branch), 32 + 1, and 4 threads
  [T.Q8_0, 768, 256, 32, 2], [T.Q4_K, 768, 256, 33, 4], [T.Q4_0, 1152, 768, 17, 4],
];

describe("reference matmul is bit-identical to the shipped llama.cpp CPU backend", () => {
  for (const type of TYPES) {
    test(`${ggmlTypeName(type)} on ${matmulPath(type, 768, 256)}: EmbeddingGemma shapes, M = 1, 2, 5, 17, 64, 1 and 2 threads`, () => {
      let outputs = 0;
      for (const [K, N, M, threads] of defaultCases(type)) {
        const path = matmulPath(type, K, N);
        const { neq, maxRel } = compare(type, K, N, M, threads, path);
        assert.equal(neq, 0, `${ggmlTypeName(type)} K=${K} N=${N} M=${M} ${path} t=${threads}: ${neq}/${N * M} outputs differ (max rel ${maxRel.toExponential(2)})`);
        outputs += N * M;
      }
      assert.ok(outputs > 0);
    });
  }
  test("fallback paths: plain CPU buffer (vec_dot, llamafile sgemm, IQ panel), CPU_REPACK, odd shapes, AMX tiling", () => {
    const failures: string[] = [];
    for (const [type, K, N, M, threads, forced] of FALLBACK) {
      const path = forced ?? matmulPath(type, K, N);
      const { neq, maxRel } = compare(type, K, N, M, threads, path);
      if (neq !== 0) failures.push(`${ggmlTypeName(type)} K=${K} N=${N} M=${M} ${path} t=${threads}: ${neq}/${N * M} differ (max rel ${maxRel.toExponential(2)})`);
    }
    assert.deepEqual(failures, []);
  });
  test("matmulPath follows llama.cpp's buffer choice on this CPU", () => {
    const p = (t: GGMLType, k: number, n: number) => matmulPath(t, k, n);
    for (const t of [T.Q8_0, T.Q4_0, T.Q4_1, T.Q4_K, T.Q5_K, T.Q6_K, T.IQ4_XS, T.F16]) assert.equal(p(t, 768, 256), "amx", ggmlTypeName(t));
    for (const t of [T.IQ4_NL, T.Q2_K]) assert.equal(p(t, 768, 256), "repack", ggmlTypeName(t));
    for (const t of [T.Q5_0, T.Q5_1, T.Q3_K, T.BF16, T.F32]) assert.equal(p(t, 768, 256), "cpu", ggmlTypeName(t));
    assert.equal(p(T.Q4_0, 768, 264), "repack");
    assert.equal(p(T.Q8_0, 768, 264), "cpu");
    assert.equal(p(T.F16, 808, 256), "cpu");
    assert.equal(p(T.IQ4_NL, 768, 13), "cpu");
  });
});
