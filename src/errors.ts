/**
 * The one error type of gguf-embed. Every failure a caller can provoke (bad file, bad input,
 * unsupported feature) is an EmbedError with a stable SCREAMING_SNAKE `code`; the message names
 * the key, tensor, byte offset or input position involved. `detail` carries the same facts as data.
 */
export type EmbedErrorCode =
  // GGUF container
  | "GGUF_BAD_MAGIC"
  | "GGUF_BAD_VERSION"
  | "GGUF_BIG_ENDIAN"
  | "GGUF_TRUNCATED"
  | "GGUF_BAD_VALUE_TYPE"
  | "GGUF_BAD_KEY"
  | "GGUF_DUPLICATE_KEY"
  | "GGUF_DUPLICATE_TENSOR"
  | "GGUF_BAD_ALIGNMENT"
  | "GGUF_BAD_TENSOR"
  | "GGUF_BAD_OFFSET"
  | "GGUF_LIMIT"
  | "GGUF_BAD_SPLIT"
  | "GGUF_KEY_MISSING"
  | "GGUF_KEY_TYPE"
  // tensors / quantization
  | "UNSUPPORTED_TYPE"
  | "TENSOR_MISSING"
  | "TENSOR_SHAPE"
  | "NON_FINITE_WEIGHT"
  | "MODEL_TOO_LARGE"
  // model / tokenizer
  | "UNSUPPORTED_ARCH"
  | "UNSUPPORTED_TOKENIZER"
  | "BAD_HPARAMS"
  | "BAD_VOCAB"
  | "TOKEN_OUT_OF_RANGE"
  // embedding requests
  | "INPUT_TOO_LONG"
  | "BAD_INPUT"
  | "BAD_OPTION"
  | "NON_FINITE_OUTPUT"
  | "MODEL_CLOSED"
  | "ABORTED"
  // I/O and download
  | "IO_ERROR"
  | "DOWNLOAD_FAILED"
  | "DOWNLOAD_STALLED"
  | "CHECKSUM_MISMATCH"
  | "UNAUTHORIZED"
  | "NOT_FOUND"
  | "OFFLINE"
  // optional features (gguf-embed queue)
  | "MISSING_DEPENDENCY"
  | "REDIS_ERROR"
  | "MODEL_MISMATCH"
  | "QUEUE_MISMATCH"
  | "QUEUE_INCOMPLETE"
  | "LOCKED";

export class EmbedError extends Error {
  readonly code: EmbedErrorCode;
  readonly detail: Record<string, unknown>;
  constructor(code: EmbedErrorCode, message: string, detail: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EmbedError";
    this.code = code;
    this.detail = detail;
  }
}

export function isEmbedError(e: unknown, code?: EmbedErrorCode): e is EmbedError {
  return e instanceof EmbedError && (code === undefined || e.code === code);
}
