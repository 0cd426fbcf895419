/**
 * Hugging Face text-embeddings-inference (TEI) routes, in TEI's JSON shapes:
 *   POST /embed      {inputs, normalize = true, truncate = false, truncation_direction = "Right",
 *                     prompt_name?, dimensions?} -> [[...], ...]   (one vector per input, always a list)
 *   POST /embed_all  {inputs, truncate, truncation_direction, prompt_name?} -> [[[...] per token], ...]
 *   POST /tokenize   {inputs, add_special_tokens = true, prompt_name?}
 *                    -> [[{id, text, special, start, stop}, ...], ...]   (http.ts sends bodies with
 *                    `inputs` here, and llama-server's `{content}` bodies to llama.ts)
 *   POST /decode     {ids: [..] | [[..], ..], skip_special_tokens = true} -> ["text", ...]
 *   GET  /info       {model_id, model_type, max_input_length, max_batch_tokens, ...}
 * `inputs` is a string, an array of strings, an array of token ids or an array of such arrays.
 * `prompt_name` picks a prompt by its Sentence-Transformers name (PROMPT_NAMES). Errors are TEI's
 * `{error, error_type}` (http.ts, flavor "tei"). ref: text-embeddings-inference router/src/http/
 * types.rs and server.rs (embed, embed_all, tokenize, decode, get_model_info); docs/server.md.
 */
import type { EmbedOptions } from "../embed/options.js";
import { applyPrompt, TASKS, type Task } from "../embed/prompts.js";
import { EmbedError } from "../errors.js";
import { LlamaTokenAttr, type Tokenizer } from "../tokenizer/index.js";
import { embedAll, type Reply, type ServerContext } from "./context.js";
import { badField, toHttpError } from "./errors.js";
import { floatsJson, joined } from "./replies.js";
import { optionalBool, parseEmbedOptions, parseInputs, show, type Json } from "./request.js";
import { packageVersion } from "./version.js";

/**
 * EmbeddingGemma's prompt names (the "prompts" of google/embeddinggemma-300m's
 * config_sentence_transformers.json) -> our task, plus our own task names.
 */
const PROMPT_NAMES: Record<string, Task> = {
  query: "query",
  document: "document",
  Retrieval: "query",
  "Retrieval-query": "query",
  "Retrieval-document": "document",
  Reranking: "query",
  BitextMining: "query",
  Clustering: "clustering",
  Classification: "classification",
  MultilabelClassification: "classification",
  PairClassification: "similarity",
  STS: "similarity",
  InstructionRetrieval: "code",
  ...Object.fromEntries(TASKS.map((t) => [t, t])),
};

/** TEI's options as EmbedOptions (the library validator checks each value). */
function teiOptions(body: Json, ctx: ServerContext): EmbedOptions {
  const pn = body.prompt_name;
  if (pn !== undefined && pn !== null && (typeof pn !== "string" || !Object.hasOwn(PROMPT_NAMES, pn))) {
    throw badField("prompt_name", `"prompt_name" must be one of ${Object.keys(PROMPT_NAMES).join(", ")}, got ${show(pn)}`);
  }
  // prompt_name replaces the server's default task; null or absent leaves it.
  const fields = { dimensions: body.dimensions, truncate: body.truncate, ...(typeof pn === "string" ? { task: PROMPT_NAMES[pn] } : {}) };
  const opts = parseEmbedOptions(fields, ctx.defaults, ctx.model.info.nEmbdOut);
  const dir = body.truncation_direction;
  if (dir !== undefined && dir !== null) {
    if (typeof dir !== "string" || !["left", "right"].includes(dir.toLowerCase())) {
      throw badField("truncation_direction", `"truncation_direction" must be "Left" or "Right", got ${show(dir)}`);
    }
    opts.truncationDirection = dir.toLowerCase() as "left" | "right";
  }
  return opts;
}

function teiInputs(body: Json) {
  if (body.inputs === undefined) throw badField("inputs", `"inputs" is required`);
  return parseInputs(body.inputs, "inputs");
}

export async function teiEmbed(body: Json, ctx: ServerContext): Promise<Reply> {
  const inputs = teiInputs(body);
  const opts = teiOptions(body, ctx);
  opts.normalize = optionalBool(body, "normalize", true);
  if ((opts.pooling ?? ctx.model.info.pooling) === "none") throw badField("inputs", "this model has pooling none: use POST /embed_all");
  const { vectors } = await embedAll(ctx, inputs, opts, "inputs");
  return { body: joined("[", vectors.map(floatsJson), "]") };
}

