/**
 * Graph building blocks chosen by kind, as llama.cpp's llm_graph_context does (src/llama-graph.cpp
 * build_inp_embd, build_norm, build_ffn, build_attn): an architecture file composes these and never
 * calls a kernel for one model only. Each block states the ggml ops it stands for; their numerics
 * are the backend's (docs/numerics.md). Shapes: (rows, width) row-major f32.
 */
import type { Backend, Weight } from "../kernels/backend.js";
import { ropeCache, ropeNeox } from "../kernels/ops.js";
import type { Batch } from "./arch.js";

/** build_inp_embd: x (nTok, n) = token_embd rows of the batch's tokens, times `scale` (f32) when given. */
export function buildInpEmbd(be: Backend, tokEmbd: Weight, tokens: Int32Array, x: Float32Array, scale?: number): void {
  const n = tokEmbd.ne0;
  const row = new Float32Array(n); // (n) one dequantized row
  for (let i = 0; i < tokens.length; i++) {
    be.getRow(tokEmbd, tokens[i]!, row);
    if (scale === undefined) x.set(row, i * n);
    else for (let j = 0; j < n; j++) x[i * n + j] = Math.fround(row[j]! * scale);
  }
}

/** A norm kind: ggml_rms_norm then mul by the weight (LLM_NORM_RMS). */
export interface RmsNorm {
  kind: "rms";
  weight: Float32Array;
  eps: number;
}
/** A norm kind: ggml_norm, then ggml_mul by the weight and ggml_add of the bias, three f32 ops (LLM_NORM). */
export interface LayerNorm {
  kind: "layer";
  weight: Float32Array;
  bias: Float32Array;
  eps: number;
}
export type Norm = RmsNorm | LayerNorm;

/** build_norm: out (rows, n) = norm(x) rows (x and out may be the same array). */
export function buildNorm(be: Backend, x: Float32Array, out: Float32Array, n: number, rows: number, norm: Norm): void {
  switch (norm.kind) {
    case "rms":
      return be.rmsNormRows(x, 0, out, 0, n, rows, norm.weight, norm.eps);
    case "layer": {
      be.normRows(x, 0, out, 0, n, rows, norm.eps);
      be.mulAddRows(out, rows, n, norm.weight, norm.bias); // ggml_mul by the weight, ggml_add of the bias
      return;
    }
  }
}

/** ggml_add of a bias row: x (rows, n) += b (n), in f32; nothing when b is absent. */
export function addBias(be: Backend, x: Float32Array, b: Float32Array | undefined, n: number, rows: number): void {
  if (b) be.mulAddRows(x, rows, n, undefined, b);
}

/** An FFN kind: LLM_FFN_GELU + LLM_FFN_PAR (gated: act(gate)·up), as Gemma's GEGLU. */
export interface GegluFfn {
  kind: "geglu";
  gate: Weight;
  up: Weight;
  down: Weight;
}
/** An FFN kind: LLM_FFN_SILU + LLM_FFN_PAR without biases (ggml_swiglu_split: silu(gate)·up), as nomic-bert and Qwen3. */
export interface SwigluFfn {
  kind: "swiglu";
  gate: Weight;
  up: Weight;
  down: Weight;
}
/** An FFN kind: LLM_FFN_GELU + LLM_FFN_SEQ without a gate, biases optional (BERT): down(gelu(up(x) + upB)) + downB. */
export interface GeluFfn {
  kind: "gelu";
  up: Weight;
  upB?: Float32Array;
  down: Weight;
  downB?: Float32Array;
}
export type Ffn = GegluFfn | SwigluFfn | GeluFfn;

/** Scratch an FFN needs: (nTok, nFf) each. */
export interface FfnScratch {
  gate: Float32Array;
  up: Float32Array;
  act: Float32Array;
}

/** The widths of a block's activations: stream nEmbd, q and attention output nQ (nHead·hd), k and v
 * nKV (nHeadKv·hd), FFN nFf; fusedQkv keeps one fused q|k|v row (nQ + 2 nKV) as well. */
export interface BlockWidths {
  nEmbd: number;
  nQ: number;
  nKV: number;
  nFf: number;
  fusedQkv: boolean;
}

