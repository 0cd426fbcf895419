// The demo's model runs here, off the page's main thread. Messages:
//   { id, type: "load", source: File | string (absolute URL), backend: "js" | "wasm" }
//     -> { id, type: "progress", loaded, total }* then { id, type: "done", info, tasks, ms, memoryBytes }
//        (tasks: the task prompts this model's architecture takes, e.g. only query/document for qwen3;
//        memoryBytes: the wasm backend's WebAssembly memory, weights and scratch, or undefined for js)
//   { id, type: "embed", texts: string[], opts: EmbedOptions }
//     -> { id, type: "done", vectors: Float32Array[], nTokens, ms, memoryBytes }
//   failures -> { id, type: "error", message, code }
import { loadModel, TASKS } from "/dist/src/index.js";

/** @type {import("../dist/src/index.js").EmbeddingModel | undefined} */
let model;

/** Bytes of the wasm backend's WebAssembly memory (undefined on the js backend). */
const memoryBytes = (m) => m.model.backend.memory?.buffer.byteLength;

/** The tasks the library accepts for this model (it refuses the others when preparing the text). */
function tasksOf(m) {
  return TASKS.filter((task) => {
    try {
      m.prepare(["x"], { task });
      return true;
    } catch {
      return false;
    }
  });
}

self.onmessage = async (e) => {
  const { id, type } = e.data;
  try {
    if (type === "load") {
      const old = model;
      model = undefined;
      await old?.close();
      const t0 = performance.now();
      const onProgress = (loaded, total) => self.postMessage({ id, type: "progress", loaded, total });
      model = await loadModel(e.data.source, { backend: e.data.backend, onProgress });
      const ms = performance.now() - t0;
      self.postMessage({ id, type: "done", info: model.info, tasks: tasksOf(model), ms, memoryBytes: memoryBytes(model) });
    } else if (type === "embed") {
      if (!model) throw new Error("no model loaded");
      const t0 = performance.now();
      const prepared = model.prepare(e.data.texts, e.data.opts);
      const vectors = await model.embedPrepared(prepared, e.data.opts);
      const nTokens = prepared.reduce((n, p) => n + p.tokens.length, 0);
      self.postMessage({ id, type: "done", vectors, nTokens, ms: performance.now() - t0, memoryBytes: memoryBytes(model) });
    } else {
      throw new Error(`unknown message type ${type}`);
    }
  } catch (err) {
    self.postMessage({ id, type: "error", message: err?.message ?? String(err), code: err?.code });
  }
};
