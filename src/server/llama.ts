/**
 * llama-server's own routes: POST /embedding and /embeddings (non-OAI format), POST /tokenize,
 * POST /detokenize, GET /health, GET /v1/models (and /models).
 * ref: spec llama-server-embeddings.md §2.2-2.5; llama.cpp tools/server/server.cpp
 * (handle_embeddings_impl, handle_tokenize, handle_detokenize, handle_models).
 */
import { embedAll, type Reply, type ServerContext } from "./context.js";
import { badField, toHttpError } from "./errors.js";
import { optionalBool, parseEmbedOptions, parseEncodingFormat, parseInputs, show, type Json } from "./request.js";

/**
 * `[{index, embedding: [[...]]}]`: always 2-D, one row for a pooled vector, one row per token
 * (BOS/EOS included) with pooling "none". Like llama-server, per-token rows are returned raw:
 * `embd_normalize` applies to pooled vectors only.
 */
export async function llamaEmbeddings(body: Json, ctx: ServerContext): Promise<Reply> {
  const field = body.input !== undefined ? "input" : "content";
  if (body[field] === undefined) throw badField("input", `"input" or "content" must be provided`);
  const inputs = parseInputs(body[field], field);
  parseEncodingFormat(body); // checked as llama-server does; this format has no base64 form
  const opts = parseEmbedOptions(body, ctx.defaults, ctx.model.info.nEmbdOut);
  const perToken = (opts.pooling ?? ctx.model.info.pooling) === "none";
  if (perToken) opts.normalize = "none";

  const { vectors, prepared } = await embedAll(ctx, inputs, opts, field);
  return {
    json: vectors.map((v, index) => ({ index, embedding: perToken ? rows(v, prepared[index].tokens.length) : [Array.from(v)] })),
  };
}

/** Split a row-major (nRows x width) matrix into arrays. */
function rows(v: Float32Array, nRows: number): number[][] {
  const width = v.length / nRows;
  return Array.from({ length: nRows }, (_, r) => Array.from(v.subarray(r * width, (r + 1) * width)));
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * `{content, add_special = false, parse_special = true, with_pieces = false}` -> `{tokens: [ids]}`,
 * or with_pieces `{tokens: [{id, piece}]}` where a piece that is not valid UTF-8 on its own (a
 * byte-fallback token) is given as its byte values, as llama-server does.
 */
export function tokenize(body: Json, ctx: ServerContext): Reply {
  if (typeof body.content !== "string") throw badField("content", `"content" must be a string`);
  const addSpecial = optionalBool(body, "add_special", false);
  const parseSpecial = optionalBool(body, "parse_special", true);
  const withPieces = optionalBool(body, "with_pieces", false);
  const tok = ctx.model.tokenizer;
  const ids = tok.encode(body.content, { addSpecial, parseSpecial });
  if (!withPieces) return { json: { tokens: ids } };
  return {
    json: {
      tokens: ids.map((id) => {
        const bytes = tok.tokenToPieceBytes(id, { special: true });
        let piece: string | number[];
        try {
          piece = utf8Strict.decode(bytes);
        } catch {
          piece = Array.from(bytes);
        }
        return { id, piece };
      }),
    },
  };
}

/** `{tokens: [ids]}` -> `{content}`: the pieces concatenated, special tokens rendered (common_token_to_piece). */
export function detokenize(body: Json, ctx: ServerContext): Reply {
  const ids = body.tokens;
  if (!Array.isArray(ids)) throw badField("tokens", `"tokens" must be an array of token ids`);
  const j = ids.findIndex((x) => typeof x !== "number" || !Number.isInteger(x));
  if (j >= 0) throw badField(`tokens[${j}]`, `tokens[${j}] must be an integer token id, got ${show(ids[j])}`);
  try {
    return { json: { content: ctx.model.tokenizer.decode(ids as number[], { unparseSpecial: true }) } };
  } catch (e) {
    throw toHttpError(e, "tokens");
  }
}

export function health(): Reply {
  return { json: { status: "ok" } };
}

/** OpenAI's model list, with llama-server's `meta` block (our ModelInfo fields, snake_case). */
export function models(_body: Json, ctx: ServerContext): Reply {
  const i = ctx.model.info;
  return {
    json: {
      object: "list",
      data: [
        {
          id: ctx.modelId,
          object: "model",
          created: ctx.created,
          owned_by: "gguf-embed",
          meta: {
            architecture: i.architecture,
            name: i.name ?? null,
            n_vocab: i.nVocab,
            n_ctx_train: i.contextLength,
            n_embd: i.nEmbd,
            n_embd_out: i.nEmbdOut,
            n_layer: i.nLayer,
            pooling: i.pooling,
            dense: i.dense,
            backend: i.backend,
          },
        },
      ],
    },
  };
}
