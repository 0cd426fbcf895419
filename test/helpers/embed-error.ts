/** Assertions on EmbedError (src/errors.ts): the code a failure carries is part of the contract, so tests check it exactly. */
import assert from "node:assert/strict";
import { EmbedError } from "../../src/errors.js";

/** `p` must reject with an EmbedError of `code` whose message matches `re` (when given) -> that error. */
export async function rejects(p: Promise<unknown>, code: string, re?: RegExp): Promise<EmbedError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof EmbedError, `expected EmbedError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return e;
  }
  assert.fail(`expected ${code}`);
}
