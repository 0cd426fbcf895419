/**
 * Qwen3-Embedding around the forward pass: the query instruction (docs/architectures/qwen3.md
 * "Prompts"), Matryoshka sizes, and memory: the 4B and 8B shapes in Q8_0 do not fit the wasm
 * backend's 4 GiB (4B's tensors alone take 3.98 GiB; with a 512-token batch's activations they
 * do not fit) and are refused from the tensor table, naming the sizes, before a byte is read;
 * the 0.6B shape plans.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadFromSources } from "../../src/embed/load.js";
import { applyPrompt, QWEN3_DEFAULT_TASK } from "../../src/embed/prompts.js";
import { isTrainedDims } from "../../src/embed/pooling.js";
import { EmbedError } from "../../src/errors.js";
import { readGGUFParts } from "../../src/gguf/split.js";
import { planModel } from "../../src/models/loader.js";
import { qwen3GGUF, type Qwen3GenOptions } from "../../scripts/gen/qwen3.js";
import { VirtualGGUF } from "../helpers/virtual-gguf.js";

test('qwen3 task "query" is the model card\'s instruction; "document" is the text as is; other tasks are refused', () => {
  assert.equal(QWEN3_DEFAULT_TASK, "Given a web search query, retrieve relevant passages that answer the query");
  assert.equal(
    applyPrompt("qwen3", "What is RAG?", "query"),
    "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:What is RAG?",
  );
  assert.equal(applyPrompt("qwen3", "RAG retrieves passages.", "document"), "RAG retrieves passages.");
  assert.equal(applyPrompt("qwen3", "plain"), "plain");
  assert.throws(
    () => applyPrompt("qwen3", "x", "qa"),
    (e: unknown) => e instanceof EmbedError && e.code === "BAD_OPTION",
  );
  assert.throws(
    () => applyPrompt("qwen3", "x", "document", "a title"),
    (e: unknown) => e instanceof EmbedError && e.code === "BAD_OPTION",
  );
});

test("qwen3 Matryoshka: any size from 32 is trained (MRL); EmbeddingGemma keeps its four", () => {
  assert.ok(isTrainedDims("qwen3", 32) && isTrainedDims("qwen3", 1000) && !isTrainedDims("qwen3", 16));
  assert.ok(isTrainedDims("gemma-embedding", 256) && !isTrainedDims("gemma-embedding", 300));
});

/** The shape as a VirtualGGUF: the real header, no tensor data. */
function virtual(o: Qwen3GenOptions): VirtualGGUF {
  const f = qwen3GGUF(o);
  return new VirtualGGUF(
    f.metadata,
    f.tensors.map((t) => ({ name: t.name, type: t.type, ne: t.ne })),
  );
}

const SHAPES = {
  "4B": { nLayer: 36, nEmbd: 2560, nFf: 9728, nHead: 32, nHeadKv: 8 },
  "8B": { nLayer: 36, nEmbd: 4096, nFf: 12288, nHead: 32, nHeadKv: 8 },
};

test("qwen3 4B and 8B in Q8_0 on the wasm backend: MODEL_TOO_LARGE naming the size, before any tensor data is read", async () => {
  for (const [name, shape] of Object.entries(SHAPES)) {
    const src = virtual({ ...shape, weightType: "Q8_0" });
    await assert.rejects(loadFromSources([src], { backend: "wasm", threads: 1 }), (e: unknown) => {
      assert.ok(e instanceof EmbedError && e.code === "MODEL_TOO_LARGE", `${name}: ${String(e)}`);
      assert.match(
        e.message,
        /the model's tensors take \d+\.\d\d GiB and the activations of a 512-token batch 0\.\d\d GiB, more than the 4 GiB of WebAssembly memory; use backend "js"/,
      );
      return true;
    });
    assert.deepEqual([...src.touched], [], name);
  }
});

test("qwen3 0.6B in Q8_0 plans for the wasm backend (under 1 GiB of tensors)", async () => {
  const file = await readGGUFParts([virtual({ weightType: "Q8_0" })]);
  const { tensors, hp } = planModel(file, 151669, "wasm");
  const bytes = tensors.reduce((a, t) => a + t.nBytes, 0);
  assert.equal(hp.nLayer, 28);
  assert.ok(bytes > 0.5 * 2 ** 30 && bytes < 2 ** 30, `${bytes} bytes`);
});
