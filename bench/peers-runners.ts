/**
 * The systems `npm run bench:peers` compares, behind one interface: embed token-id lists, return
 * one vector per list. Ours (wasm backend), llama.cpp (node-llama-cpp, flash attention off) and
 * onnxruntime-web's wasm backend on the ONNX graphs of scripts/onnx/embeddinggemma.ts (built from
 * the same GGUF on first use, cached in .cache/onnx/).
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { loadModel } from "../src/node.js";
import { buildGemmaOnnx, type MacCount, type OnnxQuant } from "../scripts/onnx/embeddinggemma.js";

export interface Runner {
  name: string;
  embed(lists: number[][]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

export async function oursRunner(path: string, threads: number, numerics?: string): Promise<Runner & { simd: string }> {
  const model = await loadModel(path, { backend: "wasm", threads, ...(numerics ? { numerics } : {}) });
  const simd = model.info.simd ?? "none";
  return {
    name: `gguf-embed (wasm, ${simd}${numerics ? `, numerics ${numerics}` : ""})`,
    simd,
    embed: async (lists) => (await model.embed(lists)) as Float32Array[],
    close: () => model.close(),
  };
}

export async function llamaRunner(path: string, threads: number): Promise<Runner> {
  const mod = await import("node-llama-cpp");
  const llama = await mod.getLlama({ gpu: false, build: "never" });
  const model = await llama.loadModel({ modelPath: path, defaultContextFlashAttention: false });
  const ctx = await model.createEmbeddingContext({ contextSize: 2048, batchSize: 2048, threads });
  return {
    name: "llama.cpp (node-llama-cpp)",
    embed: async (lists) => {
      const out: Float32Array[] = [];
      for (const t of lists) out.push(Float32Array.from((await ctx.getEmbeddingFor(t as never)).vector));
      return out;
    },
    close: async () => {
      await ctx.dispose();
      await model.dispose();
    },
  };
}

/** The ONNX graph for `gguf` (built and cached on first use) and its MAC count. */
export async function onnxModel(gguf: string, quant: OnnxQuant): Promise<{ file: string; macs: MacCount }> {
  const dir = resolve(process.cwd(), ".cache", "onnx");
  const file = join(dir, `${basename(gguf, ".gguf")}-${quant}.onnx`);
  try {
    return { file, macs: JSON.parse(await readFile(file + ".json", "utf8")) as MacCount };
  } catch {
    await mkdir(dir, { recursive: true });
    const t0 = performance.now();
    const m = await buildGemmaOnnx(gguf, quant);
    await writeFile(`${file}.tmp-${process.pid}`, m.bytes);
    await rename(`${file}.tmp-${process.pid}`, file);
    await writeFile(file + ".json", JSON.stringify(m.macs));
    console.error(`built ${file} (${(m.bytes.length / 2 ** 20).toFixed(0)} MiB) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    return { file, macs: m.macs };
  }
}

/**
 * onnxruntime-web, wasm backend, `threads` intra-op threads. Texts go through in padded batches of
 * up to `batch` (one call per batch, as transformers.js does); masks and positions are built here.
 */
export async function ortRunner(file: string, quant: OnnxQuant, threads: number, nSwa: number, batch: number): Promise<Runner> {
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = threads;
  const session = await ort.InferenceSession.create(await readFile(file), { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  // onnxruntime-web falls back to 1 thread (with a console warning) where wasm threads are unavailable
  const effective = ort.env.wasm.numThreads;
  const half = Math.floor(nSwa / 2);
  const runBatch = async (lists: number[][]): Promise<Float32Array[]> => {
    const B = lists.length,
      T = Math.max(...lists.map((l) => l.length));
    const ids = new BigInt64Array(B * T),
      pos = new BigInt64Array(B * T); // (B, T)
    const biasG = new Float32Array(B * T * T).fill(-1e30),
      biasL = new Float32Array(B * T * T).fill(-1e30); // (B, 1, T, T)
    const pool = new Float32Array(B * T); // (B, 1, T)
    lists.forEach((l, b) => {
      for (let i = 0; i < l.length; i++) {
        ids[b * T + i] = BigInt(l[i]!);
        pos[b * T + i] = BigInt(i);
        pool[b * T + i] = 1 / l.length;
      }
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < l.length; j++) {
          // padded keys stay masked; padded queries see the text (their rows are not pooled)
          biasG[(b * T + i) * T + j] = 0;
          if (Math.abs(i - j) <= half) biasL[(b * T + i) * T + j] = 0;
        }
      }
    });
    const out = await session.run({
      input_ids: new ort.Tensor("int64", ids, [B, T]),
      position_ids: new ort.Tensor("int64", pos, [B, T]),
      bias_global: new ort.Tensor("float32", biasG, [B, 1, T, T]),
      bias_local: new ort.Tensor("float32", biasL, [B, 1, T, T]),
      pool: new ort.Tensor("float32", pool, [B, 1, T]),
    });
    const e = out.embedding!,
      d = e.dims[1]!,
      data = e.data as Float32Array;
    return Array.from({ length: B }, (_, b) => data.slice(b * d, (b + 1) * d));
  };
  return {
    name: `onnxruntime-web ${quant} (wasm${effective === threads ? "" : `, ${effective} thread(s)`})`,
    embed: async (lists) => {
      const out: Float32Array[] = [];
      for (let i = 0; i < lists.length; i += batch) out.push(...(await runBatch(lists.slice(i, i + batch))));
      return out;
    },
    close: () => session.release(),
  };
}
