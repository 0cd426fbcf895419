/**
 * The oracle: llama.cpp through node-llama-cpp (prebuilt, CPU, no build, flash attention off).
 * A reference that is missing or fails to load throws: tests fail, they never skip.
 */
import { getLlama, type Llama, type LlamaModel } from "node-llama-cpp";

let llamaP: Promise<Llama> | undefined;

export function llama(): Promise<Llama> {
  llamaP ??= getLlama({ gpu: false, build: "never", logLevel: "error" as never });
  return llamaP;
}

const models = new Map<string, Promise<LlamaModel>>();

export async function llamaModel(path: string, vocabOnly = false): Promise<LlamaModel> {
  const key = `${path}|${vocabOnly}`;
  let m = models.get(key);
  if (!m) {
    m = (await llama()).loadModel({ modelPath: path, vocabOnly, defaultContextFlashAttention: false, useMmap: true });
    models.set(key, m);
  }
  return m;
}

export async function disposeModel(path: string): Promise<void> {
  for (const [key, m] of models) {
    if (key.startsWith(path + "|")) {
      models.delete(key);
      await (await m).dispose();
    }
  }
}

/**
 * llama.cpp's raw pooled embedding (not normalized) for each token list, each run as its own
 * sequence. Token lists must start with BOS and end with EOS, else node-llama-cpp adds them.
 */
export async function llamaEmbed(path: string, tokenLists: number[][], threads = 2): Promise<Float32Array[]> {
  const model = await llamaModel(path);
  const maxLen = Math.max(...tokenLists.map((t) => t.length));
  const size = Math.max(512, maxLen + 1);
  const ctx = await model.createEmbeddingContext({ contextSize: size, batchSize: size, threads });
  try {
    const out: Float32Array[] = [];
    for (const t of tokenLists) out.push(Float32Array.from((await ctx.getEmbeddingFor(t as never)).vector));
    return out;
  } finally {
    await ctx.dispose();
  }
}

export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const f = 1 / Math.sqrt(s);
  return v.map((x) => x * f);
}

/** 1 - cosine similarity, in f64. */
export function oneMinusCos(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return 1 - ab / Math.sqrt(aa * bb);
}
