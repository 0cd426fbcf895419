/**
 * Tokenization for the routes. Small requests are tokenized on the event loop, inside
 * `blocking()` (the header-timeout pause of http.ts). Requests with more than `offloadChars`
 * characters of text go to one worker thread (tokenize-worker.ts), started on first use, so a
 * 2 MiB body never holds the event loop: /health and other clients are served meanwhile
 * (test/server/tokenize-offload.test.ts). Both paths run the same code (embed/prepare.ts), and a
 * test shows they give the same ids.
 */
import { Worker } from "node:worker_threads";
import type { EmbedOptions } from "../embed/options.js";
import type { EmbedInput, PreparedInput } from "../embed/prepare.js";
import { EmbedError } from "../errors.js";
import type { GGUFMetadata } from "../gguf/keys.js";
import type { EncodeOptions } from "../tokenizer/index.js";
import type { EmbeddingModel } from "../embed/embedder.js";
import { GGUFValueType } from "../gguf/keys.js";
import type { Answer, Job, Slice, WorkerSetup } from "./tokenize-worker.js";

export interface TokenizeServiceOptions {
  /** Requests with more characters of text than this are tokenized in the worker. */
  offloadChars: number;
  /** Runs synchronous work on the event loop (http.ts pauses Node's header timeout meanwhile). */
  blocking: <T>(f: () => T) => T;
}

/** Default ServerOptions.tokenizeOffloadChars: ~10-60 ms of tokenizing on the event loop. */
export const DEFAULT_OFFLOAD_CHARS = 64 * 1024;

/** What tokenizing needs of the served model (context.ts ServedModel has it). */
export type TokenizingModel = Pick<EmbeddingModel, "info" | "tokenizer" | "prepare"> & { file?: { metadata: GGUFMetadata } };

export class TokenizeService {
  private worker: Promise<TokenizerThread> | undefined;
  private closed = false;

  constructor(
    private readonly model: TokenizingModel,
    private readonly o: TokenizeServiceOptions,
  ) {}

  /** model.prepare(inputs, opts), on the worker when the texts are large. */
  async prepare(inputs: EmbedInput[], opts: EmbedOptions): Promise<PreparedInput[]> {
    const chars = inputs.reduce((n, x) => n + (typeof x === "string" ? x.length : 0), opts.title?.length ?? 0);
    const thread = this.offload(chars);
    if (!thread) return this.o.blocking(() => this.model.prepare(inputs, opts));
    const tokens = await (await thread).run({
      kind: "prepare",
      inputs,
      opts: { task: opts.task, title: opts.title, truncate: opts.truncate },
    });
    return tokens.map((t, index) => ({ index, tokens: t }));
  }

  /** tokenizer.encode(text, opts), on the worker when the text is large. */
  async encode(text: string, opts: EncodeOptions): Promise<ArrayLike<number>> {
    const thread = this.offload(text.length);
    if (!thread) return this.o.blocking(() => this.model.tokenizer.encode(text, opts));
    return (await (await thread).run({ kind: "encode", text, opts }))[0];
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    await (await w?.catch(() => undefined))?.terminate();
  }

  /** The worker, started on first use, for `chars` characters of text; undefined: stay on the loop. */
  private offload(chars: number): Promise<TokenizerThread> | undefined {
    const meta = this.model.file?.metadata;
    if (chars <= this.o.offloadChars || !meta || this.closed) return undefined;
    if (!this.worker) {
      const i = this.model.info;
      const w = TokenizerThread.start(tokenizerMetadata(meta), {
        architecture: i.architecture,
        nCtx: i.contextLength,
        nEmbdOut: i.nEmbdOut,
      });
      this.worker = w;
      // A thread that died (out of memory, say) is replaced on the next request.
      void w.then(
        (t) => t.exited.then(() => this.worker === w && (this.worker = undefined)),
        () => this.worker === w && (this.worker = undefined),
      );
    }
    return this.worker;
  }
}

/** The metadata keys a Tokenizer reads (tokenizer.*, and general.* for per-model token attributes). */
function tokenizerMetadata(meta: GGUFMetadata): GGUFMetadata {
  return new Map([...meta].filter(([k]) => k.startsWith("tokenizer.") || k.startsWith("general.")));
}

const SLICE = 8192;

class TokenizerThread {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (t: Int32Array[]) => void; reject: (e: unknown) => void }>();
  readonly exited: Promise<void>;

  private constructor(private readonly w: Worker) {
    this.exited = new Promise((resolve) => w.once("exit", () => resolve()));
    w.on("message", (a: Answer) => {
      const p = this.pending.get(a.id);
      if (!p) return;
      this.pending.delete(a.id);
      if (a.ok) p.resolve(a.tokens);
      else
        p.reject(
          a.embedError
            ? new EmbedError(a.embedError.code, a.embedError.message, a.embedError.detail)
            : new Error(`tokenizer thread: ${a.message}`),
        );
    });
    const failAll = (e: unknown) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    w.on("error", failAll);
    w.once("exit", (code) => failAll(new Error(`the tokenizer thread exited (code ${code})`)));
  }

  /**
   * Start a thread for `meta`. Its string arrays are sent in slices of SLICE strings, one per turn
   * of the event loop: cloning Gemma's 262,144 token texts at once held the loop for 100-300 ms.
   */
  static async start(meta: GGUFMetadata, model: Pick<WorkerSetup, "architecture" | "nCtx" | "nEmbdOut">): Promise<TokenizerThread> {
    const small: GGUFMetadata = new Map();
    const arrays: [string, string[]][] = [];
    for (const [k, v] of meta) {
      if (v.type === GGUFValueType.ARRAY && v.itemType === GGUFValueType.STRING) arrays.push([k, v.value]);
      else small.set(k, v);
    }
    const setup: WorkerSetup = { ggufEmbedTokenizer: true, metadata: small, stringArrays: arrays.map(([k, a]) => [k, a.length]), ...model };
    // A hostile text must not take the process down with it: the thread's heap is capped.
    const w = new Worker(new URL("./tokenize-worker.js", import.meta.url), {
      workerData: setup,
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
    });
    w.unref();
    const ready = new Promise<TokenizerThread>((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the tokenizer thread exited (code ${code}) before it was ready`));
      w.once("error", reject).once("exit", onExit);
      w.once("message", () => {
        w.off("error", reject).off("exit", onExit);
        resolve(new TokenizerThread(w));
      });
    });
    ready.catch(() => {}); // observed below; a failure while slices are still being sent is not unhandled
    for (const [key, a] of arrays) {
      for (let start = 0; start < a.length; start += SLICE) {
        w.postMessage({ key, start, values: a.slice(start, start + SLICE) } satisfies Slice);
        await new Promise((r) => setImmediate(r));
      }
    }
    return ready;
  }

  run(job: Job extends infer J ? (J extends Job ? Omit<J, "id"> : never) : never): Promise<Int32Array[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.w.postMessage({ ...job, id } as Job);
    });
  }

  async terminate(): Promise<void> {
    await this.w.terminate();
  }
}
