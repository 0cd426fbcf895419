/**
 * The wasm kernels' calling conventions (src/kernels/wasm/*.as): one typed argument table per
 * kernel family, so a call names its arguments (`run(kernel, { w, r0, r1, … })`) instead of
 * listing 14 numbers by position. A family fixes the parameter order of every export in it, which
 * argument pair is the range split across threads (runtime/pool.ts, in multiples of `align`), and
 * whether the kernel takes the thread index as a last parameter (the pool always appends it).
 * Pointers are byte offsets into the backend's wasm memory; shapes are as in llama2.c's run.c.
 * test/kernels/wasm-calls.test.ts checks each family against the exports' arity.
 */

export interface KernelFamily<A extends string = string> {
  /** the exports' parameters, in order (without the trailing thread index) */
  readonly args: readonly A[];
  /** the range [lo, hi) split across threads */
  readonly split: readonly [A, A];
  /** split granularity (tile height) */
  readonly align: number;
  /** whether the export's last parameter is the thread index */
  readonly thread: boolean;
}

/** Named arguments of a family: every parameter, by name. */
export type KernelArgs<F extends KernelFamily> = F extends KernelFamily<infer A> ? Readonly<Record<A, number>> : never;

/** One wasm export and its family. */
export interface Kernel<F extends KernelFamily = KernelFamily> {
  readonly name: string;
  readonly family: F;
}

function family<const A extends string>(args: readonly A[], split: readonly [A, A], align: number, thread: boolean): KernelFamily<A> {
  return Object.freeze({ args: Object.freeze([...args]), split, align, thread });
}

/**
 * W (ne1, K) @ A (nTok, K) -> out (nTok, ne1), weight rows [r0, r1). w: weight rows of wStride
 * bytes; a: prepared activation rows of aStride bytes (quantize.as); nb: blocks per row (elements
 * for the float types); sd (nb or 2·nb, tP) f32: the A8 scale table; scr: per-thread scratch of
 * scrStride bytes (block scales of one weight row). The 2x2-tile kernels (legacy.as lanes*, float.as)
 * take only the first MATMUL_2X2_ARGS parameters (w .. nb) and no thread index; wasm drops the rest.
 */
export const MATMUL = family(
  ["w", "wStride", "r0", "r1", "a", "aStride", "nTok", "out", "ne1", "nb", "sd", "tP", "scr", "scrStride"],
  ["r0", "r1"],
  2,
  true,
);

export const MATMUL_2X2_ARGS = 10;

/**
 * x (nTok, n) f32 -> dst (nTok, dstStride bytes) prepared rows of `kind` (wasm-plan.ts Act), tokens
 * [t0, t1); blk: per-thread block scratch (blkStride bytes); A8 scales also to sd (·, tP).
 */
export const PREPARE_ROWS = family(
  ["x", "t0", "t1", "n", "kind", "blk", "blkStride", "dst", "dstStride", "sd", "tP"],
  ["t0", "t1"],
  1,
  true,
);

/** k, v (T, nHeadKv·hd) f32 -> k64 (T, nHeadKv·hd) f64, vt64 (nHeadKv·hd, T) f64, and for hd < 64 kt (nHeadKv·hd, Tp) f32; key rows [j0, j1). */
export const ATTN_PREP = family(["k", "v", "k64", "vt64", "j0", "j1", "T", "nHeadKv", "hd", "kt", "Tp"], ["j0", "j1"], 1, false);

/** v (T, nHeadKv·hd) f32 -> vt (nHeadKv·hd, T) f32, and for hd < 64 k -> kt (nHeadKv·hd, Tp); key rows [j0, j1). */
export const ATTN_PREP_R = family(["k", "v", "vt", "kt", "j0", "j1", "T", "Tp", "nHeadKv", "hd"], ["j0", "j1"], 1, false);

/**
 * softmax(q kᵀ, window) v: q (T, nHead·hd) -> o (T, nHead·hd); (head, query) rows [r0, r1) of
 * nHead·T; k as k64 (attnPrep), v transposed (vt64); per-thread scratch of scrStride bytes; v as
 * given and kt (attnPrep, for hd < 64) for the small-head paths (attention-lanes.as).
 */
export const ATTN_ROWS = family(
  ["q", "k", "vt", "o", "r0", "r1", "T", "nHead", "nHeadKv", "hd", "window", "scaleBits", "scr", "scrStride", "v", "kt", "Tp"],
  ["r0", "r1"],
  1,
  true,
);

