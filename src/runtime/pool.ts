/**
 * WorkerPool: runs one kernel over a row range on nThreads threads sharing one
 * WebAssembly.Memory; the range is cut into pieces that the threads claim in turn (worker.ts
 * piece). The calling (main) thread is thread 0 and computes the pieces it claims inline;
 * workers (node-worker.ts in Node, inline Web Workers in browsers) wait on a shared control block
 * (worker.ts). Dispatch is one Atomics.store + notify; completion is a counter the caller spins
 * on (then Atomics.wait where the runtime allows blocking the main thread, i.e. Node).
 * nThreads = 1 never creates workers.
 */
import { isNode, nodePlatform } from "./platform.js";
import { CTL, SPIN, inlineWorkerSource, instantiateKernels, runShare, type SpawnedWorker, type WorkerInit } from "./worker.js";

export interface PoolOptions {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  names: string[];
  nThreads: number;
}

/**
 * A worker: node:worker_threads in Node (platform.ts), else a Web Worker whose script is inline (a Blob
 * URL of workerKit's source, worker.ts), so it starts the same under any bundler, or none.
 */
async function spawn(init: WorkerInit): Promise<SpawnedWorker> {
  const node = await nodePlatform();
  if (node) return node.spawnWorker(init);
  const url = URL.createObjectURL(new Blob([inlineWorkerSource()], { type: "text/javascript" }));
  const w = new Worker(url, { name: `gguf-embed-${init.index}` });
  const ready = new Promise<void>((resolve, reject) => {
    w.onmessage = () => resolve();
    const why = (e: ErrorEvent) => e.message ?? "no message (a Content-Security-Policy without worker-src blob:?)";
    w.onerror = (e) => reject(new Error(`worker ${init.index} failed to start: ${why(e)}`));
  });
  void ready.finally(() => URL.revokeObjectURL(url)).catch(() => {});
  w.postMessage(init);
  return { ready, terminate: async () => w.terminate() };
}

export class WorkerPool {
  readonly nThreads: number;
  private readonly ctl: Int32Array;
  private readonly fns: ReturnType<typeof instantiateKernels>;
  private workers: SpawnedWorker[] = [];
  private closed = false;

  private constructor(opts: PoolOptions, ctl: Int32Array) {
    this.nThreads = opts.nThreads;
    this.ctl = ctl;
    this.fns = instantiateKernels(opts);
  }

  static async create(opts: PoolOptions): Promise<WorkerPool> {
    const n = Math.max(1, Math.floor(opts.nThreads));
    const sab = typeof SharedArrayBuffer !== "undefined" && n > 1 ? new SharedArrayBuffer(4 * CTL.SIZE) : new ArrayBuffer(4 * CTL.SIZE);
    const pool = new WorkerPool({ ...opts, nThreads: sab instanceof ArrayBuffer ? 1 : n }, new Int32Array(sab));
    if (pool.nThreads > 1) {
      const ws: SpawnedWorker[] = [];
      try {
        for (let i = 1; i < pool.nThreads; i++) {
          ws.push(
            await spawn({
              memory: opts.memory,
              module: opts.module,
              ctl: sab as SharedArrayBuffer,
              index: i,
              nThreads: pool.nThreads,
              names: opts.names,
            }),
          );
        }
        await Promise.all(ws.map((w) => w.ready));
      } catch (e) {
        await Promise.all(ws.map((w) => w.terminate().catch(() => {})));
        throw e;
      }
      pool.workers = ws;
    }
    return pool;
  }

  /**
   * Run kernel `fn` (index into names) with `args`; args[r0Idx] .. args[r1Idx] is the range, cut
   * into pieces (multiples of `align`) that the threads claim in turn (worker.ts piece). Returns
   * when every thread is done.
   */
  run(fn: number, args: readonly number[], r0Idx: number, r1Idx: number, align: number): void {
    if (this.closed) throw new Error("WorkerPool is closed");
    const c = this.ctl;
    c[CTL.FN] = fn;
    c[CTL.R0] = r0Idx;
    c[CTL.R1] = r1Idx;
    c[CTL.ALIGN] = align;
    if (args.length > CTL.SIZE - CTL.ARGS)
      throw new Error(`pool.run: ${args.length} arguments, the control block holds ${CTL.SIZE - CTL.ARGS}`);
    c[CTL.NARGS] = args.length;
    for (let i = 0; i < args.length; i++) c[CTL.ARGS + i] = args[i]!;
    Atomics.store(c, CTL.NEXT, 0);
    const nWorkers = this.nThreads - 1;
    if (nWorkers > 0) {
      Atomics.store(c, CTL.DONE, 0);
      Atomics.store(c, CTL.ERR, 0);
      Atomics.add(c, CTL.SEQ, 1);
      Atomics.notify(c, CTL.SEQ);
    }
    runShare(this.fns, c, 0, this.nThreads);
    if (nWorkers > 0) {
      let d = Atomics.load(c, CTL.DONE);
      for (let i = 0; d !== nWorkers && i < SPIN; i++) d = Atomics.load(c, CTL.DONE);
      while (d !== nWorkers) {
        if (isNode) Atomics.wait(c, CTL.DONE, d, 50);
        d = Atomics.load(c, CTL.DONE);
      }
      if (Atomics.load(c, CTL.ERR) !== 0) throw new Error("a worker's kernel failed");
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.workers.length > 0) {
      this.ctl[CTL.FN] = -1;
      Atomics.add(this.ctl, CTL.SEQ, 1);
      Atomics.notify(this.ctl, CTL.SEQ);
      await Promise.all(this.workers.map((w) => w.terminate()));
      this.workers = [];
    }
  }
}
