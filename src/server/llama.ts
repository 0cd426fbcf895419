/**
 * llama-server's own routes: POST /embedding and /embeddings (non-OAI format), POST /tokenize,
 * POST /detokenize, GET /health, GET /v1/models (and /models), GET /props. Shapes: docs/server.md.
 * ref: llama.cpp tools/server/server-context.cpp (server_routes::handle_embeddings_impl, and the
 * post_tokenize, post_detokenize and get_models handlers).
 * Large answers are JSON produced in pieces (replies.ts), written as the client reads (send.ts).
 */
import { EmbedError } from "../errors.js";
import { embedAll, type Reply, type ServerContext } from "./context.js";
import { badField, HttpError, toHttpError } from "./errors.js";
import { detokenized, floatsJson, idsJson, joined, tokensWithPieces } from "./replies.js";
import { optionalBool, parseEmbedOptions, parseEncodingFormat, parseInputs, show, type Json } from "./request.js";
import { packageVersion } from "./version.js";

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
  const item = (v: Float32Array, index: number) =>
    `{"index":${index},"embedding":[${perToken ? rows(v, prepared[index].tokens.length) : floatsJson(v)}]}`;
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

/** A row-major (nRows x width) matrix as JSON rows, joined by ",". */
function rows(v: Float32Array, nRows: number): string {
  const width = v.length / nRows;
  const out: string[] = [];
  for (let r = 0; r < nRows; r++) out.push(floatsJson(v.subarray(r * width, (r + 1) * width)));
  return out.join(",");
}

/**
 * `{content, add_special = false, parse_special = true, with_pieces = false}` -> `{tokens: [ids]}`,
 * or with_pieces `{tokens: [{id, piece}]}` where a piece that is not valid UTF-8 on its own (a
 * byte-fallback token) is given as its byte values, as llama-server does.
 */
export async function tokenize(body: Json, ctx: ServerContext): Promise<Reply> {
  if (typeof body.content !== "string") throw badField("content", `"content" must be a string`);
  const addSpecial = optionalBool(body, "add_special", false);
  const parseSpecial = optionalBool(body, "parse_special", true);
  const withPieces = optionalBool(body, "with_pieces", false);
  const ids = await ctx.tokenize.encode(body.content, { addSpecial, parseSpecial });
  if (!withPieces)
    return {
      body: (function* () {
        yield '{"tokens":';
        yield* idsJson(ids);
        yield "}";
      })(),
    };
  return { body: tokensWithPieces(ctx.model.tokenizer, ids) };
}

/** `{tokens: [ids]}` -> `{content}`: the pieces concatenated, special tokens rendered (common_token_to_piece). */
export function detokenize(body: Json, ctx: ServerContext): Reply {
  const ids = body.tokens;
  if (!Array.isArray(ids)) throw badField("tokens", `"tokens" must be an array of token ids`);
  const j = ids.findIndex((x) => typeof x !== "number" || !Number.isInteger(x));
  if (j >= 0) throw badField(`tokens[${j}]`, `tokens[${j}] must be an integer token id, got ${show(ids[j])}`);
  // Checked before the first byte is written (the answer is produced as it is sent).
  const n = ctx.model.tokenizer.nVocab;
  const k = (ids as number[]).findIndex((id) => id < 0 || id >= n);
  if (k >= 0)
    throw toHttpError(
      new EmbedError("TOKEN_OUT_OF_RANGE", `token id ${ids[k]} at index ${k} is out of range (vocab has ${n} tokens)`, {
        id: ids[k],
        index: k,
        nVocab: n,
      }),
      "tokens",
    );
  return { body: detokenized(ctx.model.tokenizer, ids as number[]) };
}

export function health(): Reply {
  return { json: { status: "ok" } };
}

/** OpenAI's model list, with llama-server's `meta` block (our ModelInfo fields, snake_case). */
export function models(_body: Json, ctx: ServerContext): Reply {
  return { json: { object: "list", data: [modelObject(ctx)] } };
}

/**
 * GET /v1/models/{id}: the model object when `id` is the served model's id, else 404
 * `model_not_found` (OpenAI's "Retrieve model").
 */
export function modelById(id: string, ctx: ServerContext): Reply {
  if (id !== ctx.modelId) {
    throw new HttpError(404, `The model '${id}' does not exist; this server serves '${ctx.modelId}'`, "model_not_found", "model");
  }
  return { json: modelObject(ctx) };
}

function modelObject(ctx: ServerContext) {
  const i = ctx.model.info;
  return {
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
  };
}

/**
 * GET /props in llama-server's shape (the fields an embedding server has): the context
 * (n_ctx), one slot, the alias and path, no modalities, BOS/EOS texts, build info.
 */
export function props(_body: Json, ctx: ServerContext): Reply {
  const i = ctx.model.info;
  const tok = ctx.model.tokenizer;
  const text = (id: number) => (id >= 0 && id < tok.nVocab ? tok.tokenToPiece(id, { special: true }) : "");
  return {
    json: {
      default_generation_settings: { n_ctx: i.contextLength, params: {} },
      total_slots: 1,
      model_alias: ctx.modelId,
      model_path: ctx.modelPath,
      modalities: { vision: false, audio: false },
      chat_template: "",
      bos_token: text(tok.bosId),
      eos_token: text(tok.eosId),
      build_info: `gguf-embed ${packageVersion()}`,
      embedding: true,
      pooling: ctx.defaults.pooling ?? i.pooling,
      n_embd: i.nEmbdOut,
    },
  };
}
