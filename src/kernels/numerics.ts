/**
 * Numerics profiles: which llama.cpp x86-64 CPU variant's bits we reproduce.
 *
 * llama.cpp ships its CPU backend as one library per x86-64 variant (libggml-cpu-<variant>.so,
 * ggml/src/CMakeLists.txt ggml_add_cpu_backend_variant) and loads the best one the CPU can run
 * (ggml/src/ggml-backend-reg.cpp ggml_backend_load_best, ranked by each library's
 * ggml_backend_score, ggml-cpu/arch/x86/cpu-feats.cpp ggml_backend_cpu_x86_score). The variants
 * compute different f32 bits: where a weight lives (the AMX buffer exists only in sapphirerapids),
 * the SIMD width of ggml_vec_dot_f32 / tinyBLAS / ggml_v_expf (16 lanes with AVX-512, 8 with AVX2),
 * and the BF16 kernels (AVX512-BF16 dot products or widened f32 FMAs). A profile names one family
 * of variants that compute the same bits; docs/numerics.md has the table and how it was measured
 * (tools/ggml-oracle/survey-variants.mjs runs every variant library this CPU can execute).
 *
 * Measured on an AMD EPYC (Zen 5), every variant but sapphirerapids: all quantized types give
 * the same bits on every AVX2 and AVX-512 variant (their integer dots are exact, their f32 code is
 * the same __AVX2__ source), except Q2_K (repacked only with AVX-512); F32, F16 and attention split
 * AVX-512 from AVX2; BF16 splits AVX512-BF16 / AVX-512 / AVX2. AVX512-VNNI, AVX512-VBMI and AVX-VNNI
 * change nothing measurable (they only change how exact integer sums are formed).
 *
 * This file has no Node or browser dependency: "auto" needs the CPU's feature flags, which only the
 * Node entry can read (src/node/cpu-flags.ts); elsewhere DEFAULT_NUMERICS applies.
 */
import { EmbedError } from "../errors.js";

export type NumericsName = "amx" | "avx512" | "avx512-nobf16" | "avx2";

export interface Numerics {
  readonly name: NumericsName;
  /** llama.cpp CPU variants (libggml-cpu-<v>.so) that compute these bits */
  readonly variants: readonly string[];
  /** quantized and F16 weights go to the AMX buffer where amx supports_op takes them */
  readonly amx: boolean;
  /** GGML_F32_EPR: lanes of ggml_vec_dot_f32/f16, tinyBLAS<f32|f16> (KN) and ggml_v_expf */
  readonly lanes: 16 | 8;
  /** BF16 kernels: AVX512-BF16 VDPBF16PS, AVX-512F widened FMAs (16 lanes), AVX2 (8 lanes) */
  readonly bf16: "avx512bf16" | "avx512f" | "avx2";
  /** Q2_K has a CPU_REPACK format (ggml_repack_get_optimal_repack_type: AVX-512 only) */
  readonly repackQ2_K: boolean;
}

const P = (name: NumericsName, variants: string[], amx: boolean, lanes: 16 | 8, bf16: Numerics["bf16"]): Numerics =>
  Object.freeze({ name, variants: Object.freeze(variants), amx, lanes, bf16, repackQ2_K: lanes === 16 });

/** Every profile, most capable first. */
export const NUMERICS: readonly Numerics[] = Object.freeze([
  P("amx", ["sapphirerapids"], true, 16, "avx512bf16"),
  P("avx512", ["zen4", "cooperlake"], false, 16, "avx512bf16"),
  P("avx512-nobf16", ["icelake", "cascadelake", "cannonlake", "skylakex"], false, 16, "avx512f"),
  P("avx2", ["alderlake", "haswell"], false, 8, "avx2"),
]);

/**
 * Where no CPU flags can be read (browsers, Node off Linux): avx512, the bits of llama.cpp on every
 * AVX-512 x86 server without AMX (AMD EPYC Zen 4/5, Intel Xeon Ice Lake / Cascade Lake / Cooper
 * Lake for all but BF16 weights) — where embeddings are usually indexed — and our fastest kernels.
 * Match another machine's llama.cpp with `numerics: "<profile or variant>"`.
 */
export const DEFAULT_NUMERICS: Numerics = NUMERICS[1]!;

/** Older variants, documented but not implemented (their f32 and integer code differ again). */
export const UNSUPPORTED_VARIANTS: readonly string[] = ["piledriver", "ivybridge", "sandybridge", "sse42", "x64"];

/** Names accepted besides the profile names: every variant, and the family names. */
const ALIASES: ReadonlyMap<string, NumericsName> = new Map<string, NumericsName>([
  ...NUMERICS.flatMap((p) => p.variants.map((v) => [v, p.name] as [string, NumericsName])),
  ["avx512-novnni", "avx512-nobf16"], // skylakex, cannonlake: measured identical to icelake/cascadelake
  ["avx2-vnni", "avx2"], // alderlake: measured identical to haswell
]);

