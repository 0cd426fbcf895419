/**
 * Issue 15 item 7: a client that disconnects mid-body is one log line, counted as status 499
 * (it used to be logged as "error: Error: aborted" with a stack trace and counted as 500); so is a
 * client that hangs up while its request waits.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { startServer } from "../../src/server/http.js";
import { call, metric, until } from "../helpers/server.js";
import { vocabModel } from "../helpers/vocab-model.js";

test("a client that disconnects mid-body: one 499 line, no error or stack, metrics status 499", async () => {
  const model = await vocabModel();
  const lines: string[] = [];
  const s = await startServer(model, { port: 0, log: (l) => lines.push(l) });
  try {
    for (let i = 0; i < 3; i++) {
      const sock = connect(s.port, "127.0.0.1");
      sock.on("error", () => {});
      sock.write(
        `POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"input": "half a bo`,
      );
      await new Promise((r) => setTimeout(r, 100));
      sock.destroy();
    }
    await until(() => lines.length >= 3, 5000, "three log lines");
    assert.deepEqual(
      lines.filter((l) => /error/i.test(l)),
      [],
      "no error lines",
    );
    assert.equal(lines.length, 3, lines.join("\n"));
    for (const l of lines) assert.match(l, /^POST \/v1\/embeddings 499 \d+ms \(the client closed the connection\)$/);
    const m = await call(s.url, "/metrics");
    assert.equal(metric(m.text, 'gguf_embed_requests_total{route="/v1/embeddings",method="POST",status="499"}'), 3);
    assert.equal(metric(m.text, 'gguf_embed_requests_total{route="/v1/embeddings",method="POST",status="500"}'), 0);
  } finally {
    await s.close();
  }
});
