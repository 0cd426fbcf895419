/**
 * HTTP errors and their two wire shapes. /v1/* answers in OpenAI's shape
 * `{error: {message, type, param, code}}` with a string `code`; the llama-server routes answer in
 * llama-server's `{error: {code: <http status>, message, type}}` (plus `param` when one is known).
 * `type` strings are llama-server's error_type names (llama.cpp tools/server/server-common.h
 * enum error_type, format_error_response). ref: OpenAI API error object; docs/server.md.
 */
import { EmbedError } from "../errors.js";

/**
 * "openai" and "llama" as above; "ollama": Ollama's `{error: "message"}`; "tei": TEI's
 * `{error: "message", error_type}` (error_type: validation, tokenizer, overloaded, backend,
 * unhealthy, as text-embeddings-inference router/src/http/types.rs ErrorType). Both add our `code`.
 */
export type ErrorFlavor = "openai" | "llama" | "ollama" | "tei";

export class HttpError extends Error {
  /** Set by a handler whose errors take a shape other than its path's (TEI's /tokenize). */
  flavor?: ErrorFlavor;
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** A request field with the wrong type or value; `param` names it ("dimensions", "input[2]"). */
export function badField(param: string, message: string): HttpError {
  return new HttpError(400, message, "BAD_INPUT", param);
}

const TYPE_BY_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  405: "invalid_request_error",
  408: "invalid_request_error",
  413: "invalid_request_error",
  415: "invalid_request_error",
  501: "not_supported_error",
  503: "unavailable_error",
};

/** Caller mistakes; every other EmbedError (NON_FINITE_OUTPUT, MODEL_CLOSED, ...) is our fault: 500. */
const CLIENT_CODES = new Set(["INPUT_TOO_LONG", "TOKEN_OUT_OF_RANGE", "BAD_INPUT", "BAD_OPTION"]);

/**
 * Any thrown value as an HttpError. EmbedErrors keep their code; `detail.option` becomes `param`,
 * and `detail.index` becomes `<inputField>[index]` so the client sees which input failed.
 */
export function toHttpError(e: unknown, inputField = "input"): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof EmbedError) {
    const status = CLIENT_CODES.has(e.code) ? 400 : 500;
    const d = e.detail;
    const param = typeof d.option === "string" ? d.option : typeof d.index === "number" ? `${inputField}[${d.index}]` : null;
    return new HttpError(status, e.message, e.code, param);
  }
  return new HttpError(500, `internal error: ${e instanceof Error ? e.message : String(e)}`, "INTERNAL");
}

export function errorBody(e: HttpError, flavor: ErrorFlavor): unknown {
  const type = TYPE_BY_STATUS[e.status] ?? (e.status >= 500 ? "server_error" : "invalid_request_error");
  if (flavor === "openai") return { error: { message: e.message, type, param: e.param, code: e.code } };
  if (flavor === "ollama") return { error: e.message, code: e.code };
  if (flavor === "tei") {
    const teiType = e.status === 503 ? (e.code === "QUEUE_FULL" ? "overloaded" : "unhealthy") : e.status >= 500 ? "backend" : "validation";
    return { error: e.message, error_type: teiType, code: e.code };
  }
  return { error: { code: e.status, message: e.message, type, ...(e.param !== null ? { param: e.param } : {}) } };
}
