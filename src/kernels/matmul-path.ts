/**
 * Where llama.cpp computes a matmul and how its per-output order depends on the batch.
 *
 * matmulPath: the buffer llama.cpp places a (K = ne0, N = ne1) weight in, in profile nx: the first
 * whose supports_op accepts the matmul (src/llama-model-loader.cpp select_weight_buft): AMX
 * (sapphirerapids only), then CPU_REPACK, then the plain CPU buffer.
 *
 * matmulRuns: on some paths the f32 order of an output row depends on M, the number of token
 * rows in the call (llamafile sgemm needs M >= 2, the IQ panel gemm M >= 8, the repack gemm takes
 * the first M - M % 4 rows and its gemv the rest). llama.cpp evaluates one sequence per call in
 * the parity setting (node-llama-cpp, llama-embedding with one prompt), so a batch that packs
 * several sequences must give each row the order its own sequence implies: matmulRuns cuts the
 * rows into runs that one call computes with exactly those orders. Paths whose order is the same
 * for every M (AMX, tinyBLAS_Q0 = vec_dot for Q8_0/Q4_0/Q5_0, the K-quant vec_dots, repack Q4_0 /
 * IQ4_NL) give one run.
 */
import { GGMLType } from "../tensor/ggml-type.js";
import { amxSupports } from "./matmul-amx.js";
import { repackSupports } from "./matmul-repack.js";
import type { Numerics } from "./numerics.js";
import { sgemmKnBF16 } from "./vec-dot-float.js";

export type MatmulPath = "amx" | "repack" | "cpu";

export function matmulPath(nx: Numerics, type: GGMLType, ne0: number, ne1: number): MatmulPath {
  if (nx.amx && amxSupports(type, ne0, ne1)) return "amx";
  if (repackSupports(nx, type, ne0, ne1)) return "repack";
  return "cpu";
}

/** How a row's order depends on M: not at all, sgemm at M >= 2, IQ panel at M >= 8, repack gemm rows / gemv tail. */
type MDependence = "none" | "min2" | "min8" | "repack4";

function mDependence(nx: Numerics, type: GGMLType, ne0: number, ne1: number, path: MatmulPath): MDependence {
  const T = GGMLType;
  if (path === "amx") return "none";
  if (path === "repack") return type === T.Q4_K || type === T.Q2_K ? "repack4" : "none";
  switch (type) {
    case T.F32:
    case T.F16:
      return ne0 % nx.lanes === 0 && ne1 % 4 === 0 ? "min2" : "none";
    case T.BF16:
      return ne0 % sgemmKnBF16(nx) === 0 && ne1 % 4 === 0 ? "min2" : "none";
    case T.IQ4_NL:
      return "min2";
    case T.IQ4_XS:
      return ne1 % 8 === 0 ? "min8" : "none";
    default:
      return "none";
  }
}

/**
 * Runs [first row, row count] covering the rows of sequences of lengths seqLen (back to back) such
 * that one matmul call per run gives every row the order llama.cpp gives it when its sequence is
 * evaluated alone. Without seqLen the rows are one sequence.
 */
export function matmulRuns(
  nx: Numerics,
  type: GGMLType,
  ne0: number,
  ne1: number,
  nTokens: number,
  seqLen?: readonly number[],
  path = matmulPath(nx, type, ne0, ne1),
): Array<[number, number]> {
  const dep = mDependence(nx, type, ne0, ne1, path);
  if (dep === "none" || !seqLen || seqLen.length <= 1) return nTokens > 0 ? [[0, nTokens]] : [];
  const runs: Array<[number, number]> = [];
  // extend the last run when it may merge (same class, and merging keeps each row's class)
  const push = (start: number, count: number, mergeable: boolean) => {
    if (count <= 0) return;
    const last = runs[runs.length - 1];
    if (mergeable && last && last[0] + last[1] === start && lastMergeable) last[1] += count;
    else runs.push([start, count]);
    lastMergeable = mergeable;
  };
  let lastMergeable = false,
    at = 0;
  for (const len of seqLen) {
    if (dep === "repack4") {
      push(at, len - (len % 4), true); // gemm rows: any sum of multiples of 4 stays gemm
      push(at + len - (len % 4), len % 4, false); // gemv rows: fewer than 4, alone
    } else {
      const min = dep === "min2" ? 2 : 8;
      push(at, len, len >= min); // long sequences share the sgemm/panel order; a short one is its own call
    }
    at += len;
  }
  return runs;
}
