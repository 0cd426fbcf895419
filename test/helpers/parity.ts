/** Shared pieces of the llama.cpp parity tests: inputs of given token lengths, and the comparison. */
import assert from "node:assert/strict";
import type { EmbeddingModel } from "../../src/embed/embedder.js";
import { l2normalize, llamaEmbed, oneMinusCos } from "./llama.js";

const TEXT = [
  "The quick brown fox jumps over the lazy dog. ",
  "Embeddings map text to vectors so that similar meanings land close together. ",
  "東京は日本の首都です。 Москва — столица России. القاهرة هي عاصمة مصر. नमस्ते दुनिया। ",
  "function add(a, b) { return a + b; }\n\tconst x = add(1, 2);\n",
  "<start_of_turn>user\nWhat is RAG?<end_of_turn>  🦙🦙 emoji and   spaces. ",
].join("");

/**
 * Token lists of exactly the given lengths: BOS, text tokens, EOS (the minimum is [BOS, EOS]).
 */
export function inputsOfLengths(model: EmbeddingModel, lengths: number[]): number[][] {
  const tok = model.tokenizer;
  let body: number[] = [];
  while (body.length < Math.max(...lengths)) body = body.concat(Array.from(tok.encode(TEXT, { addSpecial: false, parseSpecial: true })));
  return lengths.map((n) => [tok.bosId, ...body.slice(0, Math.max(0, n - 2)), tok.eosId]);
}

export interface ParityResult {
  length: number;
  oneMinusCos: number;
  /** wall time of the whole batch: ours (model.embed) and llama.cpp's (llamaEmbed, with its model load on first use) */
  oursMs: number;
  refMs: number;
}

/** Embed with both, L2-normalize both, and assert 1 - cos <= tol for every input. */
export async function assertParity(
  path: string,
  model: EmbeddingModel,
  inputs: number[][],
  tol: number,
  threads = 2,
): Promise<ParityResult[]> {
  assert.ok(inputs.length > 0, "no inputs to compare");
  const t0 = performance.now();
  const ours = await model.embed(inputs, { normalize: "l2" });
  const t1 = performance.now();
  const ref = await llamaEmbed(path, inputs, threads);
  const [oursMs, refMs] = [t1 - t0, performance.now() - t1];
  const results = inputs.map((t, i) => ({ length: t.length, oneMinusCos: oneMinusCos(ours[i], l2normalize(ref[i])), oursMs, refMs }));
  for (const r of results)
    assert.ok(r.oneMinusCos <= tol, `${path}: ${r.length} tokens: 1 - cos = ${r.oneMinusCos.toExponential(2)} > ${tol}`);
  return results;
}
