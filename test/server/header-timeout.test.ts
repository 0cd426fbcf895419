/**
 * Issue 15 item 2: Node's header timeout must not cut a request that arrived while the server was
 * tokenizing on its event loop (the pause used to cover forward passes only). A connection is
 * opened by another process; a 4 s tokenization starts; the request is sent 2.5 s after the
 * connection, during it; headersTimeoutMs is 1.5 s (more than it takes to start the tokenization
 * on a loaded machine, less than the tokenization). Before: Node's bare 408. Now: 200.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ServedModel } from "../../src/server/context.js";
import { startServer } from "../../src/server/http.js";
import { lateClient } from "../helpers/abuse.js";
import { call } from "../helpers/server.js";

test("header timeout vs a long tokenization on the event loop: a request sent during it is answered, not cut", async () => {
  const slowTokenizer = {
    info: { name: "none", nEmbdOut: 768, pooling: "mean", contextLength: 2048, architecture: "gemma-embedding" },
    prepare: (inputs: unknown[]) => {
      for (const t0 = Date.now(); Date.now() - t0 < 4000; ); // 4 s of tokenizing, on the loop
      return inputs.map((_, index) => ({ index, tokens: Int32Array.of(2, 1) }));
    },
    embedPrepared: async (p: unknown[]) => p.map(() => new Float32Array(768)),
  } as unknown as ServedModel;
  const s = await startServer(slowTokenizer, { port: 0, headersTimeoutMs: 1500 });
  try {
    const client = await lateClient(s.port);
    const r = await call(s.url, "/v1/embeddings", { body: { input: "x" } }); // tokenizes for 4 s
    assert.equal(r.status, 200, r.text);
    const out = await client.exited;
    assert.match(out, /got HTTP\/1\.1 200 /, out);
  } finally {
    await s.close();
  }
});
