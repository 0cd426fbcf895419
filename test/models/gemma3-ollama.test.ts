/**
 * Ollama's embeddinggemma layout (general.architecture "gemma3", gemma3.* keys, dense.0/dense.1 in
 * BF16) against the same weights in llama.cpp's layout, which llama.cpp itself checks; a fused
 * blk.N.attn_qkv.weight against llama.cpp; the refusals llama.cpp asserts; the missing-dense warning.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { loadModel } from "../../src/node.js";
import { EmbedError } from "../../src/errors.js";
import { kv, type GGUFMetadata } from "../../src/gguf/keys.js";
import { architectureFor } from "../../src/models/registry.js";
import { loadHParams } from "../../src/models/gemma-embedding.js";
import { gemmaEmbeddingGGUF, type GemmaGenOptions } from "../../scripts/gen/embeddinggemma.js";
import { gemmaFixture, NARROW_GEMMA } from "../helpers/fixtures.js";
import { assertParity, inputsOfLengths } from "../helpers/parity.js";
import { disposeModel } from "../helpers/llama.js";
import { llamaVariant } from "../helpers/variants.js";

// Layouts and weight splits, not widths, are under test here.
const NARROW: GemmaGenOptions = NARROW_GEMMA;
// A window of ±4 tokens (sliding_window 8), so 40 tokens tell windowed attention from full attention.
const BASE: GemmaGenOptions = { ...NARROW, dense: true, nSwa: 8, typeOverrides: { dense: "BF16" } };

function bitwiseEqual(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length),
    ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const i = ua.findIndex((x, j) => x !== ub[j]);
  assert.equal(i, -1, `${what}: first difference at ${i}: ${a[i]} vs ${b[i]}`);
}

async function embedIds(
  path: string,
  ids: number[][],
  numerics: string,
): Promise<{ vectors: Float32Array[]; arch: string; dense: boolean }> {
  const model = await loadModel(path, { numerics, threads: 2 });
  try {
    return { vectors: await model.embed(ids, { normalize: "none" }), arch: model.info.architecture, dense: model.info.dense };
  } finally {
    await model.close();
  }
}

const TITLE =
  "Ollama's gemma3 layout: the same weights give llama.cpp's layout's vectors bit for bit (inputs within the window), " +
  "full attention beyond it";
test(TITLE, async () => {
  const { numerics } = await llamaVariant();
  const ollama = await gemmaFixture({ ...BASE, layout: "ollama" });
  const llamaLayout = await gemmaFixture(BASE);
  const noWindow = await gemmaFixture({ ...BASE, nSwa: 4096 }); // every |Δp| fits: llama.cpp's local layers see everything
  const probe = await loadModel(llamaLayout, { numerics: numerics.name, threads: 2 });
  const [short2, short5, long40] = inputsOfLengths(probe, [2, 5, 40]);
  try {
    // the llama.cpp-layout files are anchored to llama.cpp itself
    await assertParity(llamaLayout, probe, [short5!, long40!], 1e-6);
  } finally {
    await probe.close();
    await disposeModel(llamaLayout);
  }
  const o = await embedIds(ollama, [short2!, short5!, long40!], numerics.name);
  assert.equal(o.arch, "gemma3");
  assert.equal(o.dense, true, "dense.0/dense.1 are bound as the projections");
  const l = await embedIds(llamaLayout, [short2!, short5!, long40!], numerics.name);
  bitwiseEqual(o.vectors[0]!, l.vectors[0]!, "2 tokens");
  bitwiseEqual(o.vectors[1]!, l.vectors[1]!, "5 tokens (all within ±4)");
  assert.notDeepEqual(
    Array.from(o.vectors[2]!),
    Array.from(l.vectors[2]!),
    "40 tokens: Ollama attends to the whole input, llama.cpp's local layers to ±4",
  );
  const n = await embedIds(noWindow, [long40!], numerics.name);
  bitwiseEqual(o.vectors[2]!, n.vectors[0]!, "40 tokens vs llama.cpp's layout without a window");
  const m = await loadModel(noWindow, { numerics: numerics.name, threads: 2 });
  try {
    await assertParity(noWindow, m, [long40!], 1e-6);
  } finally {
    await m.close();
    await disposeModel(noWindow);
  }
});

const metaOf = (o: GemmaGenOptions): GGUFMetadata => new Map(gemmaEmbeddingGGUF(o).metadata);

test("a gemma3 file without a pooling type (a chat model) is refused, naming the key", () => {
  const meta = metaOf({ nLayer: 6, layout: "ollama" });
  assert.equal(architectureFor(meta).name, "gemma3");
  assert.equal(architectureFor(meta).loadHParams(meta).poolingType, 1);
  meta.delete("gemma3.pooling_type");
  assert.throws(
    () => architectureFor(meta).loadHParams(meta),
    (e: unknown) =>
      e instanceof EmbedError && e.code === "UNSUPPORTED_ARCH" && /gemma3\.pooling_type/.test(e.message) && /chat/.test(e.message),
  );
});

test("Ollama's keys: rope.local.freq_base for local layers, rope.freq_base (default 1e6) for every 6th layer", () => {
  const meta = metaOf({ nLayer: 12, layout: "ollama" });
  meta.set("gemma3.rope.local.freq_base", kv.f32(20000));
  const hp = architectureFor(meta).loadHParams(meta) as ReturnType<typeof loadHParams>;
  assert.equal(hp.ropeFreqBaseSwa, 20000);
  assert.equal(hp.ropeFreqBase, 1e6);
  assert.deepEqual(
    hp.isSwa.map((s, il) => (s ? "" : il)).filter((x) => x !== ""),
    [5, 11],
  );
  meta.delete("gemma3.rope.freq_base");
  meta.set("gemma3.rope.global.freq_base", kv.f32(5e5));
  assert.equal((architectureFor(meta).loadHParams(meta) as ReturnType<typeof loadHParams>).ropeFreqBase, 5e5);
  meta.delete("gemma3.rope.global.freq_base");
  assert.equal((architectureFor(meta).loadHParams(meta) as ReturnType<typeof loadHParams>).ropeFreqBase, 1e6);
});

test("dense_3_feat_out != embedding_length is refused, as llama.cpp asserts", () => {
  const meta = metaOf({ nLayer: 6, dense: true });
  meta.set("gemma-embedding.dense_3_feat_out", kv.u32(512));
  assert.throws(
    () => loadHParams(meta),
    (e: unknown) => e instanceof EmbedError && e.code === "BAD_HPARAMS" && /dense_3_feat_out 512/.test(e.message),
  );
});

test("a fused blk.N.attn_qkv.weight gives the separate projections' vectors bit for bit, and llama.cpp's", async () => {
  const { numerics } = await llamaVariant();
  const fused = await gemmaFixture({ ...NARROW, fusedQkv: true });
  const separate = await gemmaFixture(NARROW);
  const model = await loadModel(fused, { numerics: numerics.name, threads: 2 });
  let ids: number[][];
  try {
    assert.ok(
      model.file.tensors.some((t) => t.name === "blk.0.attn_qkv.weight") &&
        !model.file.tensors.some((t) => t.name === "blk.0.attn_q.weight"),
    );
    ids = inputsOfLengths(model, [10, 100]);
    await assertParity(fused, model, ids, 1e-6);
  } finally {
    await model.close();
    await disposeModel(fused);
  }
  for (const backend of ["auto", "js"] as const) {
    const a = await loadModel(fused, { numerics: numerics.name, threads: 2, backend });
    const b = await loadModel(separate, { numerics: numerics.name, threads: 2, backend });
    try {
      const [va, vb] = [await a.embed(ids), await b.embed(ids)];
      va.forEach((v, i) => bitwiseEqual(v, vb[i]!, `${backend}: input ${i}`));
    } finally {
      await a.close();
      await b.close();
    }
  }
});

test("a file without dense layers loads with a warning: onWarning and model.info.warnings", async () => {
  const path = await gemmaFixture({ nLayer: 6, weightType: "Q8_0" });
  const seen: string[] = [];
  const model = await loadModel(path, { backend: "js", onWarning: (m) => seen.push(m) });
  try {
    assert.equal(model.info.dense, false);
    assert.ok(
      seen.some((m) => /no Sentence-Transformers Dense layers/.test(m)),
      JSON.stringify(seen),
    );
    assert.ok(model.info.warnings.some((m) => /no Sentence-Transformers Dense layers/.test(m)));
  } finally {
    await model.close();
  }
  const dense = await loadModel(await gemmaFixture({ nLayer: 6, weightType: "Q8_0", dense: true }), {
    backend: "js",
    onWarning: (m) => seen.push(`dense: ${m}`),
  });
  try {
    assert.ok(!dense.info.warnings.some((m) => /Dense layers/.test(m)));
  } finally {
    await dense.close();
  }
});

test("gguf-embed serve logs the missing-dense warning at start", async () => {
  const path = await gemmaFixture({ nLayer: 6, weightType: "Q8_0" });
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL("../helpers/serve-child.js", import.meta.url)), "--serve", "--model", path, "--port", "0"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "",
    stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on("exit", resolve));
  try {
    for (const t0 = Date.now(); !/listening on/.test(stdout); await new Promise((r) => setTimeout(r, 50))) {
      assert.ok(Date.now() - t0 < 120_000 && child.exitCode === null, `serve did not start: ${stderr}`);
    }
    assert.match(stderr, /gguf-embed serve: warning: the model has no Sentence-Transformers Dense layers/);
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
});
