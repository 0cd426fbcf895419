/**
 * Inputs -> the token ids the model sees: task prompt applied, BOS/EOS added, token ids checked,
 * length checked against the context (or cut, with `truncate`). A plain function of the tokenizer,
 * so the server can run the same code in a worker thread for large bodies
 * (src/server/tokenize-worker.ts); EmbeddingModel.prepare calls it on the caller's thread.
 * Text is tokenized as llama.cpp's embedding paths do (common_tokenize with add_special and
 * parse_special true; llama.cpp tools/server/server-common.cpp tokenize_input_prompts).
 */
import { EmbedError } from "../errors.js";
import type { EncodeOptions, Tokenizer } from "../tokenizer/index.js";
import { checkEmbedOptions, type EmbedOptions } from "./options.js";
import { applyPrompt } from "./prompts.js";

/** A text, or token ids used verbatim (no BOS/EOS added, as llama-server does). */
export type EmbedInput = string | ArrayLike<number>;

/** Tokenized input with the index it came from. */
export interface PreparedInput {
  index: number;
  tokens: Int32Array;
}

/** What prepareInputs needs of a model besides its tokenizer. */
export interface PrepareContext {
  tokenizer: Tokenizer;
  architecture: string;
  /** Context length (n_ctx_train): the most tokens one input may have. */
  nCtx: number;
  nEmbdOut: number;
}

/**
 * The tokens of each input, in input order; throws at the first bad input (its index in
 * `detail.index`). Without `truncate`, tokenizing a text stops once it is known to exceed the
 * context (the tokenizer's `maxTokens`), so an over-long input costs no more than the context.
 */
export function prepareInputs(c: PrepareContext, inputs: readonly EmbedInput[], opts: EmbedOptions = {}): PreparedInput[] {
  if (!Array.isArray(inputs)) throw new EmbedError("BAD_INPUT", "embed() takes a string or an array of inputs", {});
  checkEmbedOptions(opts, c.nEmbdOut);
  const { tokenizer, nCtx } = c;
  // maxTokens: encoding may stop once it holds more than nCtx ids (a prefix of the full encoding).
  const encodeOpts: EncodeOptions & { maxTokens?: number } = {
    addSpecial: true,
    parseSpecial: true,
    ...(opts.truncate ? {} : { maxTokens: nCtx }),
  };
  return inputs.map((input, index) => {
    let tokens: Int32Array;
    const fromText = typeof input === "string";
    if (typeof input === "string") {
      const text = applyPrompt(c.architecture, input, opts.task, opts.title);
      tokens = Int32Array.from(tokenizer.encode(text, encodeOpts));
    } else if (input && typeof input === "object" && typeof (input as ArrayLike<number>).length === "number") {
      tokens = new Int32Array(input.length);
      for (let i = 0; i < input.length; i++) {
        const id = input[i];
        if (!Number.isInteger(id) || id < 0 || id >= tokenizer.nVocab) {
          throw new EmbedError(
            "TOKEN_OUT_OF_RANGE",
            `input ${index}: token ${i} is ${String(id)}, outside the vocabulary [0, ${tokenizer.nVocab})`,
            { index, position: i, token: id },
          );
        }
        tokens[i] = id;
      }
    } else {
      throw new EmbedError("BAD_INPUT", `input ${index} must be a string or an array of token ids`, { index });
    }
    if (tokens.length === 0) throw new EmbedError("BAD_INPUT", `input ${index} has no tokens`, { index });
    if (tokens.length > nCtx) {
      if (!opts.truncate) {
        // A text's count is a lower bound when tokenizing stopped early.
        const has = fromText ? `at least ${tokens.length}` : `${tokens.length}`;
        throw new EmbedError(
          "INPUT_TOO_LONG",
          `input ${index} has ${has} tokens, more than the model's context of ${nCtx}; pass truncate: true to cut it`,
          { index, nTokens: tokens.length, contextLength: nCtx, ...(fromText ? { atLeast: true } : {}) },
        );
      }
      tokens = truncateTokens(tokens, nCtx, tokenizer, opts.truncationDirection);
    }
    return { index, tokens };
  });
}

/**
 * Keep BOS (if first) and EOS (if last) in place and cut the text between them to fit nCtx: its
 * tail ("right", the default) or its head ("left", as TEI's truncation_direction "Left").
 */
export function truncateTokens(
  tokens: Int32Array,
  nCtx: number,
  tok: Pick<Tokenizer, "bosId" | "eosId">,
  direction: "left" | "right" = "right",
): Int32Array {
  const hasEos = tokens[tokens.length - 1] === tok.eosId;
  const out = new Int32Array(nCtx); // (nCtx)
  if (direction === "right") {
    out.set(tokens.subarray(0, nCtx - (hasEos ? 1 : 0))); // BOS stays at index 0 by construction
  } else {
    const nBos = tokens[0] === tok.bosId && nCtx > 1 ? 1 : 0;
    if (nBos) out[0] = tok.bosId;
    const end = tokens.length - (hasEos ? 1 : 0);
    const keep = nCtx - nBos - (hasEos ? 1 : 0);
    out.set(tokens.subarray(end - keep, end), nBos);
  }
  if (hasEos) out[nCtx - 1] = tok.eosId;
  return out;
}
