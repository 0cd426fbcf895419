/**
 * Which llama.cpp CPU variants the parity tests compare against, and how to reach each one.
 *
 * - llamaVariant(): the variant node-llama-cpp actually loaded on this CPU, read from
 *   llama.systemInfo (it lists the features the loaded libggml-cpu-<variant>.so was built with).
 *   Model parity tests run in the matching numerics profile.
 * - runnableVariants(): every variant library this CPU can execute (ggml_backend_score > 0, via
 *   tools/ggml-oracle/score): the kernel oracles run each profile against one of its variants.
 *   A profile with no runnable variant here (amx on a CPU without AMX) is skipped with a printed
 *   notice naming it and why, never silently and never with a looser bound.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NUMERICS, numericsByName, type Numerics } from "../../src/kernels/numerics.js";
import { llama } from "./llama.js";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url)); // dist/test/helpers/ -> repo root
export const BINS = join(ROOT, "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64");
export const ORACLE_DIR = join(ROOT, ".cache/ggml-oracle");

/** Build tools/ggml-oracle once (mm, attn, gelu, ops, score, taps); throws if it cannot. */
export function ensureOracle(): void {
  if (["mm", "attn", "gelu", "ops", "score", "taps"].every((t) => existsSync(join(ORACLE_DIR, t)))) return;
  const r = spawnSync("bash", [join(ROOT, "tools/ggml-oracle/build.sh")], { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) throw new Error(`building the ggml oracle failed (status ${r.status}):\n${r.stderr}`);
}

let runnable: Set<string> | undefined;

/** Variants whose library this CPU can execute (their ggml_backend_score is > 0). */
export function runnableVariants(): ReadonlySet<string> {
  if (runnable) return runnable;
  ensureOracle();
  const libs = NUMERICS.flatMap((p) => p.variants).map((v) => `libggml-cpu-${v}.so`);
  for (const l of libs) if (!existsSync(join(BINS, l))) throw new Error(`${join(BINS, l)} missing: is node-llama-cpp installed?`);
  const r = spawnSync(join(ORACLE_DIR, "score"), [BINS, ...libs], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`score failed: ${r.stderr}`);
  runnable = new Set(
    r.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(" "))
      .filter(([, s]) => Number(s) > 0)
      .map(([f]) => f!.slice(12, -3)),
  );
  return runnable;
}

/** A profile and the variant library that stands for it here, or why it cannot run here. */
export interface ProfileTarget {
  numerics: Numerics;
  /** libggml-cpu-<variant>.so to load, when one runs on this CPU */
  variant?: string;
  skip?: string;
}

/** Every profile with the first of its variants this CPU can execute. */
export function profileTargets(): ProfileTarget[] {
  const ok = runnableVariants();
  return NUMERICS.map((numerics) => {
    const variant = numerics.variants.find((v) => ok.has(v));
    if (variant) return { numerics, variant };
    const skip = `numerics profile "${numerics.name}" is checked against ${numerics.variants.map((v) => `libggml-cpu-${v}.so`).join(" / ")}, which this CPU cannot execute${numerics.amx ? " (no AMX-INT8)" : ""}`;
    console.log(`# NOTICE: skipped: ${skip}`);
    return { numerics, skip };
  });
}

/** llama.systemInfo feature names -> the variant feature names of src/kernels/numerics.ts. */
const SYSINFO: Readonly<Record<string, string>> = {
  AVX: "avx",
  AVX2: "avx2",
  F16C: "f16c",
  FMA: "fma",
  AVX_VNNI: "avx_vnni",
  AVX512: "avx512",
  AVX512_VBMI: "avx512vbmi",
  AVX512_VNNI: "avx512_vnni",
  AVX512_BF16: "avx512_bf16",
  AMX_INT8: "amx_int8",
};

/** The features each variant is built with (as ggml reports them), minus the ones systemInfo does not list. */
const BUILT: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["haswell", ["avx", "f16c", "fma", "avx2"]],
  ["alderlake", ["avx", "f16c", "fma", "avx2", "avx_vnni"]],
  ["skylakex", ["avx", "f16c", "fma", "avx2", "avx512"]],
  ["cannonlake", ["avx", "f16c", "fma", "avx2", "avx512", "avx512vbmi"]],
  ["cascadelake", ["avx", "f16c", "fma", "avx2", "avx512", "avx512_vnni"]],
  ["icelake", ["avx", "f16c", "fma", "avx2", "avx512", "avx512vbmi", "avx512_vnni"]],
  ["cooperlake", ["avx", "f16c", "fma", "avx2", "avx512", "avx512_vnni", "avx512_bf16"]],
  ["zen4", ["avx", "f16c", "fma", "avx2", "avx512", "avx512vbmi", "avx512_vnni", "avx512_bf16"]],
  ["sapphirerapids", ["avx", "f16c", "fma", "avx2", "avx512", "avx512vbmi", "avx512_vnni", "avx512_bf16", "amx_int8"]],
];

/** The variant whose build features llama.systemInfo lists ("CPU : AVX = 1 | AVX2 = 1 | ..."). */
export function variantFromSystemInfo(info: string): string {
  const on = new Set<string>();
  for (const m of info.matchAll(/\b([A-Z0-9_]+) = 1\b/g)) if (SYSINFO[m[1]!]) on.add(SYSINFO[m[1]!]!);
  const hit = BUILT.find(([, f]) => f.length === on.size && f.every((x) => on.has(x)));
  if (!hit) throw new Error(`llama.systemInfo names no variant gguf-embed reproduces: ${info}`);
  return hit[0];
}

let loaded: { variant: string; numerics: Numerics } | undefined;

/** The variant node-llama-cpp loaded here and its numerics profile. */
export async function llamaVariant(): Promise<{ variant: string; numerics: Numerics }> {
  if (!loaded) {
    const variant = variantFromSystemInfo((await llama()).systemInfo);
    loaded = { variant, numerics: numericsByName(variant) };
    console.log(`# llama.cpp (node-llama-cpp) loaded libggml-cpu-${variant}.so here: numerics profile "${loaded.numerics.name}"`);
  }
  return loaded;
}
