/**
 * The EmbeddingGemma forward pass as an ONNX graph, built from the weights of one of our GGUFs
 * (the synthetic full-size model of bench/, so onnxruntime-web runs the same shapes and the same
 * weights as gguf-embed and llama.cpp). Mirrors src/models/gemma-embedding.ts op for op, in
 * standard ONNX ops (opset 20) except the 4-bit matmul (com.microsoft MatMulNBits):
 *   - matmuls: "int8" = DynamicQuantizeLinear + MatMulInteger + Cast + scale Mul, as onnxruntime's
 *     quantize_dynamic writes them (one DynamicQuantizeLinear per activation tensor, shared by its
 *     consumers); "q4" = MatMulNBits (bits 4, block 32). token_embd is an int8 Gather +
 *     DequantizeLinear in both (quantize_dynamic's quantized Gather).
 *   - RMSNorm as x / sqrt(mean(x²) + eps) · w; NEOX RoPE by tables gathered at position_ids;
 *     attention as MatMul + additive mask + Softmax + MatMul over the full T×T (the sliding window
 *     is in the mask, as exported models do); GELU (tanh) · up; mean pooling as a MatMul with
 *     pool = mask / count; dense_2, dense_3.
 * Inputs: input_ids, position_ids (B, T) int64; bias_global, bias_local (B, 1, T, T) f32 (0 or
 * -1e30); pool (B, 1, T) f32. Output: embedding (B, nEmbdOut), not normalized.
 */
import { gemmaEmbedding, type GemmaEmbeddingHParams } from "../../src/models/gemma-embedding.js";
import { readGGUF, readTensorData, type GGUFFile } from "../../src/gguf/reader.js";
import { FileSource } from "../../src/node/fs-source.js";
import { quantTraits } from "../../src/quant/index.js";
import { GraphBuilder } from "./builder.js";
import { DT, writeModel } from "./proto.js";
import { int8Rows, int8Transposed, q4Blocks } from "./quant.js";

export type OnnxQuant = "int8" | "q4";

/** Multiply-accumulates of a graph: per token in its matmuls, per text in dense_2/3, per (head, query, key) in attention. */
export interface MacCount {
  linearPerToken: number;
  densePerText: number;
  /** per head·query·key pair, QKᵀ and PV together (= 2·head_dim) */
  attnPerPair: number;
  nHead: number;
}

export interface OnnxGemma {
  bytes: Uint8Array;
  macs: MacCount;
  hp: GemmaEmbeddingHParams;
}

/** One GGUF matrix (or vector) dequantized to f32, rows of ne0. */
async function f32Tensor(f: GGUFFile, name: string): Promise<{ data: Float32Array; ne0: number; ne1: number }> {
  const t = f.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`${name}: not in the GGUF`);
  const bytes = await readTensorData(t);
  const tr = quantTraits(t.type, name);
  const ne0 = t.ne[0]!,
    ne1 = t.nElements / ne0;
  const data = new Float32Array(t.nElements);
  const rowBytes = (ne0 / tr.blockSize) * tr.typeSize;
  for (let r = 0; r < ne1; r++) tr.dequantizeRow(bytes, r * rowBytes, data, r * ne0, ne0);
  return { data, ne0, ne1 };
}

/** NEOX RoPE tables for positions 0..nPos-1: cos (nPos, hd) and sin with the rotate-half sign folded in. */
function ropeTables(nPos: number, hd: number, base: number): { cos: Float32Array; sin: Float32Array } {
  const cos = new Float32Array(nPos * hd),
    sin = new Float32Array(nPos * hd),
    half = hd / 2;
  for (let p = 0; p < nPos; p++) {
    for (let i = 0; i < half; i++) {
      const th = p * Math.pow(base, (-2 * i) / hd);
      cos[p * hd + i] = cos[p * hd + half + i] = Math.cos(th);
      sin[p * hd + i] = -Math.sin(th); // out[i] = x[i]·cos − x[i+half]·sin
      sin[p * hd + half + i] = Math.sin(th); // out[i+half] = x[i+half]·cos + x[i]·sin
    }
  }
  return { cos, sin };
}

