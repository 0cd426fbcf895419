/**
 * What only Node provides to the thread pool and the wasm backend (worker_threads, the CPU count),
 * injected rather than imported, so the browser entry's import graph has no node:* module at all.
 * node-worker.ts registers it when loaded: statically by the Node entry (src/node.ts), or here, by a
 * dynamic import that bundlers are told to leave alone (Node code that imports the browser entry).
 */
import type { SpawnedWorker, WorkerInit } from "./worker.js";

export interface NodePlatform {
  /** os.availableParallelism() */
  parallelism(): number;
  /** a worker_threads Worker running the pool's worker loop */
  spawnWorker(init: WorkerInit): SpawnedWorker;
}

let registered: NodePlatform | undefined;

export function registerNodePlatform(p: NodePlatform): void {
  registered = p;
}

export const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";

/** The Node platform (loading node-worker.js if no entry did), or undefined outside Node. */
export async function nodePlatform(): Promise<NodePlatform | undefined> {
  if (registered || !isNode) return registered;
  const self = "./node-worker.js"; // a variable, and ignore comments: no bundler follows this import
  await import(/* webpackIgnore: true */ /* @vite-ignore */ self);
  return registered;
}
