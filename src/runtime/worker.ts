/**
 * Worker side of the thread pool (browser-safe: no node:* imports). A worker instantiates the
 * kernel module on the shared WebAssembly.Memory, then loops: spin on the control block's
 * sequence number, fall back to Atomics.wait, claim and run pieces of the task until none is left, count itself done.
 * It never returns to its event loop while the pool is open, so tasks cost no postMessage.
 * Everything a worker runs is inside one self-contained function, workerKit(): its source text is the
 * script of the browser's inline (Blob URL) worker, so no bundler has to find or emit a worker file
 * (esbuild, Vite and webpack alike); the main thread and node-worker.ts (Node) call the same functions.
 * workerKit() may use only globals (Atomics, WebAssembly, performance), never module-level names.
 */

/** A started worker, as the pool sees it (Web Worker or node:worker_threads). */
export interface SpawnedWorker {
  ready: Promise<void>;
  terminate(): Promise<void>;
}

export interface WorkerInit {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  ctl: SharedArrayBuffer;
  /** this worker's thread index (1..nThreads-1; the main thread is 0) */
  index: number;
  nThreads: number;
  names: string[];
}

type Kernel = (...args: number[]) => unknown;

/**
 * The worker side, self-contained (see the header). `boot` starts a Web Worker on its first message.
 */
export function workerKit() {
  /** Control block layout (Int32Array over a SharedArrayBuffer). */
  const CTL = {
    SEQ: 0, // bumped by the main thread once per task
    DONE: 1, // workers finished with the current task
    FN: 2, // index into the kernel name list; -1 = exit
    ERR: 3, // set to 1 by a worker whose kernel threw
    R0: 4, // which argument holds the first row of the range to split
    R1: 5, // ... and the end of it
    ALIGN: 6, // split granularity (rows); ranges start at multiples of it
    NARGS: 7,
    NEXT: 8, // the next unclaimed piece of the range (claimed with Atomics.add by every thread)
    ARGS: 9, // up to 24 i32 arguments (pool.run refuses more)
    SIZE: 33,
  } as const;

  /** Spin iterations of the main thread waiting for the workers' done count (~20-40 µs). */
  const SPIN = 1 << 15;

  /**
   * How long an idle worker spins before Atomics.wait. A wake-up from wait costs ~26 µs (more on a
   * busy machine), and a forward pass leaves the workers idle between matmuls for the JS-side ops
   * (norms, RoPE, GEGLU: 0.05-0.5 ms each), so a worker that slept after ~30 µs paid that wake-up
   * on almost every matmul. After the last task of a call it burns at most this long.
   */
  const WORKER_SPIN_MS = 2;

  /**
   * Pieces per thread of a task's range. The threads claim pieces in turn (CTL.NEXT), so a thread
   * that a busy machine slows down takes fewer of them instead of making the others wait at the
   * end; with static halves a 2-thread matmul ran at 1.4-2.0x one thread's speed on a shared
   * 2-core VM. Which thread computes which rows never changes a value (every kernel's outputs in a
   * piece depend only on the piece's own rows), so this is free for exactness.
   */
  const PIECES_PER_THREAD = 8;

  /** Piece i [lo, hi) of the range [r0, r1) cut into about nThreads·PIECES_PER_THREAD pieces, multiples of align; lo >= r1 past the end. */
  function piece(r0: number, r1: number, align: number, nThreads: number, i: number): [number, number] {
    const size = Math.max(align, Math.ceil((r1 - r0) / (nThreads * PIECES_PER_THREAD) / align) * align);
    const lo = r0 + i * size;
    return [lo, Math.min(r1, lo + size)];
  }

  /** Run pieces of one task until none is left; shared by workers and the main thread (index 0). */
  function runShare(fns: Kernel[], ctl: Int32Array, index: number, nThreads: number): void {
    const nArgs = ctl[CTL.NARGS]!;
    const args: number[] = new Array(nArgs);
    for (let i = 0; i < nArgs; i++) args[i] = ctl[CTL.ARGS + i]!;
    const i0 = ctl[CTL.R0]!,
      i1 = ctl[CTL.R1]!;
    const r0 = args[i0]!,
      r1 = args[i1]!,
      align = ctl[CTL.ALIGN]!;
    const fn = fns[ctl[CTL.FN]!]!;
    for (;;) {
      const [lo, hi] = piece(r0, r1, align, nThreads, Atomics.add(ctl, CTL.NEXT, 1));
      if (lo >= r1) return;
      args[i0] = lo;
      args[i1] = hi;
      fn(...args, index); // the thread index last (kernels with per-thread scratch read it; wasm ignores extra arguments)
    }
  }

  function instantiateKernels(init: Pick<WorkerInit, "memory" | "module" | "names">): Kernel[] {
    const inst = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
    return init.names.map((n) => inst.exports[n] as Kernel);
  }

  /** The worker loop; returns when the pool posts FN = -1. `ready` is called once instantiated. */
  function runWorker(init: WorkerInit, ready: () => void): void {
    const fns = instantiateKernels(init);
    const ctl = new Int32Array(init.ctl);
    let seen = Atomics.load(ctl, CTL.SEQ);
    ready();
    const nWorkers = init.nThreads - 1;
    for (;;) {
      let s = Atomics.load(ctl, CTL.SEQ);
      const until = performance.now() + WORKER_SPIN_MS;
      while (s === seen) {
        for (let i = 0; s === seen && i < 4096; i++) s = Atomics.load(ctl, CTL.SEQ);
        if (performance.now() > until) break;
      }
      if (s === seen) {
        Atomics.wait(ctl, CTL.SEQ, seen);
        continue;
      }
      seen = s;
      if (ctl[CTL.FN]! < 0) return;
      try {
        runShare(fns, ctl, init.index, init.nThreads);
      } catch {
        Atomics.store(ctl, CTL.ERR, 1);
      }
      if (Atomics.add(ctl, CTL.DONE, 1) + 1 === nWorkers) Atomics.notify(ctl, CTL.DONE);
    }
  }

  /** Web Worker entry: the first message is the WorkerInit; "ready" goes back once instantiated. */
  function boot(scope: { onmessage: ((e: { data: WorkerInit }) => void) | null; postMessage(m: unknown): void }): void {
    scope.onmessage = (e) => runWorker(e.data, () => scope.postMessage("ready"));
  }

  return { CTL, SPIN, WORKER_SPIN_MS, PIECES_PER_THREAD, piece, runShare, instantiateKernels, runWorker, boot };
}

export const { CTL, SPIN, WORKER_SPIN_MS, PIECES_PER_THREAD, piece, runShare, instantiateKernels, runWorker } = workerKit();

/** The inline worker's script: workerKit's own source, booted on the worker's global scope. */
export function inlineWorkerSource(): string {
  return `"use strict";(${workerKit.toString()})().boot(self);`;
}
