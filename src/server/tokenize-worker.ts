/**
 * The server's tokenizer thread (Node worker_threads): tokenizes large request bodies so the
 * event loop stays free for /health and other clients (src/server/tokenize.ts starts it). It
 * builds its own Tokenizer from the model's tokenizer metadata and runs the same code as the main
 * thread (embed/prepare.ts prepareInputs, Tokenizer.encode), so the ids are the same.
 *
 * Protocol: workerData = WorkerSetup. The string arrays of the metadata (262,144 token texts for
 * Gemma) come next, in Slices, so cloning them never holds the main thread for long; once all have
 * arrived the worker builds its tokenizer and posts "ready". Then each message is a Job, answered
 * by one Answer with its id.
 */
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { EmbedError } from "../errors.js";
import type { EmbedOptions } from "../embed/options.js";
import { prepareInputs, type EmbedInput, type PrepareContext } from "../embed/prepare.js";
import { GGUFValueType, type GGUFMetadata } from "../gguf/keys.js";
import { createTokenizer, type EncodeOptions } from "../tokenizer/index.js";

export interface WorkerSetup {
  ggufEmbedTokenizer: true;
  /** The tokenizer.* and general.* metadata of the model, string arrays left out (see Slice). */
  metadata: GGUFMetadata;
  /** The string arrays to expect, and their lengths. */
  stringArrays: [key: string, length: number][];
  architecture: string;
  nCtx: number;
  nEmbdOut: number;
}

/** Strings [start, start + values.length) of the metadata's string array `key`. */
export interface Slice {
  key: string;
  start: number;
  values: string[];
}

export type Job =
  | { id: number; kind: "prepare"; inputs: EmbedInput[]; opts: Pick<EmbedOptions, "task" | "title" | "truncate"> }
  | { id: number; kind: "encode"; text: string; opts: EncodeOptions };

/** An EmbedError crosses as its parts; anything else as a message (a 500 on the other side). */
export type Answer =
  | { id: number; ok: true; tokens: Int32Array[] }
  | { id: number; ok: false; embedError?: { code: EmbedError["code"]; message: string; detail: Record<string, unknown> }; message: string };

const setup = workerData as WorkerSetup | null;
if (!isMainThread && setup?.ggufEmbedTokenizer && parentPort) {
  const port = parentPort;
  const arrays = new Map(setup.stringArrays.map(([key, n]) => [key, new Array<string>(n)]));
  let missing = setup.stringArrays.reduce((a, [, n]) => a + n, 0);
  let ctx: PrepareContext | undefined;
  const build = () => {
    for (const [key, value] of arrays) setup.metadata.set(key, { type: GGUFValueType.ARRAY, itemType: GGUFValueType.STRING, value });
    ctx = { tokenizer: createTokenizer(setup.metadata), architecture: setup.architecture, nCtx: setup.nCtx, nEmbdOut: setup.nEmbdOut };
    port.postMessage("ready");
  };
  port.on("message", (m: Job | Slice) => {
    if (!ctx) {
      const { key, start, values } = m as Slice;
      const a = arrays.get(key)!;
      for (let i = 0; i < values.length; i++) a[start + i] = values[i];
      if ((missing -= values.length) === 0) build();
      return;
    }
    const job = m as Job;
    const { tokenizer } = ctx;
    let answer: Answer;
    try {
      const tokens =
        job.kind === "prepare"
          ? prepareInputs(ctx, job.inputs, job.opts).map((p) => p.tokens)
          : [Int32Array.from(tokenizer.encode(job.text, job.opts))];
      answer = { id: job.id, ok: true, tokens };
    } catch (e) {
      const embedError = e instanceof EmbedError ? { code: e.code, message: e.message, detail: e.detail } : undefined;
      answer = { id: job.id, ok: false, embedError, message: e instanceof Error ? e.message : String(e) };
    }
    try {
      port.postMessage(answer, answer.ok ? answer.tokens.map((t) => t.buffer as ArrayBuffer) : []);
    } catch (e) {
      // a detail that cannot be cloned: send the message alone
      port.postMessage({ id: job.id, ok: false, message: answer.ok ? String(e) : answer.message } satisfies Answer);
    }
  });
  if (missing === 0) build();
}
