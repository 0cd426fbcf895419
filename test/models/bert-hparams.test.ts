/**
 * bert / nomic-bert metadata handling, without llama.cpp: llama.cpp's refusals (no
 * tokenizer.ggml.token_type_count, causal attention), nomic-embed-text's task prefixes, the
 * `inspect` summary, and llama-quantize's row fallbacks in the generator (src/llama-quant.cpp
 * tensor_type_fallback).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize } from "../../src/cli/inspect.js";
import { applyPrompt } from "../../src/embed/prompts.js";
import { kv, type GGUFValue } from "../../src/gguf/keys.js";
import { readGGUFParts } from "../../src/gguf/split.js";
import { ArrayBufferSource } from "../../src/gguf/source.js";
import { encodeGGUFToBuffer } from "../../src/gguf/writer.js";
import { loadModel } from "../../src/index.js";
import { GGMLType } from "../../src/tensor/ggml-type.js";
import { bertGGUF, quantizeTypeForRow } from "../../scripts/gen/bert.js";
import { vocabMetadata } from "../helpers/bert-fixtures.js";

const TINY = { nLayer: 1, nEmbd: 64, nFf: 128, nHead: 4, contextLength: 64, weightType: "F32" } as const;

async function tiny(arch: "bert" | "nomic-bert", edit?: (m: [string, GGUFValue][]) => [string, GGUFValue][]): Promise<Uint8Array> {
  const g = bertGGUF({ ...TINY, arch, vocab: await vocabMetadata("wpm") });
  const meta = [...g.metadata];
  return encodeGGUFToBuffer({ ...g, metadata: edit ? edit(meta) : meta });
}

test("a bert file without tokenizer.ggml.token_type_count, with causal attention, or with key_length but no value_length, is refused", async () => {
  const noTypes = await tiny("bert", (m) => m.filter(([k]) => k !== "tokenizer.ggml.token_type_count"));
  await assert.rejects(
    loadModel(noTypes, { backend: "js" }),
    (e: Error & { code?: string }) => e.code === "BAD_HPARAMS" && /token type count/.test(e.message),
  );
  const causal = await tiny("nomic-bert", (m) =>
    m.map(([k, v]) => [k, k === "nomic-bert.attention.causal" ? kv.bool(true) : v] as [string, GGUFValue]),
  );
  await assert.rejects(
    loadModel(causal, { backend: "js" }),
    (e: Error & { code?: string }) => e.code === "BAD_HPARAMS" && /causal/.test(e.message),
  );
  // key_length 32 (n_embd / n_head is 16) without value_length: llama.cpp's value_length stays 16
  const keyOnly = await tiny("bert", (m) => [...m, ["bert.attention.key_length", kv.u32(32)]]);
  await assert.rejects(
    loadModel(keyOnly, { backend: "js" }),
    (e: Error & { code?: string }) =>
      e.code === "BAD_HPARAMS" && /value_length 16 must equal a non-zero attention.key_length 32/.test(e.message),
  );
  const m = await loadModel(await tiny("bert"), { backend: "js" });
  assert.equal(m.info.architecture, "bert");
  await m.close();
});

test("nomic-bert task prefixes: search_query, search_document, clustering, classification; other tasks and titles refused", () => {
  assert.equal(applyPrompt("nomic-bert", "x", "query"), "search_query: x");
  assert.equal(applyPrompt("nomic-bert", "x", "document"), "search_document: x");
  assert.equal(applyPrompt("nomic-bert", "x", "clustering"), "clustering: x");
  assert.equal(applyPrompt("nomic-bert", "x", "classification"), "classification: x");
  assert.equal(applyPrompt("nomic-bert", "x"), "x");
  assert.throws(() => applyPrompt("nomic-bert", "x", "qa"), /no prompt for task "qa"/);
  assert.throws(() => applyPrompt("nomic-bert", "x", "document", "T"), /title/);
  assert.throws(() => applyPrompt("bert", "x", "query"), /no task prompts/);
});

test("inspect summarizes bert (separate QKV, learned positions, GELU) and nomic-bert (fused QKV, RoPE, SwiGLU)", async () => {
  const b = summarize(await readGGUFParts([new ArrayBufferSource(await tiny("bert"))])).bert;
  assert.deepEqual(b, {
    qkv: "separate",
    qkvBias: true,
    position: "learned position_embd (64 positions)",
    ffn: "GELU",
    pooling: "mean",
    tokenTypes: 2,
    tokenizer: "bert (WordPiece)",
  });
  const n = summarize(await readGGUFParts([new ArrayBufferSource(await tiny("nomic-bert"))])).bert;
  assert.deepEqual(n, {
    qkv: "fused",
    qkvBias: false,
    position: "NEOX RoPE, base 1000",
    ffn: "SwiGLU",
    pooling: "mean",
    tokenTypes: 2,
    tokenizer: "bert (WordPiece)",
  });
});

test("generator: rows that are not whole 256-blocks get llama-quantize's fallback type (384 = MiniLM width)", () => {
  assert.equal(quantizeTypeForRow(GGMLType.Q4_K, 384), GGMLType.Q5_0);
  assert.equal(quantizeTypeForRow(GGMLType.Q4_K, 1536), GGMLType.Q4_K);
  assert.equal(quantizeTypeForRow(GGMLType.Q5_K, 384), GGMLType.Q5_1);
  assert.equal(quantizeTypeForRow(GGMLType.Q6_K, 384), GGMLType.Q8_0);
  assert.equal(quantizeTypeForRow(GGMLType.Q2_K, 384), GGMLType.Q4_0);
  assert.equal(quantizeTypeForRow(GGMLType.Q3_K, 384), GGMLType.Q4_0);
  assert.equal(quantizeTypeForRow(GGMLType.IQ4_XS, 384), GGMLType.IQ4_NL);
  assert.equal(quantizeTypeForRow(GGMLType.Q8_0, 40), GGMLType.F16);
});
