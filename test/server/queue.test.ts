/**
 * EmbedQueue with a fake model (instant, deterministic): coalescing in arrival order, the token
 * budget, option groups, results back to the right request, the bounded queue, failure isolation.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { EmbedOptions, PreparedInput } from "../../src/embed/embedder.js";
import { EmbedError } from "../../src/errors.js";
import { EmbedQueue, QueueFullError } from "../../src/server/queue.js";

/** Inputs are token arrays; the fake "vector" of an input is [first token, length, dimensions]. */
function fakeModel(poison?: number) {
  const calls: { tokens: number[][]; opts: EmbedOptions }[] = [];
  return {
    calls,
    async embedPrepared(prepared: readonly PreparedInput[], opts: EmbedOptions): Promise<Float32Array[]> {
      calls.push({ tokens: prepared.map((p) => Array.from(p.tokens)), opts });
      prepared.forEach((p, i) => assert.equal(p.index, i, "a batch is indexed 0..n-1"));
      const bad = prepared.find((p) => p.tokens[0] === poison);
      if (bad) throw new EmbedError("NON_FINITE_OUTPUT", `input ${bad.index} is poisoned`, { index: bad.index });
      return prepared.map((p) => Float32Array.of(p.tokens[0], p.tokens.length, opts.dimensions ?? 0));
    },
  };
}

/** A request of inputs with the given lengths; input j starts with token `base + j`. */
function req(base: number, lengths: number[]): PreparedInput[] {
  return lengths.map((n, j) => ({ index: j, tokens: Int32Array.from({ length: n }, (_, k) => (k === 0 ? base + j : 7)) }));
}

const firsts = (vs: Float32Array[]) => vs.map((v) => v[0]);

test("requests submitted together share one call, in arrival order, and get their own vectors back", async () => {
  const m = fakeModel();
  const q = new EmbedQueue(m, { maxBatchTokens: 100, maxQueue: 10 });
  const [a, b, c] = await Promise.all([q.submit(req(10, [3, 4]), {}), q.submit(req(20, [5]), {}), q.submit(req(30, [2, 2, 2]), {})]);
  assert.equal(m.calls.length, 1);
  assert.deepEqual(
    m.calls[0].tokens.map((t) => t[0]),
    [10, 11, 20, 30, 31, 32],
  );
  assert.equal(m.calls[0].opts.maxBatchTokens, 100);
  assert.deepEqual(firsts(a), [10, 11]);
  assert.deepEqual(firsts(b), [20]);
  assert.deepEqual(firsts(c), [30, 31, 32]);
});

test("the token budget splits batches; an input over budget goes alone; a request may span batches", async () => {
  const m = fakeModel();
  const onBatch: number[] = [];
  const q = new EmbedQueue(m, { maxBatchTokens: 10, maxQueue: 10, onBatch: (b) => onBatch.push(b.tokens) });
  const [a, b, c] = await Promise.all([q.submit(req(10, [4, 4, 4]), {}), q.submit(req(20, [25]), {}), q.submit(req(30, [3, 3]), {})]);
  assert.deepEqual(
    m.calls.map((c) => c.tokens.map((t) => t.length)),
    [[4, 4], [4], [25], [3, 3]],
  );
  assert.deepEqual(firsts(a), [10, 11, 12]);
  assert.deepEqual(firsts(b), [20]);
  assert.deepEqual(firsts(c), [30, 31]);
  assert.deepEqual(onBatch, [8, 4, 25, 6]);
  // A request's tail shares a batch with the next request when it fits.
  m.calls.length = 0;
  onBatch.length = 0;
  const [d, e] = await Promise.all([q.submit(req(40, [6, 3]), {}), q.submit(req(50, [1, 5]), {})]);
  assert.deepEqual(
    m.calls.map((c) => c.tokens.map((t) => t[0])),
    [[40, 41, 50], [51]],
  );
  assert.deepEqual(onBatch, [10, 5]);
  assert.deepEqual(firsts(d), [40, 41]);
  assert.deepEqual(firsts(e), [50, 51]);
});

test("requests with different output options are not mixed; the first in line goes first", async () => {
  const m = fakeModel();
  const q = new EmbedQueue(m, { maxBatchTokens: 100, maxQueue: 10 });
  const rs = await Promise.all([
    q.submit(req(10, [2]), { dimensions: 128 }),
    q.submit(req(20, [2]), {}),
    q.submit(req(30, [2]), { dimensions: 128, task: "query" }), // task is applied at prepare(); same group
    q.submit(req(40, [2]), { normalize: "none" }),
  ]);
  assert.deepEqual(
    m.calls.map((c) => [c.tokens.map((t) => t[0]), c.opts.dimensions ?? null, c.opts.normalize ?? null]),
    [
      [[10, 30], 128, null],
      [[20], null, null],
      [[40], null, "none"],
    ],
  );
  assert.deepEqual(
    rs.map((r) => [r[0][0], r[0][2]]),
    [
      [10, 128],
      [20, 0],
      [30, 128],
      [40, 0],
    ],
  );
});

test("a full queue rejects at once with QueueFullError; depth counts waiting requests", async () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const m = fakeModel();
  const slow = { embedPrepared: async (p: readonly PreparedInput[], o: EmbedOptions) => (await gate, m.embedPrepared(p, o)) };
  const q = new EmbedQueue(slow, { maxBatchTokens: 3, maxQueue: 2 });
  const a = q.submit(req(10, [3]), {});
  await new Promise((r) => setTimeout(r, 20)); // a's batch has started and holds
  assert.equal(q.depth, 0, "the running batch is not waiting");
  const b = q.submit(req(20, [3]), {});
  const c = q.submit(req(30, [3]), {});
  assert.equal(q.depth, 2);
  await assert.rejects(
    q.submit(req(40, [1]), {}),
    (e: unknown) => e instanceof QueueFullError && /2 requests are already waiting/.test(e.message),
  );
  open();
  assert.deepEqual([await a, await b, await c].map(firsts), [[10], [20], [30]]);
  assert.equal(q.depth, 0);
  assert.deepEqual(await q.submit([], {}), []);
});

test("when a shared call fails, only the request that caused it gets the error", async () => {
  const m = fakeModel(66);
  const q = new EmbedQueue(m, { maxBatchTokens: 100, maxQueue: 10 });
  const [a, b, c] = await Promise.allSettled([q.submit(req(10, [2]), {}), q.submit(req(65, [2, 2]), {}), q.submit(req(30, [2]), {})]);
  assert.equal(a.status, "fulfilled");
  assert.equal(c.status, "fulfilled");
  assert.deepEqual(firsts((a as PromiseFulfilledResult<Float32Array[]>).value), [10]);
  assert.deepEqual(firsts((c as PromiseFulfilledResult<Float32Array[]>).value), [30]);
  assert.equal(b.status, "rejected");
  assert.equal(((b as PromiseRejectedResult).reason as EmbedError).code, "NON_FINITE_OUTPUT");
  assert.equal(m.calls.length, 4, "one shared call, then one per request");
  assert.equal(((b as PromiseRejectedResult).reason as EmbedError).detail.index, 1);

  // The poisoned input rides alone in the request's second batch: the error names it as input 2.
  const q2 = new EmbedQueue(fakeModel(72), { maxBatchTokens: 4, maxQueue: 10 });
  await assert.rejects(
    q2.submit(req(70, [2, 2, 2]), {}),
    (e: unknown) => e instanceof EmbedError && e.detail.index === 2 && /^input 2 is poisoned/.test(e.message),
  );
});
