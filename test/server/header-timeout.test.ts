/**
 * Issue 15 item 2: Node's header timeout must not cut a request that arrived while the server was
 * tokenizing on its event loop (the pause used to cover forward passes only). A connection is
 * opened by another process; a 4 s tokenization starts; the request is sent 2.5 s after the
 * connection, during it; headersTimeoutMs is 1.5 s (more than it takes to start the tokenization
 * on a loaded machine, less than the tokenization). Before: Node's bare 408. Now: 200.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ServedModel } from "../../src/server/context.js";
import { startServer } from "../../src/server/http.js";
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
    const client = spawn(
      process.execPath,
      [
        "-e",
        `
      const s = require("net").connect(${s.port}, "127.0.0.1", () => {
        console.log("connected");
        setTimeout(() => s.write("GET /health HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n"), 2500);
      });
      let got = "";
      s.on("data", (d) => (got += d)).on("error", (e) => console.log("error " + e.code));
      s.on("close", () => console.log("got " + got.split("\\r\\n")[0]));
      setTimeout(() => process.exit(0), 15000).unref();`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    client.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    const exited = new Promise((r) => client.on("exit", r));
    for (let t0 = Date.now(); !out.includes("connected") && Date.now() - t0 < 10_000; ) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50)); // the server has accepted the connection
    const r = await call(s.url, "/v1/embeddings", { body: { input: "x" } }); // tokenizes for 4 s
    assert.equal(r.status, 200, r.text);
    await exited;
    assert.match(out, /got HTTP\/1\.1 200 /, out);
  } finally {
    await s.close();
  }
});
