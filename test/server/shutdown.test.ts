/**
 * Issue 15 item 5: graceful shutdown. `gguf-embed serve` (js backend, child process) runs a long
 * forward pass; during it, 10 small requests are sent (5 on kept-alive connections, 5 on new
 * ones) and a client trickles header bytes; then SIGTERM. Every request whose bytes arrived before
 * the signal must get an answer: its result, or 503 with Connection: close; never a reset. The
 * trickler is cut at once, so the process exits soon after the pass (it used to wait for the 30 s
 * header timeout), with code 0. Before the fix: 9 of 10 got ECONNRESET.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startChildServer } from "../../scripts/load/child.js";
import { RawConn } from "../helpers/raw-http.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const NAME = "SIGTERM during a long forward pass: every request received gets an answer (result, or 503 + close), none is reset";
test(`${NAME}; tricklers are cut`, async () => {
  const srv = await startChildServer("test:fixture", ["--backend", "js", "--shutdown-timeout-ms", "60000"]);
  try {
    // Kept-alive connections, each having done one request.
    const kept = Array.from({ length: 5 }, () => new RawConn(srv.port));
    for (const c of kept) {
      c.get("/health");
      assert.equal((await c.response(30_000))?.status, 200);
    }
    // The long pass: ~40 token ids take seconds on the js backend.
    const long = new RawConn(srv.port);
    long.post("/v1/embeddings", { input: [[2, ...Array(38).fill(107), 1]] });
    const trickler = new RawConn(srv.port);
    await trickler.connected();
    trickler.write("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    const drip = setInterval(() => trickler.write("a"), 100);
    await sleep(700); // the pass has started and holds the server's event loop
    const fresh = Array.from({ length: 5 }, () => new RawConn(srv.port));
    await Promise.all(fresh.map((c) => c.connected()));
    const all = [...kept, ...fresh];
    all.forEach((c, i) => (i % 2 ? c.post("/tokenize", { content: `request ${i}` }) : c.post("/v1/embeddings", { input: `request ${i}` })));
    await sleep(300); // their bytes are in the server's kernel buffers
    const t0 = Date.now();
    srv.child.kill("SIGTERM");
    const answers = await Promise.all(all.map((c) => c.response(120_000)));
    const longAnswer = await long.response(120_000);
    const exit = srv.exitStatus() ?? (await new Promise((r) => srv.child.once("exit", (code, sig) => r([code, sig]))));
    const exitMs = Date.now() - t0;
    clearInterval(drip);

    assert.equal(longAnswer?.status, 200, `the pass in flight finishes: ${longAnswer?.body.slice(0, 200)}`);
    const summary = answers.map((a, i) =>
      a
        ? `${a.status}${a.headers.connection === "close" ? "+close" : ""}`
        : `none (${all[i].error ?? (all[i].closed ? "closed" : "open")})`,
    );
    console.log(`# answers: ${summary.join(", ")}; exit after ${exitMs} ms`);
    answers.forEach((a, i) => {
      assert.ok(a, `request ${i} got no answer: ${summary[i]}\n${srv.stderr().slice(-3000)}`);
      assert.ok(
        a.status === 200 || (a.status === 503 && a.headers.connection === "close"),
        `request ${i}: ${summary[i]} ${a.body.slice(0, 200)}`,
      );
      if (a.status === 503) assert.match(a.body, /SHUTTING_DOWN|shutting down/);
      assert.notEqual(all[i].error, "ECONNRESET", `request ${i} was reset`);
    });
    assert.ok(trickler.closed, "the trickling client was cut");
    assert.deepEqual(exit, [0, null], `exit status\n${srv.stderr().slice(-2000)}`);
    assert.ok(exitMs < 25_000, `exited ${exitMs} ms after SIGTERM (the trickler must not hold it for the 30 s header timeout)`);
  } finally {
    await srv.stop(1000);
  }
});
