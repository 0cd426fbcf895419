/**
 * Turns a parsed GGUF into a model in three steps:
 *  1. planModel: every refusal that depends on metadata alone (architecture, hyperparameters,
 *     missing, unused or misshapen tensors, unsupported types, sizes the backend cannot hold)
 *     happens here, before a byte of tensor data is read. It runs the architecture's binding
 *     against tensor infos only, and returns the tensors that binding uses.
 *  2. readTensors: reads those tensors' bytes once, straight into backend storage. Tensors the
 *     model does not use are never read.
 *  3. buildModel: binds the bytes through a TensorProvider that checks names and shapes again
 *     and refuses non-finite norm weights.
 * llama.cpp's loader also checks names, shapes and types before loading data
 * (llama.cpp src/llama-model-loader.cpp llama_model_loader::create_tensor, load_all_data).
 */
import { EmbedError } from "../errors.js";
import type { GGUFModelFile } from "../gguf/split.js";
import type { TensorInfo } from "../gguf/reader.js";
import { readExactly } from "../gguf/source.js";
import type { Backend, Weight } from "../kernels/backend.js";
import { GGMLType, ggmlTypeName } from "../tensor/ggml-type.js";
import { quantTraits } from "../quant/index.js";
import type { CommonHParams, Dim, EmbeddingGraph, TensorProvider } from "./arch.js";
import { architectureFor } from "./registry.js";

export type LoadedTensors = Map<string, { info: TensorInfo; data: Uint8Array }>;

/**
 * The largest tensor a backend buffer can hold: a V8 typed array has at most 2^32 elements (Node
 * 20), and a wasm32 memory holds 4 GiB in all (every tensor of the model together).
 */
export const MAX_BUFFER_BYTES = 2 ** 32;

function tooLarge(message: string, detail: Record<string, unknown>): EmbedError {
  return new EmbedError("MODEL_TOO_LARGE", message, detail);
}

/**
 * Step 1: check everything the metadata and tensor table decide, and return the tensors the model
 * uses, in file order. `backend` ("js" or "wasm") adds the wasm backend's 4 GiB total.
 */
export function planModel(file: GGUFModelFile, nVocab: number, backend?: "js" | "wasm"): { hp: CommonHParams; tensors: TensorInfo[] } {
  const arch = architectureFor(file.metadata);
  const hp = arch.loadHParams(file.metadata);
  const used = new Set<string>();
  arch.bindWeights(hp, provider(infoMap(file, new Map()), undefined, used), nVocab);
  const tensors = file.tensors.filter((t) => used.has(t.name));
  let total = 0;
  for (const t of tensors) {
    if (t.nBytes > MAX_BUFFER_BYTES) {
      throw tooLarge(`tensor "${t.name}" (${ggmlTypeName(t.type)}, ${gib(t.nBytes)}) is larger than the 4 GiB one buffer can hold`, {
        tensor: t.name,
        nBytes: t.nBytes,
        max: MAX_BUFFER_BYTES,
      });
    }
    total += t.nBytes + 64; // the wasm backend aligns each tensor to 64 bytes
  }
  // The activations of one llama.cpp-default batch (n_ubatch 512) must fit beside the weights.
  const reserve = backend === "wasm" && arch.activationFloatsPerToken ? 4 * RESERVE_TOKENS * arch.activationFloatsPerToken(hp) : 0;
  if (backend === "wasm" && total + reserve > MAX_BUFFER_BYTES) {
    const act = reserve ? ` and the activations of a ${RESERVE_TOKENS}-token batch ${gib(reserve)}` : "";
    throw tooLarge(`the model's tensors take ${gib(total)}${act}, more than the 4 GiB of WebAssembly memory; use backend "js"`, {
      nBytes: total,
      activationBytes: reserve,
      max: MAX_BUFFER_BYTES,
    });
  }
  return { hp, tensors };
}

/** Tokens whose activations the wasm memory check reserves beside the weights. */
const RESERVE_TOKENS = 512;

const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;

/**
 * Step 2: read `tensors`' bytes into storage from `alloc` (WebAssembly memory for the wasm
 * backend). An allocation the runtime refuses is MODEL_TOO_LARGE naming the tensor.
 */
export async function readTensors(
  tensors: readonly TensorInfo[],
  alloc: (nBytes: number) => Uint8Array,
  onProgress?: (loaded: number, total: number) => void,
): Promise<LoadedTensors> {
  const out: LoadedTensors = new Map();
  const total = tensors.reduce((a, t) => a + t.nBytes, 0);
  let loaded = 0;
  onProgress?.(0, total); // a 0% event before the first byte
  for (const t of tensors) {
    let data: Uint8Array;
    try {
      data = alloc(t.nBytes);
    } catch (e) {
      if (e instanceof EmbedError) throw e;
      throw new EmbedError(
        "MODEL_TOO_LARGE",
        `tensor "${t.name}" (${gib(t.nBytes)}) could not be allocated: ${(e as Error).message}`,
        { tensor: t.name, nBytes: t.nBytes },
        { cause: e },
      );
    }
    // In pieces of READ_CHUNK, progress reported after each: token_embd alone is ~65% of EmbeddingGemma's
    // bytes, so a per-tensor report sat at 0% for half the load. Node files read straight into storage;
    // others through a piece-sized temporary (never a full-size copy of a 200+ MB tensor).
    for (let off = 0; off < t.nBytes; off += READ_CHUNK) {
      const n = Math.min(READ_CHUNK, t.nBytes - off);
      if (t.source.readInto) await t.source.readInto(t.byteOffset + off, data.subarray(off, off + n));
      else data.set(await readExactly(t.source, t.byteOffset + off, n), off);
      loaded += n;
      onProgress?.(loaded, total);
    }
    out.set(t.name, { info: t, data });
  }
  return out;
}

