/**
 * Ollama's embedding API, for clients written against Ollama (the `ollama` npm and Python clients):
 *   POST /api/embed       {model, input: string | string[], truncate = true, dimensions?, keep_alive?, options?}
 *                         -> {model, embeddings: [[...]], total_duration, load_duration, prompt_eval_count}
 *   POST /api/embeddings  {model, prompt} -> {embedding: [...]}   (the older route)
 *   GET  /api/tags        {models: [{name, model, modified_at, size, digest, details}]}
 *   GET  /api/version     {version}
 * Errors are Ollama's `{error: "message"}` (http.ts, flavor "ollama"). `keep_alive` and `options`
 * are accepted and ignored (the model stays loaded). Any `model` name is accepted and echoed.
 * ref: ollama server/routes.go (EmbedHandler, EmbeddingsHandler, ListHandler) and api/types.go;
 * docs/server.md "Ollama routes".
 */
import { embedAll, type Reply, type ServerContext } from "./context.js";
import { badField } from "./errors.js";
import { floatsJson, joined } from "./replies.js";
import { parseEmbedOptions, type Json } from "./request.js";
import { packageVersion } from "./version.js";

function modelName(body: Json, ctx: ServerContext): string {
  if (body.model !== undefined && typeof body.model !== "string") throw badField("model", `"model" must be a string`);
  return (body.model as string | undefined) || ctx.modelId;
}

/**
 * /api/embed: every vector L2-normalized (and re-normalized after `dimensions`), as EmbedHandler
 * does; inputs longer than the context are cut unless `truncate` is false. An empty string or array
 * gives no embeddings, as in Ollama.
 */
export async function ollamaEmbed(body: Json, ctx: ServerContext): Promise<Reply> {
  const t0 = process.hrtime.bigint();
  const model = modelName(body, ctx);
  let inputs: string[];
  if (typeof body.input === "string") inputs = body.input === "" ? [] : [body.input];
  else if (Array.isArray(body.input)) {
    const bad = body.input.findIndex((x) => typeof x !== "string");
    if (bad >= 0) throw badField(`input[${bad}]`, `input[${bad}] must be a string`);
    inputs = body.input as string[];
  } else throw badField("input", body.input === undefined ? `"input" is required` : `"input" must be a string or an array of strings`);
  const opts = parseEmbedOptions({ ...body, pooling: undefined, embd_normalize: undefined }, ctx.defaults, ctx.model.info.nEmbdOut);
  opts.truncate ??= true;
  opts.normalize = "l2";
  if ((opts.pooling ?? ctx.model.info.pooling) === "none") {
    throw badField("pooling", "this model has pooling none; /api/embed needs one vector per input");
  }
  if (inputs.length === 0) return { json: { model, embeddings: [], total_duration: 0, load_duration: 0, prompt_eval_count: 0 } };
  const { vectors, prepared } = await embedAll(ctx, inputs, opts, "input");
  const nTokens = prepared.reduce((s, p) => s + p.tokens.length, 0);
  const tail = `],"total_duration":${process.hrtime.bigint() - t0},"load_duration":0,"prompt_eval_count":${nTokens}}`;
  return { body: joined(`{"model":${JSON.stringify(model)},"embeddings":[`, vectors.map(floatsJson), tail) };
}

/** /api/embeddings: one prompt, its vector as the model gives it (EmbeddingsHandler does not normalize). */
export async function ollamaEmbeddings(body: Json, ctx: ServerContext): Promise<Reply> {
  modelName(body, ctx);
  if (typeof body.prompt !== "string") {
    throw badField("prompt", body.prompt === undefined ? `"prompt" is required` : `"prompt" must be a string`);
  }
  if (body.prompt === "") return { json: { embedding: [] } };
  const opts = parseEmbedOptions({ ...body, pooling: undefined, embd_normalize: undefined }, ctx.defaults, ctx.model.info.nEmbdOut);
  opts.normalize = "none";
  opts.truncate ??= true;
  if ((opts.pooling ?? ctx.model.info.pooling) === "none") {
    throw badField("pooling", "this model has pooling none; /api/embeddings needs one vector");
  }
  const { vectors } = await embedAll(ctx, [body.prompt], opts, "prompt");
  return { body: [`{"embedding":${floatsJson(vectors[0])}}`] };
}

/** The weight type most tensors have besides F32 (Ollama's quantization_level, e.g. "Q8_0"). */
function quantization(types: Record<string, number>): string {
  const weights = Object.entries(types)
    .filter(([t]) => t !== "F32")
    .sort((a, b) => b[1] - a[1]);
  return (weights[0] ?? Object.entries(types)[0] ?? ["unknown"])[0];
}

/** /api/tags: the one model served. */
export function ollamaTags(_body: Json, ctx: ServerContext): Reply {
  const i = ctx.model.info;
  const label = ctx.model.file?.metadata.get("general.size_label");
  return {
    json: {
      models: [
        {
          name: ctx.modelId,
          model: ctx.modelId,
          modified_at: new Date(ctx.created * 1000).toISOString(),
          size: ctx.modelSize,
          digest: "",
          details: {
            parent_model: "",
            format: "gguf",
            family: i.architecture,
            families: [i.architecture],
            parameter_size: label?.type === 8 ? String(label.value) : "",
            quantization_level: quantization(i.tensorTypes),
          },
        },
      ],
    },
  };
}

export function ollamaVersion(): Reply {
  return { json: { version: packageVersion() } };
}