/** One forward pass's activations, each (nTok, width) row-major; every element is written before it is read. */
export interface BlockActivations {
  x: Float32Array; // (nTok, nEmbd) residual stream between blocks (inpL)
  xb: Float32Array; // (nTok, nEmbd) normed input to a block (bert: ffn_inp)
  q: Float32Array; // (nTok, nQ)
  kk: Float32Array; // (nTok, nKV)
  v: Float32Array; // (nTok, nKV)
  o: Float32Array; // (nTok, nQ) attention output, heads concatenated
  ao: Float32Array; // (nTok, nEmbd) after attn_output / ffn_down
  ffn: FfnScratch; // (nTok, nFf) each
  fused: Float32Array; // (nTok, nQ + 2 nKV) fused q|k|v rows, empty unless fusedQkv
}

/** Floats per token of blockActivations: the loader reserves this much region ahead (Architecture.activationFloatsPerToken). */
export function activationFloats(w: BlockWidths): number {
  return 3 * w.nEmbd + 2 * w.nQ + 2 * w.nKV + 3 * w.nFf + (w.fusedQkv ? w.nQ + 2 * w.nKV : 0);
}

/** The activations of an nTok-token pass, carved in order from the backend's reusable region (WebAssembly
 * memory for the wasm backend, so its kernels work on them in place). */
export function blockActivations(be: Backend, nTok: number, w: BlockWidths): BlockActivations {
  const arena = be.activations(nTok * activationFloats(w));
  let at = 0;
  const take = (n: number) => arena.subarray(at, (at += nTok * n));
  return {
    x: take(w.nEmbd),
    xb: take(w.nEmbd),
    q: take(w.nQ),
    kk: take(w.nKV),
    v: take(w.nKV),
    o: take(w.nQ),
    ao: take(w.nEmbd),
    ffn: { gate: take(w.nFf), up: take(w.nFf), act: take(w.nFf) },
    fused: take(w.fusedQkv ? w.nQ + 2 * w.nKV : 0),
  };
}

/** build_ffn: out (nTok, nEmbd) = down(act(gate(x)) · up(x)); matmul rows keep each sequence's order (seqLen). */
export function buildFfn(
  be: Backend,
  x: Float32Array,
  nTok: number,
  seqLen: readonly number[],
  ffn: Ffn,
  s: FfnScratch,
  out: Float32Array,
  tap?: (name: string, d: Float32Array) => void,
): void {
  switch (ffn.kind) {
    case "geglu": {
      be.matmul(ffn.gate, x, nTok, s.gate, seqLen);
      be.matmul(ffn.up, x, nTok, s.up, seqLen);
      tap?.("ffn_gate", s.gate);
      tap?.("ffn_up", s.up);
      be.geglu(s.gate, s.up, s.act, nTok * ffn.gate.ne1);
      tap?.("ffn_geglu", s.act);
      be.matmul(ffn.down, s.act, nTok, out, seqLen);
      return;
    }
    case "gelu": {
      const nFf = ffn.up.ne1;
      be.matmul(ffn.up, x, nTok, s.up, seqLen);
      addBias(be, s.up, ffn.upB, nFf, nTok);
      tap?.("ffn_up_b", s.up);
      be.gelu(s.up, s.act, nTok * nFf);
      tap?.("ffn_gelu", s.act);
      be.matmul(ffn.down, s.act, nTok, out, seqLen);
      addBias(be, out, ffn.downB, ffn.down.ne1, nTok);
      return;
    }
    case "swiglu": {
      // build_ffn order: up first, then gate (both from x), then swiglu_split(gate, up), down
      be.matmul(ffn.up, x, nTok, s.up, seqLen);
      be.matmul(ffn.gate, x, nTok, s.gate, seqLen);
      tap?.("ffn_up", s.up);
      tap?.("ffn_gate", s.gate);
      be.swiglu(s.gate, s.up, s.act, nTok, ffn.gate.ne1);
      tap?.("ffn_swiglu", s.act);
      be.matmul(ffn.down, s.act, nTok, out, seqLen);
      return;
    }
  }
}

/**
 * build_attn without a KV cache, per sequence of the batch: q (nTok, nHead·hd), k, v (nTok,
 * nHeadKv·hd) -> o (nTok, nHead·hd). Non-causal; `window`: keys with |Δpos| > window are masked
 * (LLAMA_SWA_TYPE_SYMMETRIC), Infinity for none. kqScale: soft_max_ext's scale (build_attn's
 * kq_scale; 1 where q was pre-scaled, as Gemma's).
 */
