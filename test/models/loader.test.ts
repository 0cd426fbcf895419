/**
 * The loader's order and clean-up (issue 15, items 8, 9, 11):
 * - every refusal that metadata alone decides comes before a byte of tensor data is read, and an
 *   unused tensor is never read;
 * - a tensor over 4 GiB (or a model over the wasm backend's 4 GiB) is MODEL_TOO_LARGE, never a
 *   RangeError, and nothing is read first;
 * - a load that fails after its backend exists releases it (worker threads, wasm memory);
 * - non-finite or non-positive float hyperparameters are BAD_HPARAMS naming the key.
 * Files are VirtualGGUFs (test/helpers/virtual-gguf.ts): real headers, data that may be virtual.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadFromSources } from "../../src/embed/load.js";
import { EmbedError, type EmbedErrorCode } from "../../src/errors.js";
import { kv, type GGUFValue } from "../../src/gguf/keys.js";
import { readGGUF, type GGUFFile } from "../../src/gguf/reader.js";
import { ArrayBufferSource, type ByteSource } from "../../src/gguf/source.js";
import { GGMLType } from "../../src/tensor/ggml-type.js";
import { tinyGemma } from "../../scripts/fuzz/seeds.js";
import { VirtualGGUF, metadataOf, tensorsOf, type VirtualTensor } from "../helpers/virtual-gguf.js";

const A = "gemma-embedding";
let file: GGUFFile;
let tensors: VirtualTensor[];
let nVocab: number;

before(async () => {
  // 2 layers, width 64, dense, a ~330-token SPM vocabulary: small, so each load takes milliseconds.
  const bytes = tinyGemma({
    nLayer: 2,
    nEmbd: 64,
    nHead: 2,
    nHeadKv: 1,
    headDim: 32,
    nFf: 128,
    nPieces: 200,
    dense: true,
    weightType: GGMLType.Q8_0,
    embdType: GGMLType.Q8_0,
  });
  file = await readGGUF(new ArrayBufferSource(bytes, "tiny.gguf"));
  tensors = await tensorsOf(file);
  nVocab = (file.metadata.get("tokenizer.ggml.tokens")!.value as string[]).length;
});

async function refused(src: ByteSource, code: EmbedErrorCode, re: RegExp, backend: "js" | "wasm" = "js"): Promise<EmbedError> {
  try {
    const m = await loadFromSources([src], { backend, threads: 2 });
    await m.close();
  } catch (e) {
    assert.ok(e instanceof EmbedError, `expected EmbedError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return e;
  }
  assert.fail(`expected ${code}`);
}

const GiB = 2 ** 30;

test("metadata-only refusals come before any tensor data is read", async () => {
  const cases: [string, Record<string, GGUFValue | undefined>, (t: VirtualTensor[]) => VirtualTensor[], EmbedErrorCode, RegExp][] = [
    ["another architecture", { "general.architecture": kv.str("llama") }, (t) => t, "UNSUPPORTED_ARCH", /"llama" is not supported/],
    ["a missing tensor", {}, (t) => t.filter((x) => x.name !== "blk.1.ffn_up.weight"), "TENSOR_MISSING", /blk\.1\.ffn_up\.weight/],
    [
      "a shape mismatch",
      {},
      (t) => t.map((x) => (x.name === "blk.1.attn_q.weight" ? { ...x, ne: [64, 32], data: undefined } : x)),
      "TENSOR_SHAPE",
      /blk\.1\.attn_q\.weight/,
    ],
    [
      "an unused 1 GiB layer tensor",
      {},
      (t) => [...t, { name: "blk.2.attn_q.weight", type: GGMLType.F32, ne: [GiB / 4] }],
      "BAD_HPARAMS",
      /blk\.2\.attn_q\.weight/,
    ],
    ["rank pooling", { [`${A}.pooling_type`]: kv.u32(4) }, (t) => t, "BAD_HPARAMS", /pooling_type 4/],
    ["a NaN rope.freq_base", { [`${A}.rope.freq_base`]: kv.f32(NaN) }, (t) => t, "BAD_HPARAMS", /rope\.freq_base/],
  ];
  for (const [what, meta, edit, code, re] of cases) {
    const src = new VirtualGGUF(metadataOf(file, meta), edit(tensors));
    await refused(src, code, re);
    assert.deepEqual([...src.touched], [], `${what}: no tensor data may be read before the refusal`);
    assert.ok(src.bytesRead < 4 << 20, `${what}: ${src.bytesRead} bytes read`);
  }
});

test("a tensor the model does not use is never read (a 1 GiB one costs nothing)", async () => {
  const src = new VirtualGGUF(metadataOf(file), [...tensors, { name: "junk.weight", type: GGMLType.F32, ne: [GiB / 4] }]);
  const m = await loadFromSources([src], { backend: "js" });
  try {
    assert.equal(src.touched.has("junk.weight"), false);
    assert.ok(src.bytesRead < 8 << 20, `${src.bytesRead} bytes read for a ${file.tensors.reduce((a, t) => a + t.nBytes, 0)}-byte model`);
    const [v] = await m.embed(["still embeds"]);
    assert.ok(v.every(Number.isFinite));
  } finally {
    await m.close();
  }
});

/** A 1-layer model of width `e` (head dim 32, ffn 32) over the fixture's vocabulary, all data virtual. */
function wideModel(e: number, dense?: number): VirtualGGUF {
  const meta = metadataOf(file, {
    [`${A}.embedding_length`]: kv.u32(e),
    [`${A}.block_count`]: kv.u32(1),
    [`${A}.feed_forward_length`]: kv.u32(32),
    [`${A}.attention.key_length`]: kv.u32(32),
    [`${A}.attention.value_length`]: kv.u32(32),
    [`${A}.attention.head_count`]: kv.u32(1),
    [`${A}.attention.head_count_kv`]: kv.u32(1),
    [`${A}.dense_2_feat_in`]: dense ? kv.u32(e) : undefined,
    [`${A}.dense_2_feat_out`]: dense ? kv.u32(dense) : undefined,
    [`${A}.dense_3_feat_in`]: dense ? kv.u32(dense) : undefined,
    [`${A}.dense_3_feat_out`]: dense ? kv.u32(e) : undefined,
  });
  const F = GGMLType.F32,
    v = nVocab;
  const ts: VirtualTensor[] = [{ name: "token_embd.weight", type: F, ne: [e, v] }];
  for (const n of ["attn_norm", "post_attention_norm", "ffn_norm", "post_ffw_norm"])
    ts.push({ name: `blk.0.${n}.weight`, type: F, ne: [e] });
  for (const n of ["attn_q", "attn_k", "attn_v"]) ts.push({ name: `blk.0.${n}.weight`, type: F, ne: [e, 32] });
  ts.push({ name: "blk.0.attn_q_norm.weight", type: F, ne: [32] }, { name: "blk.0.attn_k_norm.weight", type: F, ne: [32] });
  ts.push({ name: "blk.0.attn_output.weight", type: F, ne: [32, e] }, { name: "blk.0.ffn_gate.weight", type: F, ne: [e, 32] });
  ts.push({ name: "blk.0.ffn_up.weight", type: F, ne: [e, 32] }, { name: "blk.0.ffn_down.weight", type: F, ne: [32, e] });
  ts.push({ name: "output_norm.weight", type: F, ne: [e] });
  if (dense) ts.push({ name: "dense_2.weight", type: F, ne: [e, dense] }, { name: "dense_3.weight", type: F, ne: [dense, e] });
  return new VirtualGGUF(meta, ts);
}

