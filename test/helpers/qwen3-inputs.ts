/** Inputs for qwen3 parity tests: token lists of given lengths, ending with <|endoftext|>. */
import type { EmbeddingModel } from "../../src/embed/embedder.js";

const TEXT = [
  "The quick brown fox jumps over the lazy dog. ",
  "Embeddings map text to vectors so that similar meanings land close together. ",
  "東京は日本の首都です。 Москва — столица России. القاهرة هي عاصمة مصر. नमस्ते दुनिया। ",
  "function add(a, b) { return a + b; }\n\tconst x = add(1, 2);\n",
  "<|im_start|>user\nWhat is RAG?<|im_end|>  🦙🦙 emoji and   spaces. ",
].join("");

/** Token lists of exactly the given lengths: text tokens, then <|endoftext|> (no BOS: add_bos_token = false). */
export function qwen3Inputs(model: EmbeddingModel, lengths: number[]): number[][] {
  const tok = model.tokenizer;
  let body: number[] = [];
  while (body.length < Math.max(...lengths)) body = body.concat(Array.from(tok.encode(TEXT, { addSpecial: false, parseSpecial: true })));
  return lengths.map((n) => [...body.slice(0, n - 1), tok.eosId]);
}