export async function buildGemmaOnnx(
  ggufPath: string,
  quant: OnnxQuant,
  o: { perChannel?: boolean; accuracyLevel?: number } = {},
): Promise<OnnxGemma> {
  const src = await FileSource.open(ggufPath);
  try {
    const f = await readGGUF(src);
    const hp = gemmaEmbedding.loadHParams(f.metadata);
    const { nEmbd: D, nHead: H, nHeadKv: HKV, nEmbdHead: hd, normRmsEps: eps } = hp;
    if (HKV !== 1 && HKV !== H) throw new Error(`onnx graph: head_count_kv ${HKV} must be 1 or head_count (broadcast MatMul)`);
    const g = new GraphBuilder(`embeddinggemma-${quant}`);
    const macs: MacCount = { linearPerToken: 0, densePerText: 0, attnPerPair: 2 * hd, nHead: H };
    const B = "batch",
      T = "seq";
    const ids = g.input({ name: "input_ids", elemType: DT.INT64, shape: [B, T] });
    const pos = g.input({ name: "position_ids", elemType: DT.INT64, shape: [B, T] });
    const biasG = g.input({ name: "bias_global", elemType: DT.FLOAT, shape: [B, 1, T, T] });
    const biasL = g.input({ name: "bias_local", elemType: DT.FLOAT, shape: [B, 1, T, T] });
    const pool = g.input({ name: "pool", elemType: DT.FLOAT, shape: [B, 1, T] });

    const quantized = new Map<string, string[]>(); // activation -> [x_q, x_scale, x_zero_point]
    // x (..., K) @ W -> (..., N); W is the GGUF matrix `name` (N rows of K)
    const linear = async (x: string, name: string, perText = false): Promise<string> => {
      const { data, ne0: K, ne1: N } = await f32Tensor(f, name);
      if (perText) macs.densePerText += K * N;
      else macs.linearPerToken += K * N;
      if (quant === "q4") {
        const { b, scales } = q4Blocks(data, K, N);
        const attrs: Record<string, number> = { K, N, bits: 4, block_size: 32 };
        if (o.accuracyLevel !== undefined) attrs.accuracy_level = o.accuracyLevel;
        const bq = g.init(`${name}.q4`, [N, K / 32, 16], b),
          sc = g.init(`${name}.scales`, [N * (K / 32)], scales);
        return g.op("MatMulNBits", [x, bq, sc], attrs, "com.microsoft");
      }
      let xq = quantized.get(x);
      if (!xq) quantized.set(x, (xq = g.opN("DynamicQuantizeLinear", [x], 3)));
      const { b, scale } = int8Transposed(data, K, N, o.perChannel);
      const zp = g.init(`${name}.zp`, o.perChannel ? [N] : [], new Int8Array(scale.length));
      const yi = g.op("MatMulInteger", [xq[0]!, g.init(`${name}.q8`, [K, N], b), xq[2]!, zp]);
      const s = g.op("Mul", [xq[1]!, g.init(`${name}.scale`, o.perChannel ? [N] : [], scale)]);
      return g.op("Mul", [g.op("Cast", [yi], { to: DT.FLOAT }), s]);
    };
    const norms = new Map<string, string>();
    const rms = async (x: string, name: string): Promise<string> => {
      let w = norms.get(name);
      if (!w) {
        const t = await f32Tensor(f, name);
        norms.set(name, (w = g.init(name, [t.data.length], t.data)));
      }
      const ms = g.op("ReduceMean", [g.op("Mul", [x, x]), g.i64([-1])], { keepdims: 1 });
      return g.op("Mul", [g.op("Div", [x, g.op("Sqrt", [g.op("Add", [ms, g.f32(eps)])])]), w]);
    };
    const nPos = hp.nCtxTrain;
    const table = (base: number, tag: string) => {
      const { cos, sin } = ropeTables(nPos, hd, base);
      // (nPos, hd) table gathered at position_ids -> (B, T, 1, hd)
      const at = (t: Float32Array, n: string) => g.op("Unsqueeze", [g.op("Gather", [g.init(n, [nPos, hd], t), pos]), g.i64([2])]);
      return { cos: at(cos, `rope_cos_${tag}`), sin: at(sin, `rope_sin_${tag}`) };
    };
    const ropeG = table(hp.ropeFreqBase, "global"),
      ropeL = table(hp.ropeFreqBaseSwa, "local");
    const rope = (x: string, r: { cos: string; sin: string }) => {
      const [x1, x2] = g.opN("Split", [x, g.i64([hd / 2, hd / 2])], 2, { axis: -1 });
      const rot = g.op("Concat", [x2!, x1!], { axis: -1 });
      return g.op("Add", [g.op("Mul", [x, r.cos]), g.op("Mul", [rot, r.sin])]);
    };

    // 1. token embeddings: quantized Gather, dequantized, scaled by sqrt(n_embd)
    const emb = await f32Tensor(f, "token_embd.weight");
    let amax = 0;
    for (const v of emb.data) amax = Math.max(amax, Math.abs(v));
    const { q: embQ, scale: embS } = int8Rows(emb.data, amax);
    const tab = g.init("token_embd.q8", [emb.ne1, emb.ne0], embQ);
    const embScale = g.init("token_embd.scale", [], Float32Array.of(embS)),
      embZp = g.init("token_embd.zp", [], new Int8Array(1));
    const e = g.op("DequantizeLinear", [g.op("Gather", [tab, ids]), embScale, embZp]);
    let x = g.op("Mul", [e, g.f32(Math.fround(Math.sqrt(D)))]); // (B, T, D)

    for (let il = 0; il < hp.nLayer; il++) {
      const p = `blk.${il}.`,
        swa = hp.isSwa[il]!;
      const r = swa ? ropeL : ropeG;
      const xb = await rms(x, p + "attn_norm.weight");
      let q = g.op("Reshape", [await linear(xb, p + "attn_q.weight"), g.i64([0, 0, H, hd])]); // (B, T, H, hd)
      let k = g.op("Reshape", [await linear(xb, p + "attn_k.weight"), g.i64([0, 0, HKV, hd])]);
      const v = g.op("Reshape", [await linear(xb, p + "attn_v.weight"), g.i64([0, 0, HKV, hd])]);
      q = g.op("Mul", [rope(await rms(q, p + "attn_q_norm.weight"), r), g.f32(Math.fround(1 / Math.sqrt(hd)))]);
      k = rope(await rms(k, p + "attn_k_norm.weight"), r);
      const qT = g.op("Transpose", [q], { perm: [0, 2, 1, 3] }),
        kT = g.op("Transpose", [k], { perm: [0, 2, 3, 1] });
      const kq = g.op("MatMul", [qT, kT]); // (B, H, T, hd) @ (B, HKV, hd, T) -> (B, H, T, T)
      const probs = g.op("Softmax", [g.op("Add", [kq, swa ? biasL : biasG])], { axis: -1 });
      const kqv = g.op("MatMul", [probs, g.op("Transpose", [v], { perm: [0, 2, 1, 3] })]); // (B, H, T, hd)
      const o2 = g.op("Reshape", [g.op("Transpose", [kqv], { perm: [0, 2, 1, 3] }), g.i64([0, 0, H * hd])]);
      const ao = await rms(await linear(o2, p + "attn_output.weight"), p + "post_attention_norm.weight");
      x = g.op("Add", [x, ao]);
      const xf = await rms(x, p + "ffn_norm.weight");
      const gate = await linear(xf, p + "ffn_gate.weight"),
        up = await linear(xf, p + "ffn_up.weight");
      const act = g.op("Mul", [g.op("Gelu", [gate], { approximate: "tanh" }), up]);
      x = g.op("Add", [x, await rms(await linear(act, p + "ffn_down.weight"), p + "post_ffw_norm.weight")]);
    }
    x = await rms(x, "output_norm.weight");
    let y = g.op("Squeeze", [g.op("MatMul", [pool, x]), g.i64([1])]); // (B, D) mean over each text's tokens
    if (f.tensors.some((t) => t.name === "dense_2.weight")) {
      y = await linear(await linear(y, "dense_2.weight", true), "dense_3.weight", true);
    }
    g.output(y, { name: "embedding", elemType: DT.FLOAT, shape: [B, hp.nEmbdOut] });
    const bytes = writeModel({ graph: g.graph(), opsets: { "": 20, "com.microsoft": 1 }, irVersion: 9 });
    return { bytes, macs, hp };
  } finally {
    await src.close();
  }
}

/** Attention MACs of a text of T tokens: full T×T (the ONNX graph), or only pairs inside the window on local layers (ours). */
export function attnMacs(m: MacCount, hp: GemmaEmbeddingHParams, T: number, windowed: boolean): number {
  let pairs = 0;
  for (let il = 0; il < hp.nLayer; il++) {
    if (!windowed || !hp.isSwa[il]) {
      pairs += T * T;
      continue;
    }
    const w = Math.floor(hp.nSwa / 2);
    for (let i = 0; i < T; i++) pairs += Math.min(T, i + w + 1) - Math.max(0, i - w);
  }
  return pairs * m.nHead * m.attnPerPair;
}
