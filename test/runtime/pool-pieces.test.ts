/**
 * The thread pool's work split (src/runtime/worker.ts piece): the threads claim pieces of a task's
 * range in turn, so the pieces must cover the range exactly once, each starting at a multiple of
 * the family's align (a tile of 2 weight rows, 4 norm rows, 64 GEGLU elements) from r0, and there
 * must be about PIECES_PER_THREAD per thread so that a slowed thread can hand work over. That every
 * kernel gives the same bits whichever thread runs a piece is shown by the 1- vs 2-thread parity
 * tests (test/kernels/wasm-*.test.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { PIECES_PER_THREAD, piece } from "../../src/runtime/worker.js";

function pieces(r0: number, r1: number, align: number, nThreads: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; ; i++) {
    const [lo, hi] = piece(r0, r1, align, nThreads, i);
    if (lo >= r1) return out;
    out.push([lo, hi]);
    assert.ok(i < r1 - r0 + 1, "piece() never ends");
  }
}

test("pieces cover [r0, r1) once, aligned from r0, about PIECES_PER_THREAD per thread", () => {
  for (const [r0, r1] of [
    [0, 0],
    [0, 1],
    [0, 7],
    [0, 768],
    [0, 1152],
    [3, 514],
    [0, 3 * 514],
    [10, 262144],
  ] as Array<[number, number]>) {
    for (const align of [1, 2, 4, 64]) {
      for (const nThreads of [1, 2, 3, 8]) {
        const ps = pieces(r0, r1, align, nThreads);
        const what = `[${r0}, ${r1}) align ${align}, ${nThreads} threads`;
        let at = r0;
        for (const [lo, hi] of ps) {
          assert.equal(lo, at, `${what}: gap or overlap at ${at}`);
          assert.ok(hi > lo && hi <= r1, `${what}: piece [${lo}, ${hi})`);
          assert.equal((lo - r0) % align, 0, `${what}: piece at ${lo} not aligned`);
          at = hi;
        }
        assert.equal(at, Math.max(r0, r1), `${what}: covered up to ${at}`);
        const full = Math.ceil((r1 - r0) / align);
        assert.ok(ps.length <= Math.min(full, nThreads * PIECES_PER_THREAD), `${what}: ${ps.length} pieces`);
        // a piece is at most range / (threads · pieces) + align rows, so at least half the target count when the range allows it
        if (full >= nThreads * PIECES_PER_THREAD)
          assert.ok(2 * ps.length >= nThreads * PIECES_PER_THREAD, `${what}: only ${ps.length} pieces`);
      }
    }
  }
});
