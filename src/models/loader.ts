/**
 * Turns a parsed GGUF into a model: picks the architecture, reads every tensor's bytes once, and
 * hands the architecture file a TensorProvider that checks names and shapes.
 */
import { EmbedError } from "../errors.js";
import type { GGUFModelFile } from "../gguf/split.js";
import type { TensorInfo } from "../gguf/reader.js";
import { readExactly } from "../gguf/source.js";
import type { Backend, Weight } from "../kernels/backend.js";
import { GGMLType, ggmlTypeName } from "../tensor/ggml-type.js";
import { quantTraits } from "../quant/index.js";
import type { Dim, EmbeddingGraph, TensorProvider } from "./arch.js";
import { architectureFor } from "./registry.js";

/** Read every tensor's bytes into storage from `alloc` (WebAssembly memory for the wasm backend). */
export async function readAllTensors(file: GGUFModelFile, alloc: (nBytes: number) => Uint8Array, onProgress?: (loaded: number, total: number) => void): Promise<Map<string, { info: TensorInfo; data: Uint8Array }>> {
  const out = new Map<string, { info: TensorInfo; data: Uint8Array }>();
  const total = file.tensors.reduce((a, t) => a + t.nBytes, 0);
  let loaded = 0;
  for (const t of file.tensors) {
    const data = alloc(t.nBytes);
    if (t.source.readInto) {
      await t.source.readInto(t.byteOffset, data); // straight into its storage (Node files)
    } else {
      // in pieces, so a large tensor (token_embd: 200+ MB) never has a full-size temporary copy
      for (let off = 0; off < t.nBytes; off += READ_CHUNK) {
        const n = Math.min(READ_CHUNK, t.nBytes - off);
        data.set(await readExactly(t.source, t.byteOffset + off, n), off);
      }
    }
    out.set(t.name, { info: t, data });
    loaded += t.nBytes;
    onProgress?.(loaded, total);
  }
  return out;
}

const READ_CHUNK = 16 << 20;

function provider(tensors: Map<string, { info: TensorInfo; data: Uint8Array }>): TensorProvider {
  const get = (name: string) => {
    const t = tensors.get(name);
    if (!t) throw new EmbedError("TENSOR_MISSING", `required tensor "${name}" is missing from the model`, { tensor: name });
    return t;
  };
  // Names the tensor and, for each dim that disagrees, the metadata key(s) that set the expected size.
  const shapeError = (name: string, info: TensorInfo, want: Dim[]) => {
    const why = want.flatMap((d, i) => (info.ne[i] !== d.n ? [`${d.from} requires ne[${i}] = ${d.n}`] : []));
    if (info.ne.slice(want.length).some((d) => d !== 1)) why.push(`it must be ${want.length}-D`);
    return new EmbedError("TENSOR_SHAPE", `tensor "${name}" has ne [${info.ne.slice(0, info.nDims).join(", ")}], but ${why.join(" and ")}`, { tensor: name, ne: info.ne.slice(0, info.nDims), expected: want.map((d) => d.n), from: want.map((d) => d.from) });
  };
  return {
    has: (name) => tensors.has(name),
    names: () => tensors.keys(),
    ne: (name) => get(name).info.ne,
    matrix(name, ne0, ne1): Weight {
      const { info, data } = get(name);
      if (info.ne[0] !== ne0.n || info.ne[1] !== ne1.n || info.ne[2] !== 1 || info.ne[3] !== 1) throw shapeError(name, info, [ne0, ne1]);
      quantTraits(info.type, name); // throws UNSUPPORTED_TYPE naming the tensor
      return { name, type: info.type, ne0: ne0.n, ne1: ne1.n, data };
    },
    vector(name, dim): Float32Array {
      const n = dim.n;
      const { info, data } = get(name);
      if (info.nElements !== n || info.ne[0] !== n) throw shapeError(name, info, [dim]);
      const out = new Float32Array(n);
      if (info.type === GGMLType.F32) {
        new Uint8Array(out.buffer).set(data);
      } else {
        quantTraits(info.type, name).dequantizeRow(data, 0, out, 0, n);
      }
      return out;
    },
  };
}

export function buildModel(file: GGUFModelFile, tensors: Map<string, { info: TensorInfo; data: Uint8Array }>, backend: Backend, nVocab: number): EmbeddingGraph {
  const arch = architectureFor(file.metadata);
  const hp = arch.loadHParams(file.metadata);
  return arch.create(hp, arch.bindWeights(hp, provider(tensors), nVocab), backend);
}

export function tensorTypeSummary(file: GGUFModelFile): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of file.tensors) counts[ggmlTypeName(t.type)] = (counts[ggmlTypeName(t.type)] ?? 0) + 1;
  return counts;
}
