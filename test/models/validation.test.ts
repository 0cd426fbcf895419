/**
 * Models whose metadata lies: hyperparameters that contradict the tensor shapes, block counts that
 * disagree with the layers present, missing required keys, and non-finite weights. Each must be
 * rejected at load with an EmbedError that names the metadata key AND the tensor involved (or, for
 * non-finite matmul weights, fail the embed with NON_FINITE_OUTPUT instead of returning NaN vectors).
 *
 * Fixture: the generator's 6-layer width-256 EmbeddingGemma (Q8_0, real Gemma 3 vocab). It is parsed
 * and its tensors read once; most variants edit that parsed metadata / tensor table in memory and
 * run the binding step of the loader (buildModel), and a few are re-encoded to bytes and go through
 * the whole loadModel() path, to show the same errors reach a caller.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { EmbeddingModel } from "../../src/embed/embedder.js";
import { EmbedError, type EmbedErrorCode } from "../../src/errors.js";
import { kv, type GGUFValue } from "../../src/gguf/keys.js";
import type { TensorInfo } from "../../src/gguf/reader.js";
import { ArrayBufferSource } from "../../src/gguf/source.js";
import { readGGUFParts, type GGUFModelFile } from "../../src/gguf/split.js";
import { encodeGGUFToBuffer } from "../../src/gguf/writer.js";
import { createJsBackend } from "../../src/kernels/js-backend.js";
import { DEFAULT_NUMERICS } from "../../src/kernels/numerics.js";

const jsBackend = createJsBackend(DEFAULT_NUMERICS);
import { buildModel, readAllTensors } from "../../src/models/loader.js";
import { loadModel } from "../../src/node.js";
import { createTokenizer, type Tokenizer } from "../../src/tokenizer/index.js";
import { gemmaFixture, SMALL_GEMMA } from "../helpers/fixtures.js";

const A = "gemma-embedding";
let bytes: Uint8Array;
let file: GGUFModelFile;
let tensors: Map<string, { info: TensorInfo; data: Uint8Array }>;
let tokenizer: Tokenizer;

before(async () => {
  const path = await gemmaFixture({ ...SMALL_GEMMA, nLayer: 6, dense: false });
  bytes = new Uint8Array(await readFile(path));
  file = await readGGUFParts([new ArrayBufferSource(bytes, path)]);
  tensors = await readAllTensors(file, (n) => new Uint8Array(n));
  tokenizer = createTokenizer(file.metadata);
});

type Edits = {
  meta?: Record<string, GGUFValue | undefined>;
  ne?: Record<string, number[]>;
  data?: Record<string, (f: Float32Array) => void>;
  raw?: Record<string, (b: DataView) => void>;
};

/** The fixture with metadata set/deleted (undefined), tensor ne changed, or f32 tensor data patched. */
function variant(e: Edits): { file: GGUFModelFile; tensors: typeof tensors } {
  const metadata = new Map(file.metadata);
  for (const [k, v] of Object.entries(e.meta ?? {})) v === undefined ? metadata.delete(k) : metadata.set(k, v);
  const ts = new Map(tensors);
  for (const [name, ne] of Object.entries(e.ne ?? {})) {
    const t = ts.get(name)!;
    ts.set(name, {
      data: t.data,
      info: { ...t.info, ne: [...ne, 1, 1, 1].slice(0, 4), nDims: ne.length, nElements: ne.reduce((a, d) => a * d, 1) },
    });
  }
  for (const [name, patch] of Object.entries(e.data ?? {})) {
    const t = ts.get(name)!;
    const data = t.data.slice();
    patch(new Float32Array(data.buffer, 0, data.byteLength / 4));
    ts.set(name, { info: t.info, data });
  }
  for (const [name, patch] of Object.entries(e.raw ?? {})) {
    const t = ts.get(name)!;
    const data = t.data.slice();
    patch(new DataView(data.buffer));
    ts.set(name, { info: t.info, data });
  }
  return { file: { ...file, metadata }, tensors: ts };
}

const bind = (e: Edits) => {
  const v = variant(e);
  return buildModel(v.file, v.tensors, jsBackend, tokenizer.nVocab);
};