/** Every tensor of the file, read (tests and tools that want them all; loading reads only what the model uses). */
export function readAllTensors(
  file: GGUFModelFile,
  alloc: (nBytes: number) => Uint8Array,
  onProgress?: (loaded: number, total: number) => void,
): Promise<LoadedTensors> {
  return readTensors(file.tensors, alloc, onProgress);
}

/** Bytes per read (and per progress event): 16 MiB at most. */
const READ_CHUNK = 16 << 20;

/** Tensor infos by name: the file's, overridden by those of `tensors` (tests edit them there). */
function infoMap(file: GGUFModelFile, tensors: LoadedTensors): Map<string, TensorInfo> {
  const m = new Map<string, TensorInfo>(file.tensors.map((t) => [t.name, t]));
  for (const [name, t] of tensors) m.set(name, t.info);
  return m;
}

/**
 * Names, shapes and types from `infos`; bytes from `data`. Without `data` (planning) it checks
 * everything it can from the infos, records the names bound in `used`, and hands out empty storage.
 */
function provider(infos: Map<string, TensorInfo>, data: LoadedTensors | undefined, used?: Set<string>): TensorProvider {
  const get = (name: string) => {
    const info = infos.get(name);
    if (!info) throw new EmbedError("TENSOR_MISSING", `required tensor "${name}" is missing from the model`, { tensor: name });
    used?.add(name);
    return info;
  };
  const bytes = (name: string): Uint8Array => {
    if (!data) return new Uint8Array(0);
    const t = data.get(name);
    if (!t) throw new EmbedError("TENSOR_MISSING", `tensor "${name}" was not read`, { tensor: name });
    return t.data;
  };
  // Names the tensor and, for each dim that disagrees, the metadata key(s) that set the expected size.
  const shapeError = (name: string, info: TensorInfo, want: Dim[]) => {
    const why = want.flatMap((d, i) => (info.ne[i] !== d.n ? [`${d.from} requires ne[${i}] = ${d.n}`] : []));
    if (info.ne.slice(want.length).some((d) => d !== 1)) why.push(`it must be ${want.length}-D`);
    return new EmbedError(
      "TENSOR_SHAPE",
      `tensor "${name}" has ne [${info.ne.slice(0, info.nDims).join(", ")}], but ${why.join(" and ")}`,
      { tensor: name, ne: info.ne.slice(0, info.nDims), expected: want.map((d) => d.n), from: want.map((d) => d.from) },
    );
  };
  return {
    has: (name) => infos.has(name),
    names: () => infos.keys(),
    ne: (name) => get(name).ne,
    matrix(name, ne0, ne1): Weight {
      const info = get(name);
      if (info.ne[0] !== ne0.n || info.ne[1] !== ne1.n || info.ne[2] !== 1 || info.ne[3] !== 1) throw shapeError(name, info, [ne0, ne1]);
      quantTraits(info.type, name); // throws UNSUPPORTED_TYPE naming the tensor
      return { name, type: info.type, ne0: ne0.n, ne1: ne1.n, data: bytes(name) };
    },
    vector(name, dim): Float32Array {
      const n = dim.n;
      const info = get(name);
      if (info.nElements !== n || info.ne[0] !== n) throw shapeError(name, info, [dim]);
      const traits = info.type === GGMLType.F32 ? undefined : quantTraits(info.type, name);
      if (!data) return new Float32Array(0);
      const out = new Float32Array(n);
      if (traits) traits.dequantizeRow(bytes(name), 0, out, 0, n);
      else new Uint8Array(out.buffer).set(bytes(name));
      checkFinite(name, out);
      return out;
    },
  };
}

/**
 * Norm weights (1-D, small) must be finite: a NaN or Inf there gave finite but wrong vectors, or
 * NaN ones. Matmul weights are not scanned (see RELIABILITY.md, "non-finite weights").
 */
function checkFinite(name: string, v: Float32Array): void {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) {
      throw new EmbedError("NON_FINITE_WEIGHT", `tensor "${name}" has ${String(v[i])} at element ${i}; norm weights must be finite`, {
        tensor: name,
        element: i,
      });
    }
  }
}

/** Step 3: bind the read tensors (every name the plan returned) into the architecture's model. */
export function buildModel(file: GGUFModelFile, tensors: LoadedTensors, backend: Backend, nVocab: number): EmbeddingGraph {
  const arch = architectureFor(file.metadata);
  const hp = arch.loadHParams(file.metadata);
  return arch.create(hp, arch.bindWeights(hp, provider(infoMap(file, tensors), tensors), nVocab), backend);
}