/** Per-token vectors, as the model gives them (not normalized), BOS and EOS included. */
export async function teiEmbedAll(body: Json, ctx: ServerContext): Promise<Reply> {
  const inputs = teiInputs(body);
  const opts = { ...teiOptions(body, ctx), pooling: "none" as const, normalize: "none" as const };
  const { vectors, prepared } = await embedAll(ctx, inputs, opts, "inputs");
  const width = opts.dimensions ?? ctx.model.info.nEmbdOut;
  const item = (v: Float32Array, i: number) => {
    const rows: string[] = [];
    for (let t = 0; t < prepared[i].tokens.length; t++) rows.push(floatsJson(v.subarray(t * width, (t + 1) * width)));
    return `[${rows.join(",")}]`;
  };
  return {
    body: joined(
      "[",
      (function* () {
        for (let i = 0; i < vectors.length; i++) yield item(vectors[i], i);
      })(),
      "]",
    ),
  };
}

const utf8 = new TextEncoder();

/**
 * TEI's tokens: `{id, text, special, start, stop}`; `start`/`stop` are byte offsets into the text
 * the model sees (prompt included), found by matching each piece's bytes at the running position
 * (a few bytes of skipped whitespace allowed), or null where a piece does not appear verbatim
 * (special tokens, normalized text).
 */
export async function teiTokenize(body: Json, ctx: ServerContext): Promise<Reply> {
  const inputs = body.inputs;
  const strings = Array.isArray(inputs) && inputs.length > 0 && inputs.every((x) => typeof x === "string");
  const texts = typeof inputs === "string" ? [inputs] : strings ? (inputs as string[]) : undefined;
  if (!texts) throw badField("inputs", `"inputs" must be a string or a non-empty array of strings`);
  const addSpecial = optionalBool(body, "add_special_tokens", true);
  const opts = teiOptions({ prompt_name: body.prompt_name }, ctx);
  const tok = ctx.model.tokenizer;
  const out: unknown[] = [];
  for (const raw of texts) {
    const text = opts.task !== undefined ? applyPrompt(ctx.model.info.architecture, raw, opts.task) : raw;
    const ids = await ctx.tokenize.encode(text, { addSpecial, parseSpecial: true });
    const bytes = utf8.encode(text);
    let at = 0;
    out.push(
      Array.from(ids, (id) => {
        const special = isSpecial(tok, id);
        const piece = tok.tokenToPieceBytes(id, { special: true });
        let start: number | null = null;
        if (!special) {
          const p = piece[0] === 0x20 && bytes[at] !== 0x20 ? piece.subarray(1) : piece;
          for (let s = at; s <= Math.min(bytes.length - p.length, at + 4); s++) {
            if (p.every((b, k) => bytes[s + k] === b)) {
              start = s;
              break;
            }
          }
          if (start !== null) at = start + p.length;
        }
        return { id, text: tok.tokenToPiece(id, { special: true }), special, start, stop: start === null ? null : at };
      }),
    );
  }
  return { json: out };
}

/** A control or unknown token (BOS, EOS, <start_of_turn>, [CLS], ...): TEI's `special`. */
function isSpecial(tok: Tokenizer, id: number): boolean {
  return (tok.vocab.attrs[id] & (LlamaTokenAttr.CONTROL | LlamaTokenAttr.UNKNOWN)) !== 0;
}

/** `{ids, skip_special_tokens}` -> one text per sequence. */
export function teiDecode(body: Json, ctx: ServerContext): Reply {
  const ids = body.ids;
  if (!Array.isArray(ids) || ids.length === 0) throw badField("ids", `"ids" must be an array of token ids or an array of such arrays`);
  const seqs: unknown[][] = ids.every((x) => Array.isArray(x)) ? (ids as unknown[][]) : [ids];
  const skip = optionalBool(body, "skip_special_tokens", true);
  const n = ctx.model.tokenizer.nVocab;
  return {
    json: seqs.map((seq, i) => {
      const k = seq.findIndex((x) => typeof x !== "number" || !Number.isInteger(x) || x < 0 || x >= n);
      if (k >= 0) {
        const where = `ids${Array.isArray(ids[0]) ? `[${i}]` : ""}[${k}]`;
        throw toHttpError(
          new EmbedError("TOKEN_OUT_OF_RANGE", `${where} must be a token id from 0 to ${n - 1}, got ${show(seq[k])}`, { index: k }),
          "ids",
        );
      }
      return ctx.model.tokenizer.decode(seq as number[], { removeSpecial: skip, unparseSpecial: !skip });
    }),
  };
}

/** TEI's model info, with our ModelInfo where TEI has no field for it. */
export function teiInfo(_body: Json, ctx: ServerContext): Reply {
  const i = ctx.model.info;
  return {
    json: {
      model_id: ctx.modelId,
      model_sha: null,
      model_dtype: "float32",
      model_type: { embedding: { pooling: ctx.defaults.pooling ?? i.pooling } },
      max_concurrent_requests: ctx.limits.maxQueue,
      max_input_length: i.contextLength,
      max_batch_tokens: ctx.limits.maxBatchTokens,
      max_batch_requests: null,
      max_client_batch_size: ctx.maxInputs,
      auto_truncate: false,
      tokenization_workers: 1,
      version: packageVersion(),
      sha: null,
      docker_label: null,
      prompts: Object.fromEntries(Object.keys(PROMPT_NAMES).map((k) => [k, PROMPT_NAMES[k]])),
    },
  };
}