/** Asserts fn throws an EmbedError with `code` whose message contains every string in `names`. */
function throwsNaming(fn: () => unknown, code: EmbedErrorCode, names: string[]): EmbedError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof EmbedError, `expected EmbedError ${code}, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  for (const n of names) assert.ok(err.message.includes(n), `message should name ${n}: ${err.message}`);
  return err;
}

test("baseline: the unedited fixture binds and embeds finite vectors (so rejections below are the edits' doing)", async () => {
  const m = new EmbeddingModel(file, bind({}), tokenizer, { numerics: DEFAULT_NUMERICS, source: "option" }, async () => {});
  const [v] = await m.embed(["hello world"]);
  assert.equal(v.length, 256);
  assert.ok(v.every(Number.isFinite));
});

test("hyperparameters that contradict tensor shapes are rejected naming the key and the tensor", () => {
  const cases: [string, Edits, string[]][] = [
    [
      "embedding_length 768 vs [256] norms",
      { meta: { [`${A}.embedding_length`]: kv.u32(768) } },
      [`${A}.embedding_length = 768`, "blk.0.attn_norm.weight", "ne [256]"],
    ],
    [
      "head_count 4 vs attn_q rows",
      { meta: { [`${A}.attention.head_count`]: kv.u32(4), [`${A}.attention.head_count_kv`]: kv.u32(1) } },
      [`${A}.attention.head_count (4)`, "blk.0.attn_q.weight", "ne[1] = 1024"],
    ],
    [
      "key_length 128 vs attn_q rows",
      { meta: { [`${A}.attention.key_length`]: kv.u32(128), [`${A}.attention.value_length`]: kv.u32(128) } },
      [`${A}.attention.key_length (128)`, "blk.0.attn_q.weight"],
    ],
    [
      "attn_k with two KV heads vs head_count_kv 1",
      { ne: { "blk.4.attn_k.weight": [256, 512] } },
      [`${A}.attention.head_count_kv (1) × ${A}.attention.key_length (256)`, "blk.4.attn_k.weight", "ne[1] = 256"],
    ],
    [
      "feed_forward_length 1024 vs ffn_gate",
      { meta: { [`${A}.feed_forward_length`]: kv.u32(1024) } },
      [`${A}.feed_forward_length = 1024`, "blk.0.ffn_gate.weight", "ne [256, 512]"],
    ],
    [
      "ffn_up of layer 3 resized vs feed_forward_length",
      { ne: { "blk.3.ffn_up.weight": [256, 256] } },
      [`${A}.feed_forward_length = 512`, "blk.3.ffn_up.weight", "ne[1] = 512"],
    ],
    [
      "ffn_down transposed",
      { ne: { "blk.2.ffn_down.weight": [256, 512] } },
      [`${A}.feed_forward_length = 512`, `${A}.embedding_length = 256`, "blk.2.ffn_down.weight"],
    ],
    [
      "attn_k_norm longer than key_length",
      { ne: { "blk.5.attn_k_norm.weight": [512] } },
      [`${A}.attention.key_length = 256`, "blk.5.attn_k_norm.weight"],
    ],
    ["a 3-D attn_v", { ne: { "blk.1.attn_v.weight": [256, 256, 2] } }, ["blk.1.attn_v.weight", "must be 2-D"]],
  ];
  for (const [what, edits, names] of cases) {
    const e = throwsNaming(() => bind(edits), "TENSOR_SHAPE", names);
    assert.ok(typeof e.detail.tensor === "string" && Array.isArray(e.detail.from), `${what}: detail names the tensor and the keys`);
  }
  // token_embd rows come from the vocabulary, which is metadata too
  const v = variant({});
  throwsNaming(() => buildModel(v.file, v.tensors, jsBackend, tokenizer.nVocab - 1), "TENSOR_SHAPE", [
    "tokenizer.ggml.tokens",
    "token_embd.weight",
    "ne[1] = 262143",
  ]);
});

test("block_count that disagrees with the layers present names the key and a tensor", () => {
  throwsNaming(() => bind({ meta: { [`${A}.block_count`]: kv.u32(7) } }), "TENSOR_MISSING", [
    `${A}.block_count = 7`,
    "blk.6.attn_norm.weight",
  ]);
  const fewer = throwsNaming(() => bind({ meta: { [`${A}.block_count`]: kv.u32(5) } }), "BAD_HPARAMS", [`${A}.block_count = 5`, "blk.5."]);
  assert.equal(fewer.detail.key, `${A}.block_count`);
  throwsNaming(() => bind({ meta: { [`${A}.block_count`]: kv.u32(0xffffffd4) } }), "BAD_HPARAMS", [
    `${A}`,
    "block_count 4294967252",
    "512",
  ]);
});

test("missing required keys are named", () => {
  for (const key of [
    "embedding_length",
    "block_count",
    "feed_forward_length",
    "attention.head_count",
    "context_length",
    "attention.layer_norm_rms_epsilon",
    "attention.sliding_window",
  ]) {
    const e = throwsNaming(() => bind({ meta: { [`${A}.${key}`]: undefined } }), "GGUF_KEY_MISSING", [`"${A}.${key}"`]);
    assert.equal(e.detail.key, `${A}.${key}`);
  }
  throwsNaming(() => bind({ meta: { "general.architecture": undefined } }), "GGUF_KEY_MISSING", ['"general.architecture"']);
  const meta = (del: string) => variant({ meta: { [del]: undefined } }).file.metadata;
  throwsNaming(() => createTokenizer(meta("tokenizer.ggml.model")), "GGUF_KEY_MISSING", ['"tokenizer.ggml.model"']);
  throwsNaming(() => createTokenizer(meta("tokenizer.ggml.tokens")), "BAD_VOCAB", ['"tokenizer.ggml.tokens"']);
});

/** The fixture re-encoded with metadata edits and tensors replaced, as bytes for loadModel(). */
function reencode(
  meta: Record<string, GGUFValue | undefined>,
  replace: Record<string, { ne: number[]; data: Uint8Array }> = {},
): Uint8Array {
  const metadata = [...file.metadata]
    .filter(([k]) => !(k in meta) || meta[k] !== undefined)
    .map(([k, v]): [string, GGUFValue] => [k, meta[k] ?? v]);
  const ts = file.tensors.map((t) => ({
    name: t.name,
    type: t.type,
    ne: replace[t.name]?.ne ?? t.ne.slice(0, t.nDims),
    data: replace[t.name]?.data ?? bytes.subarray(t.byteOffset, t.byteOffset + t.nBytes),
  }));
  return encodeGGUFToBuffer({ metadata, tensors: ts });
}

async function loadRejects(b: Uint8Array, code: EmbedErrorCode, names: string[]): Promise<void> {
  await assert.rejects(loadModel(b), (e: unknown) => {
    assert.ok(e instanceof EmbedError && e.code === code, `expected ${code}, got ${String(e)}`);
    for (const n of names) assert.ok(e.message.includes(n), `message should name ${n}: ${e.message}`);
    return true;
  });
}

test("the same rejections reach a caller of loadModel() on the file's bytes", async () => {
  const up = file.tensors.find((t) => t.name === "blk.3.ffn_up.weight")!;
  const halfUp = bytes.subarray(up.byteOffset, up.byteOffset + up.nBytes / 2); // 256 of its 512 rows
  await loadRejects(reencode({}, { "blk.3.ffn_up.weight": { ne: [256, 256], data: halfUp } }), "TENSOR_SHAPE", [
    `${A}.feed_forward_length = 512`,
    "blk.3.ffn_up.weight",
  ]);
  await loadRejects(reencode({ [`${A}.attention.head_count`]: kv.u32(4) }), "TENSOR_SHAPE", [
    `${A}.attention.head_count (4)`,
    "blk.0.attn_q.weight",
  ]);
  await loadRejects(reencode({ [`${A}.embedding_length`]: undefined }), "GGUF_KEY_MISSING", [`"${A}.embedding_length"`]);
});

test("non-finite norm weights are refused at load with NON_FINITE_WEIGHT naming the tensor and element", async () => {
  const poisoned: [string, number][] = [
    ["output_norm.weight", NaN],
    ["output_norm.weight", Infinity],
    ["output_norm.weight", -Infinity],
    ["blk.5.post_ffw_norm.weight", Infinity],
    ["blk.0.attn_norm.weight", NaN],
    ["blk.2.ffn_norm.weight", Infinity],
    ["blk.3.attn_k_norm.weight", NaN],
  ];
  for (const [name, value] of poisoned) {
    const e = throwsNaming(() => bind({ data: { [name]: (f) => (f[17] = value) } }), "NON_FINITE_WEIGHT", [
      name,
      String(value),
      "element 17",
    ]);
    assert.equal(e.detail.tensor, name);
  }
  // and from bytes, through loadModel()
  const bad = bytes.slice();
  const t = file.tensors.find((x) => x.name === "output_norm.weight")!;
  new DataView(bad.buffer, t.byteOffset).setFloat32(4 * 3, Infinity, true);
  await assert.rejects(
    loadModel(bad),
    (e: unknown) =>
      e instanceof EmbedError && e.code === "NON_FINITE_WEIGHT" && /output_norm\.weight" has Infinity at element 3/.test(e.message),
  );
});

test("a non-finite matmul weight (an Inf scale in token_embd) gives NON_FINITE_OUTPUT naming the input, never NaN vectors", async () => {
  // Matmul weights are not scanned at load (llama.cpp computes with them; RELIABILITY.md). An Inf f16
  // scale in the first Q8_0 block of one token's row puts Inf into the residual stream of inputs
  // that use the token; the output check catches it whatever the pooling and normalization.
  const id = tokenizer.encode("hello world", { addSpecial: false })[0];
  const rowBytes = (256 / 32) * 34;
  const m = new EmbeddingModel(
    file,
    bind({ raw: { "token_embd.weight": (d) => d.setUint16(id * rowBytes, 0x7c00, true) } }),
    tokenizer,
    { numerics: DEFAULT_NUMERICS, source: "option" },
    async () => {},
  );
  for (const opts of [{}, { normalize: false }, { pooling: "none" as const }, { dimensions: 128 }]) {
    await assert.rejects(
      m.embed(["fine", "hello world"], opts),
      (e: unknown) => e instanceof EmbedError && e.code === "NON_FINITE_OUTPUT" && e.detail.index === 1 && /input 1/.test(e.message),
      JSON.stringify(opts),
    );
  }
});
