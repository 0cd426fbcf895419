/**
 * embedChunk (src/queue/chunk.ts) on the real small model, no Redis: its records equal the
 * single-call embeddings written with bulk's record writer, whatever the pass packing; a poisoned
 * output (NON_FINITE_OUTPUT, which no sane model produces, so it is injected for one input by a
 * wrapper around the real model) fails only that record; any other error fails the chunk (so
 * that BullMQ retries it).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { EmbeddingModel, EmbedOptions, PreparedInput } from "../../src/embed/embedder.js";
import { EmbedError } from "../../src/errors.js";
import { formatRecord } from "../../src/cli/bulk.js";
import { loadModel } from "../../src/node.js";
import { embedChunk } from "../../src/queue/chunk.js";
import { gemmaFixture, SMALL_GEMMA } from "../helpers/fixtures.js";

const TEXTS = Array.from({ length: 40 }, (_, i) => `text number ${i}: ${"words and more words ".repeat(1 + (i % 9))}`);
let model: EmbeddingModel, expected: string[];

before(async () => {
  model = await loadModel(await gemmaFixture(SMALL_GEMMA), { threads: 1 });
  expected = (await model.embed(TEXTS)).map((v, i) => formatRecord(100 + i, v));
});
after(() => model.close());

test("records equal one embed() call's, byte for byte, with passes of any size", async () => {
  for (const maxBatchTokens of [1, 64, 512, 100_000]) {
    const r = await embedChunk(model, TEXTS, 100, false, { maxBatchTokens });
    assert.equal(r.text, expected.join(""), `maxBatchTokens ${maxBatchTokens}`);
    assert.equal(r.nErrors, 0);
    assert.equal(
      r.nTokens,
      model.prepare(TEXTS).reduce((n, p) => n + p.tokens.length, 0),
    );
  }
});

/** The real model, except that embedPrepared fails for the input whose tokens equal `poisoned`. */
function poisonedModel(poisoned: Int32Array, error: (index: number) => Error): EmbeddingModel {
  return new Proxy(model, {
    get(target, prop) {
      if (prop !== "embedPrepared") return Reflect.get(target, prop, target) as unknown;
      return async (prepared: readonly PreparedInput[], opts: EmbedOptions) => {
        const j = prepared.findIndex((p) => p.tokens.length === poisoned.length && p.tokens.every((t, k) => t === poisoned[k]));
        if (j >= 0) throw error(j);
        return target.embedPrepared(prepared, opts);
      };
    },
  });
}

test("a non-finite output fails only its own record; the rest of its pass is redone and kept", async () => {
  const bad = 13;
  const [p] = model.prepare([TEXTS[bad]]);
  const m = poisonedModel(
    p.tokens,
    (j) => new EmbedError("NON_FINITE_OUTPUT", `input ${j}: the embedding contains NaN at component 0`, { index: j, component: 0 }),
  );
  const r = await embedChunk(m, TEXTS, 100, false, { maxBatchTokens: 256 });
  assert.equal(r.nErrors, 1);
  const lines = r.text.split("\n").slice(0, -1);
  assert.equal(lines.length, TEXTS.length);
  lines.forEach((l, i) => {
    if (i !== bad) assert.equal(l + "\n", expected[i], `record ${i}`);
  });
  assert.deepEqual(JSON.parse(lines[bad]), {
    index: 100 + bad,
    error: { code: "NON_FINITE_OUTPUT", message: `input line ${100 + bad + 1}: the embedding contains NaN at component 0` },
  });
});

test("any other failure fails the whole chunk (BullMQ retries it)", async () => {
  const [p] = model.prepare([TEXTS[5]]);
  const m = poisonedModel(p.tokens, () => new Error("worker thread lost"));
  await assert.rejects(embedChunk(m, TEXTS, 0, false, {}), /worker thread lost/);
  const m2 = poisonedModel(p.tokens, () => new EmbedError("MODEL_CLOSED", "the model has been closed"));
  await assert.rejects(embedChunk(m2, TEXTS, 0, false, {}), (e: unknown) => e instanceof EmbedError && e.code === "MODEL_CLOSED");
});