test("a tensor over 4 GiB is MODEL_TOO_LARGE naming it, not a RangeError, and nothing is read", async () => {
  // token_embd F32 [e, nVocab] just over 4 GiB; every other tensor agrees with embedding_length e.
  const e = Math.ceil(2 ** 32 / (4 * nVocab)) + 32;
  for (const backend of ["js", "wasm"] as const) {
    const src = wideModel(e);
    await refused(
      src,
      "MODEL_TOO_LARGE",
      /tensor "token_embd\.weight" \(F32, 4\.\d\d GiB\) is larger than the 4 GiB one buffer can hold/,
      backend,
    );
    assert.deepEqual([...src.touched], [], backend);
  }
});

test("wasm backend: a model over 4 GiB in all is refused before its threads start or a byte is read", async () => {
  const before = threads();
  const src = wideModel(Math.ceil(2 ** 31 / (4 * nVocab)), nVocab); // token_embd, dense_2 and dense_3: 2 GiB each
  await refused(src, "MODEL_TOO_LARGE", /\d\.\d\d GiB, more than the 4 GiB of WebAssembly memory; use backend "js"/, "wasm");
  assert.deepEqual([...src.touched], []);
  assert.ok(threads() <= before, `threads ${before} -> ${threads()}`);
});

/** Threads of this process (Linux). */
function threads(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync("/proc/self/status", "utf8"))![1]);
}