/**
 * f16 KV cache (attention-f16.as): k, v (T, nHeadKv·hd) f32 -> kc (T, nHeadKv·hd), vt (nHeadKv·hd, Tp)
 * f16-rounded f32, vt zero past T; cells [j0, j1) of Tp.
 */
export const ATTN_F16_PREP = family(["k", "v", "kc", "vt", "j0", "j1", "T", "Tp", "nHeadKv", "hd"], ["j0", "j1"], 1, false);

/**
 * Causal attention through the f16 KV cache: q (T, nHead·hd) -> o (T, nHead·hd); (head, query pair)
 * items [r0, r1) of nHead·ceil(T / 2); kn: tinyBLAS width; scale: an f64 as two i32 halves (scaleLo, scaleHi);
 * per-thread scratch of scrStride bytes.
 */
export const ATTN_F16_ROWS = family(
  ["q", "kc", "vt", "o", "r0", "r1", "T", "Tp", "nHead", "nHeadKv", "hd", "kn", "scaleLo", "scaleHi", "scr", "scrStride"],
  ["r0", "r1"],
  1,
  true,
);

/** rmsnorm: x (rows, n) -> out (rows, n) · g (n,), eps an f64 at epsAt; rows [r0, r1). */
export const NORM_ROWS = family(["x", "out", "g", "n", "epsAt", "r0", "r1"], ["r0", "r1"], 4, false);

/** out[i] = gelu(gate[i]) · up[i] (fp16 table at `table`), i in [i0, i1). */
export const GEGLU = family(["gate", "up", "out", "table", "i0", "i1"], ["i0", "i1"], 64, false);

/** out[i] = gelu(x[i]) (fp16 table at `table`), i in [i0, i1). */
export const GELU = family(["x", "out", "table", "i0", "i1"], ["i0", "i1"], 64, false);

/** ggml_norm of rows [r0, r1) of n: x (rows, n) -> out (rows, n), lane blocks of `lanes` (16 or 8); eps f64 at epsAt. */
export const LAYER_NORM_ROWS = family(["x", "out", "n", "lanes", "epsAt", "r0", "r1"], ["r0", "r1"], 4, false);

/** x (rows, n) = ((x · w) + b) + res in place over rows [r0, r1), each step when its flags bit (1 w, 2 b, 4 res) is set. */
export const MUL_ADD_ROWS = family(["x", "w", "b", "res", "flags", "n", "r0", "r1"], ["r0", "r1"], 1, false);

/** out = silu(gate) · up over rows [r0, r1) of nc (gate, up, out: (rows, nc)). */
export const SWIGLU = family(["gate", "up", "out", "nc", "r0", "r1"], ["r0", "r1"], 1, false);

/** A matmul kernel (any name wasm-plan.ts picks): the MATMUL family. */
export function matmulKernel(name: string): Kernel<typeof MATMUL> {
  return { name, family: MATMUL };
}

/** The fixed-name kernels. */
export const KERNELS = Object.freeze({
  prepareRows: { name: "prepareRows", family: PREPARE_ROWS },
  attnPrep: { name: "attnPrep", family: ATTN_PREP },
  attnPrepR: { name: "attnPrepR", family: ATTN_PREP_R },
  attnRows: { name: "attnRows", family: ATTN_ROWS },
  attnRowsR: { name: "attnRowsR", family: ATTN_ROWS },
  attnF16Prep: { name: "attnF16Prep", family: ATTN_F16_PREP },
  attnF16Rows: { name: "attnF16Rows", family: ATTN_F16_ROWS },
  normRows: { name: "normRows", family: NORM_ROWS },
  gegluRange: { name: "gegluRange", family: GEGLU },
  geluRange: { name: "geluRange", family: GELU },
  layerNormRows: { name: "layerNormRows", family: LAYER_NORM_ROWS },
  swigluRows: { name: "swigluRows", family: SWIGLU },
  mulAddRows: { name: "mulAddRows", family: MUL_ADD_ROWS },
} as const);

/** The positional argument list of a named call, in the family's order. */
export function positional<F extends KernelFamily>(f: F, args: KernelArgs<F>): number[] {
  const a = args as Readonly<Record<string, number>>;
  return f.args.map((n) => a[n]!);
}
