/**
 * Node adapter of the thread pool: spawns worker_threads running this same file, and registers
 * itself (with the CPU count) as the Node platform (platform.ts) when imported: by the Node entry,
 * or by platform.ts's bundler-ignored dynamic import, so browser bundles never see node:*.
 * Workers are unref()'d: an unclosed pool never keeps the process alive.
 */
import { availableParallelism } from "node:os";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { registerNodePlatform } from "./platform.js";
import { runWorker, type SpawnedWorker, type WorkerInit } from "./worker.js";

export function spawnNodeWorker(init: WorkerInit): SpawnedWorker {
  const w = new Worker(new URL(import.meta.url), { workerData: { ggufEmbedWorker: true, init } });
  w.unref();
  const ready = new Promise<void>((resolve, reject) => {
    w.once("message", () => resolve());
    w.once("error", reject);
    w.once("exit", (code) => reject(new Error(`worker exited with code ${code} before it was ready`)));
  });
  return {
    ready,
    terminate: async () => {
      await w.terminate();
    },
  };
}

registerNodePlatform({ parallelism: availableParallelism, spawnWorker: spawnNodeWorker });

const data = workerData as { ggufEmbedWorker?: boolean; init: WorkerInit } | null;
if (!isMainThread && data?.ggufEmbedWorker && parentPort) {
  const port = parentPort;
  runWorker(data.init, () => port.postMessage("ready"));
  port.close();
}
