/**
 * The bytes of a synthetic weight matrix: uniform random values (seeded by the model seed and the
 * tensor name, scripts/gen/rng.ts) encoded in `type`, row by row. Large matrices (the token
 * embeddings: 262144 x 768 for Gemma's vocabulary) cost most of a fixture's generation time and are
 * the same in every fixture of one seed, so their bytes are also kept in <fixtureDir>/tensors/ and
 * read back by the next fixture that needs them. The key names every input of the bytes; bump
 * MEMO_VERSION when the generator or a quantizer changes its output.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { quantizeRows } from "../../src/quant/index.js";
import { GGMLType, ggmlTypeName } from "../../src/tensor/ggml-type.js";
import { Rng, tensorSeed } from "./rng.js";
import { fixtureDir } from "./write.js";

const MEMO_VERSION = 1;
/** Matrices of at least this many elements are memoized on disk (the token embeddings). */
const MEMO_MIN_ELEMENTS = 1 << 24;

/** values (ne1, ne0) f32 -> the bytes of `type` (F32 as is, otherwise quantized row by row). */
export function encode(type: GGMLType, values: Float32Array, ne0: number): Uint8Array {
  if (type === GGMLType.F32) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return quantizeRows(type, values, ne0);
}

/** A thunk for the bytes of the random (ne1, ne0) matrix `name` of std `std` in `type`. */
export function randomMatrixData(seed: number, name: string, ne0: number, ne1: number, std: number, type: GGMLType): () => Uint8Array {
  const make = () => encode(type, new Rng(tensorSeed(seed, name)).fill(new Float32Array(ne0 * ne1), std), ne0);
  if (ne0 * ne1 < MEMO_MIN_ELEMENTS) return make;
  const key = `v${MEMO_VERSION}-${tensorSeed(seed, name).toString(16)}-${ggmlTypeName(type)}-${ne0}x${ne1}-std${std}.bin`;
  return () => {
    const dir = join(fixtureDir(), "tensors");
    const path = join(dir, key);
    try {
      return new Uint8Array(readFileSync(path));
    } catch {
      const bytes = make();
      mkdirSync(dir, { recursive: true });
      const tmp = `${path}.tmp-${process.pid}`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, path);
      return bytes;
    }
  };
}