async function settles(limit: number, what: string): Promise<void> {
  for (const t0 = Date.now(); threads() > limit && Date.now() - t0 < 10_000; ) await new Promise((r) => setTimeout(r, 50));
  assert.ok(threads() <= limit, `${what}: ${threads()} threads, expected at most ${limit}`);
}

test("a failed load releases its backend: threads and wasm memory, on every error path", async () => {
  // Warm-up: one load and close, so threads the runtime keeps (V8's platform) are in the baseline.
  const ok = await loadFromSources([new VirtualGGUF(metadataOf(file), tensors)], { backend: "wasm", threads: 2 });
  await ok.close();
  await new Promise((r) => setTimeout(r, 200));
  const base = threads();
  const rss0 = process.memoryUsage().rss;
  const nanNorm = tensors.map((t) =>
    t.name === "blk.1.ffn_norm.weight" ? { ...t, data: new Uint8Array(new Float32Array(64).fill(NaN).buffer) } : t,
  );
  const failing = (t: VirtualTensor[], at: string): ByteSource => {
    const src = new VirtualGGUF(metadataOf(file), t);
    return {
      name: src.name,
      nBytes: src.nBytes,
      read: async (o, n) => {
        const b = await src.read(o, n);
        if (src.touched.has(at)) throw new Error("EIO: the disk went away");
        return b;
      },
    };
  };
  for (let i = 0; i < 4; i++) {
    // while reading
    await refused(failing(tensors, "output_norm.weight"), "IO_ERROR", /EIO/, "wasm");
    // a shape refusal (before the fix it came after the backend had been created and filled)
    await refused(
      new VirtualGGUF(
        metadataOf(file),
        tensors.map((x) => (x.name === "blk.0.ffn_up.weight" ? { ...x, ne: [64, 64], data: undefined } : x)),
      ),
      "TENSOR_SHAPE",
      /ffn_up/,
      "wasm",
    );
  }
  await settles(base + 1, "after 8 failed loads");
  // after the backend exists and the tensors were read into its memory
  for (let i = 0; i < 4; i++)
    await refused(new VirtualGGUF(metadataOf(file), nanNorm), "NON_FINITE_WEIGHT", /blk\.1\.ffn_norm\.weight/, "wasm");
  await settles(base + 1, "after 12 failed loads");
  if (typeof global.gc === "function") global.gc();
  const grew = (process.memoryUsage().rss - rss0) / 2 ** 20;
  console.log(`# threads ${base} -> ${threads()}; RSS +${grew.toFixed(0)} MiB after 12 failed wasm loads`);
});

test("float hyperparameters must be finite and > 0: BAD_HPARAMS naming the key, before anything is read", async () => {
  const cases: [string, number][] = [
    [`${A}.rope.freq_base`, NaN],
    [`${A}.rope.freq_base`, 0],
    [`${A}.rope.freq_base`, -Infinity],
    [`${A}.rope.freq_base`, Infinity],
    [`${A}.rope.freq_base_swa`, NaN],
    [`${A}.rope.freq_base_swa`, -1],
    [`${A}.attention.layer_norm_rms_epsilon`, 0],
    [`${A}.attention.layer_norm_rms_epsilon`, NaN],
  ];
  for (const [key, value] of cases) {
    const src = new VirtualGGUF(metadataOf(file, { [key]: kv.f32(value) }), tensors);
    const e = await refused(
      src,
      "BAD_HPARAMS",
      new RegExp(`"${key.replaceAll(".", "\\.")}" = ${String(value)}: it must be a finite number greater than 0`),
    );
    assert.equal(e.detail.key, key);
    assert.deepEqual([...src.touched], [], key);
  }
});