/** A profile by name (a profile, a llama.cpp variant, or an alias); EmbedError BAD_OPTION otherwise. */
export function numericsByName(name: string): Numerics {
  const key = ALIASES.get(name) ?? name;
  const p = NUMERICS.find((x) => x.name === key);
  if (p) return p;
  const hint = UNSUPPORTED_VARIANTS.includes(name) ? ` (llama.cpp's ${name} variant is not reproduced: see docs/numerics.md)` : "";
  throw new EmbedError(
    "BAD_OPTION",
    `numerics must be "auto" or one of ${NUMERICS.map((x) => x.name).join(", ")} (or a llama.cpp CPU variant name), got ${JSON.stringify(name)}${hint}`,
    { option: "numerics" },
  );
}

/**
 * The x86-64 variants with the CPU features each is built for, in ggml_add_cpu_backend_variant
 * order (ggml/src/CMakeLists.txt). Feature names are Linux /proc/cpuinfo flags.
 */
const VARIANT_FEATURES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["x64", []],
  ["sse42", ["sse4_2"]],
  ["sandybridge", ["sse4_2", "avx"]],
  ["ivybridge", ["sse4_2", "avx", "f16c"]],
  ["piledriver", ["sse4_2", "avx", "f16c", "fma"]],
  ["haswell", ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2"]],
  ["skylakex", ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2", "avx512"]],
  ["cannonlake", ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2", "avx512", "avx512vbmi"]],
  ["cascadelake", ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2", "avx512", "avx512_vnni"]],
  ["icelake", ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2", "avx512", "avx512vbmi", "avx512_vnni"]],
  ["cooperlake", ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2", "avx512", "avx512_vnni", "avx512_bf16"]],
  ["zen4", ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2", "avx512", "avx512vbmi", "avx512_vnni", "avx512_bf16"]],
  ["alderlake", ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2", "avx_vnni"]],
  ["sapphirerapids", ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2", "avx512", "avx512vbmi", "avx512_vnni", "avx512_bf16", "amx_int8"]],
];

/** Score bits of ggml_backend_cpu_x86_score, by feature. "avx512" stands for F, CD, VL, DQ and BW together. */
const SCORE_BIT: Readonly<Record<string, number>> = {
  fma: 1,
  f16c: 2,
  sse4_2: 4,
  bmi2: 8,
  avx: 16,
  avx2: 32,
  avx_vnni: 64,
  avx512: 128,
  avx512vbmi: 256,
  avx512_bf16: 512,
  avx512_vnni: 1024,
  amx_int8: 2048,
};

/** ggml_backend_cpu_x86_score of a variant on a CPU with these flags: 0 if it cannot run there. */
export function variantScore(variant: string, flags: ReadonlySet<string>): number {
  const v = VARIANT_FEATURES.find(([name]) => name === variant);
  if (!v) return 0;
  const has = (f: string) =>
    f === "avx512" ? ["avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"].every((x) => flags.has(x)) : flags.has(f);
  let score = 1;
  for (const f of v[1]) {
    if (!has(f)) return 0;
    score += SCORE_BIT[f]!;
  }
  return score;
}

/** The variant ggml_backend_load_best would load on a CPU with these flags (the highest score; ties: first built). */
export function bestVariant(flags: ReadonlySet<string>): string {
  let best = "x64",
    bestScore = 0;
  for (const [name] of VARIANT_FEATURES) {
    const s = variantScore(name, flags);
    if (s > bestScore) [best, bestScore] = [name, s];
  }
  return best;
}

/** What "auto" resolves to. */
export interface NumericsChoice {
  numerics: Numerics;
  /** the llama.cpp variant this choice stands for, when it was detected from the CPU */
  variant?: string;
  /** why this profile: "cpu" (detected), "default" (no flags readable), "option" (asked for) */
  source: "cpu" | "default" | "option";
  /** set when the detected variant has no profile and the default was used instead */
  warning?: string;
}

/**
 * Resolve the `numerics` option. `cpuFlags` are the CPU's feature flags (Linux /proc/cpuinfo names)
 * when the runtime can read them, else undefined.
 */
export function chooseNumerics(option: string | undefined, cpuFlags: ReadonlySet<string> | undefined): NumericsChoice {
  if (option !== undefined && option !== "auto") return { numerics: numericsByName(option), source: "option" };
  if (!cpuFlags) return { numerics: DEFAULT_NUMERICS, source: "default" };
  const variant = bestVariant(cpuFlags);
  const name = ALIASES.get(variant);
  if (name) return { numerics: numericsByName(name), variant, source: "cpu" };
  return {
    numerics: DEFAULT_NUMERICS,
    variant,
    source: "default",
    warning: `llama.cpp would load its "${variant}" CPU variant here, whose bits gguf-embed does not reproduce; using "${DEFAULT_NUMERICS.name}" (docs/numerics.md)`,
  };
}
