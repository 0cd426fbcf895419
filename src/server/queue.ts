/**
 * Request queue with coalescing: the prepared inputs of all waiting requests are packed, in
 * arrival order, into one embedPrepared call of at most `maxBatchTokens` tokens (a single input
 * larger than that goes alone), and the vectors are split back to their requests. Requests whose
 * output options differ (pooling, normalization, dimensions) cannot share a call; they wait for a
 * later batch. A large request may be spread over several batches, and its tail may share a batch
 * with the next requests. The queue is bounded: `submit` throws QueueFullError when `maxQueue`
 * requests are already waiting (the one being computed does not count).
 *
 * Sharing a forward pass does not change a sequence's result: sequences are isolated by the
 * attention mask and pooled over their own tokens (as in llama.cpp: one sequence id per input,
 * llama.cpp src/llama-graph.cpp build_pooling pools each sequence's rows).
 */
import type { EmbedOptions, PreparedInput } from "../embed/embedder.js";
import { EmbedError } from "../errors.js";

export interface QueueModel {
  embedPrepared(prepared: readonly PreparedInput[], opts: EmbedOptions): Promise<Float32Array[]>;
}

export interface QueueOptions {
  maxBatchTokens: number;
  maxQueue: number;
  /** Called after each forward call with what it held. */
  onBatch?: (b: { requests: number; inputs: number; tokens: number }) => void;
}

/** Most event-loop turns spent gathering requests before a batch starts. */
const GATHER_TURNS = 16;

export class QueueFullError extends Error {
  constructor(readonly maxQueue: number) {
    super(`the server is busy: ${maxQueue} requests are already waiting; retry later`);
    this.name = "QueueFullError";
  }
}

interface Job {
  prepared: readonly PreparedInput[];
  opts: EmbedOptions;
  key: string;
  /** First input not yet handed to a batch. */
  next: number;
  results: Float32Array[];
  nDone: number;
  failed: boolean;
  resolve: (v: Float32Array[]) => void;
  reject: (e: unknown) => void;
}

/** The slice [from, to) of a job's inputs that rides in one batch. */
interface Part {
  job: Job;
  from: number;
  to: number;
}

export class EmbedQueue {
  private waiting: Job[] = [];
  private busy = false;
  private scheduled = false;
  /** Requests submitted so far (to see whether a turn of the event loop brought new ones). */
  private arrivals = 0;

  constructor(
    private readonly model: QueueModel,
    private readonly opts: QueueOptions,
  ) {}

  /** Requests waiting for (the rest of) their inputs to be computed. */
  get depth(): number {
    return this.waiting.length;
  }

  /** Vectors for `prepared`, indexed by each input's `index` (0..n-1, as prepare() numbers them). */
  submit(prepared: readonly PreparedInput[], opts: EmbedOptions): Promise<Float32Array[]> {
    if (prepared.length === 0) return Promise.resolve([]);
    if (this.waiting.length >= this.opts.maxQueue) return Promise.reject(new QueueFullError(this.opts.maxQueue));
    return new Promise((resolve, reject) => {
      const key = JSON.stringify([opts.pooling ?? null, opts.normalize ?? null, opts.dimensions ?? null]);
      this.arrivals++;
      this.waiting.push({ prepared, opts, key, next: 0, results: new Array(prepared.length), nDone: 0, failed: false, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Run the next batch on a later turn of the event loop. setImmediate runs after the poll phase, so
   * requests whose bytes arrived meanwhile are parsed and queued first and can join the batch; while
   * each turn brings new requests (connections are often accepted one turn and read the next), keep
   * gathering, for at most GATHER_TURNS turns. An idle server pays one or two turns (microseconds).
   */
  private schedule(): void {
    if (this.busy || this.scheduled || this.waiting.length === 0) return;
    this.scheduled = true;
    let seen = this.arrivals;
    let turns = 0;
    const tick = () => {
      if (this.arrivals !== seen && ++turns < GATHER_TURNS) {
        seen = this.arrivals;
        setImmediate(tick);
        return;
      }
      this.scheduled = false;
      void this.runBatch();
    };
    setImmediate(() => setImmediate(tick));
  }

  private async runBatch(): Promise<void> {
    if (this.waiting.length === 0) return;
    this.busy = true;
    const parts = this.take();
    try {
      await this.compute(parts);
    } catch (e) {
      // One forward call for several requests failed: run each request's share alone so only the
      // request that caused it (e.g. NON_FINITE_OUTPUT on its input) gets the error.
      if (parts.length === 1) this.fail(parts[0], e);
      else for (const p of parts) await this.compute([p]).catch((e2: unknown) => this.fail(p, e2));
    } finally {
      this.busy = false;
      this.schedule();
    }
  }

  /** Inputs of waiting requests, in arrival order, up to the token budget. */
  private take(): Part[] {
    const budget = this.opts.maxBatchTokens;
    const key = this.waiting[0].key;
    const parts: Part[] = [];
    let nTok = 0;
    outer: for (const job of this.waiting) {
      if (job.key !== key) continue;
      const from = job.next;
      while (job.next < job.prepared.length) {
        const n = job.prepared[job.next].tokens.length;
        if (nTok > 0 && nTok + n > budget) {
          if (job.next > from) parts.push({ job, from, to: job.next });
          break outer;
        }
        nTok += n;
        job.next++;
      }
      parts.push({ job, from, to: job.next });
    }
    this.waiting = this.waiting.filter((j) => j.next < j.prepared.length);
    return parts;
  }

  private async compute(parts: Part[]): Promise<void> {
    parts = parts.filter((p) => !p.job.failed);
    if (parts.length === 0) return;
    const batch: PreparedInput[] = [];
    for (const p of parts) for (let i = p.from; i < p.to; i++) batch.push({ index: batch.length, tokens: p.job.prepared[i].tokens });
    const vecs = await this.model.embedPrepared(batch, { ...parts[0].job.opts, maxBatchTokens: this.opts.maxBatchTokens });
    let k = 0;
    for (const p of parts) {
      for (let i = p.from; i < p.to; i++) p.job.results[p.job.prepared[i].index] = vecs[k++];
      p.job.nDone += p.to - p.from;
      if (p.job.nDone === p.job.prepared.length) p.job.resolve(p.job.results);
    }
    this.opts.onBatch?.({ requests: parts.length, inputs: batch.length, tokens: batch.reduce((s, b) => s + b.tokens.length, 0) });
  }

  /** Reject the part's request. An EmbedError about input i of the call is restated for the request's own numbering. */
  private fail({ job, from }: Part, e: unknown): void {
    if (job.failed) return;
    job.failed = true;
    this.waiting = this.waiting.filter((j) => j !== job);
    if (e instanceof EmbedError && typeof e.detail.index === "number" && job.prepared[from + e.detail.index]) {
      const index = job.prepared[from + e.detail.index].index;
      e = new EmbedError(e.code, e.message.replace(/^input \d+/, `input ${index}`), { ...e.detail, index }, { cause: e });
    }
    job.reject(e);
  }
}
