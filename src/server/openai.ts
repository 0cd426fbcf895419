/**
 * POST /v1/embeddings in OpenAI's wire shape (as llama-server's OAI-compatible route serves it):
 *   request  {input, model?, encoding_format?: "float" | "base64", dimensions?, user?}
 *            + extensions task, title, truncate, embd_normalize (llama-server)
 *   response {object: "list", data: [{object: "embedding", index, embedding}], model,
 *             usage: {prompt_tokens, total_tokens}}
 * A body with `content` and no `input` is answered in the llama-server format, as llama-server does.
 * ref: llama.cpp tools/server/server-context.cpp server_routes::handle_embeddings_impl
 * (TASK_RESPONSE_TYPE_OAI_EMBD); OpenAI API reference "Create embeddings"; docs/server.md.
 */
import { embedAll, type Reply, type ServerContext } from "./context.js";
import { badField } from "./errors.js";
import { llamaEmbeddings } from "./llama.js";
import { floatsJson, joined } from "./replies.js";
import { parseEmbedOptions, parseEncodingFormat, parseInputs, type Json } from "./request.js";

export async function openaiEmbeddings(body: Json, ctx: ServerContext): Promise<Reply> {
  if (body.input === undefined && body.content !== undefined) return llamaEmbeddings(body, ctx);
  if (body.input === undefined) throw badField("input", `"input" or "content" must be provided`);
  const inputs = parseInputs(body.input, "input");
  const format = parseEncodingFormat(body);
  if (body.model !== undefined && typeof body.model !== "string") throw badField("model", `"model" must be a string`);
  const opts = parseEmbedOptions(body, ctx.defaults, ctx.model.info.nEmbdOut);
  if ((opts.pooling ?? ctx.model.info.pooling) === "none") {
    throw badField(
      "pooling",
      "Pooling type 'none' is not OAI compatible. Please use a different pooling type (or POST /embeddings for per-token vectors)",
    );
  }

  const { vectors, prepared } = await embedAll(ctx, inputs, opts, "input");
  const nTokens = prepared.reduce((s, p) => s + p.tokens.length, 0);
  // The bytes of JSON.stringify({object, data, model, usage}), one vector at a time.
  const item = (v: Float32Array, index: number) =>
    `{"object":"embedding","index":${index},"embedding":${format === "base64" ? JSON.stringify(f32ToBase64(v)) : floatsJson(v)}}`;
  const usage = JSON.stringify({ prompt_tokens: nTokens, total_tokens: nTokens });
  const tail = `],"model":${JSON.stringify(body.model ?? ctx.modelId)},"usage":${usage}}`;
  return {
    body: joined(
      '{"object":"list","data":[',
      (function* () {
        for (let i = 0; i < vectors.length; i++) yield item(vectors[i], i);
      })(),
      tail,
    ),
  };
}

/** The vector's float32 values as little-endian bytes, base64 (what OpenAI and llama-server send). */
export function f32ToBase64(v: Float32Array): string {
  const bytes = new DataView(new ArrayBuffer(v.length * 4));
  for (let i = 0; i < v.length; i++) bytes.setFloat32(i * 4, v[i], true);
  return Buffer.from(bytes.buffer).toString("base64");
}