export function buildAttn(
  be: Backend,
  batch: Batch,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  o: Float32Array,
  nHead: number,
  nHeadKv: number,
  hd: number,
  window: number,
  kqScale = 1,
): void {
  const nQ = nHead * hd,
    nKV = nHeadKv * hd;
  for (let s = 0; s < batch.seqStart.length; s++) {
    const a = batch.seqStart[s]!,
      b = a + batch.seqLen[s]!;
    be.attention(
      q.subarray(a * nQ, b * nQ),
      k.subarray(a * nKV, b * nKV),
      v.subarray(a * nKV, b * nKV),
      o.subarray(a * nQ, b * nQ),
      batch.seqLen[s]!,
      nHead,
      nHeadKv,
      hd,
      window,
      kqScale,
    );
  }
}

/**
 * build_attn with llm_graph_input_attn_kv (a causal decoder through llama.cpp's f16 KV cache), per
 * sequence of the batch, each as if alone in a fresh cache: q (nTok, nHead·hd), k, v (nTok,
 * nHeadKv·hd) -> o (nTok, nHead·hd); kqScale: soft_max_ext's scale (kernels/attn-kv-f16.ts).
 */
export function buildAttnKvF16(
  be: Backend,
  batch: Batch,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  o: Float32Array,
  nHead: number,
  nHeadKv: number,
  hd: number,
  kqScale: number,
): void {
  const nQ = nHead * hd,
    nKV = nHeadKv * hd;
  for (let s = 0; s < batch.seqStart.length; s++) {
    const a = batch.seqStart[s]!,
      b = a + batch.seqLen[s]!;
    be.attentionKvF16(
      q.subarray(a * nQ, b * nQ),
      k.subarray(a * nKV, b * nKV),
      v.subarray(a * nKV, b * nKV),
      o.subarray(a * nQ, b * nQ),
      batch.seqLen[s]!,
      nHead,
      nHeadKv,
      hd,
      kqScale,
    );
  }
}

/** x (rows, n) += y (rows, n), element-wise in f32 (ggml_add of the residual). */
export function addInPlace(be: Backend, x: Float32Array, y: Float32Array, rows: number, n: number): void {
  be.mulAddRows(x, rows, n, undefined, undefined, y);
}

/**
 * NEOX RoPE (ggml_rope_ext, mode NEOX, no scaling) at each token's position within its sequence,
 * on nHeads heads of hd per row of x (nTok, nHeads·hd); the cos/sin tables are cached per base and
 * grown on demand (ops.ts ropeCache: ggml's iterative f32 angles, glibc sincosf).
 */
export class NeoxRope {
  private readonly tables = new Map<number, { cos: Float32Array; sin: Float32Array }>();

  constructor(private readonly hd: number) {}

  apply(batch: Batch, x: Float32Array, nHeads: number, base: number, after?: (off: number) => void): void {
    const hd = this.hd,
      half = hd / 2,
      width = nHeads * hd;
    const { cos, sin } = this.table(base, Math.max(0, ...batch.seqLen));
    for (let s = 0; s < batch.seqStart.length; s++) {
      for (let p = 0; p < batch.seqLen[s]!; p++) {
        const i = batch.seqStart[s]! + p;
        for (let h = 0; h < nHeads; h++) {
          const off = i * width + h * hd;
          ropeNeox(x, off, hd, cos, sin, p * half);
          after?.(off);
        }
      }
    }
  }

  /** cos/sin of every angle for positions 0..nPos-1 at `base`, (nPos, hd/2). */
  private table(base: number, nPos: number): { cos: Float32Array; sin: Float32Array } {
    const half = this.hd / 2;
    const have = this.tables.get(base);
    if (have && have.cos.length >= nPos * half) return have;
    const t = { cos: new Float32Array(nPos * half), sin: new Float32Array(nPos * half) };
    for (let p = 0; p < nPos; p++)
      ropeCache(p, this.hd, base, t.cos.subarray(p * half, (p + 1) * half), t.sin.subarray(p * half, (p + 1) * half));
    this.tables.set(base, t);
    return t;
  }
}
