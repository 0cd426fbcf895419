/**
 * Issue 15 item 3: clients that never read their response. 20 clients each POST a 1 MB
 * /detokenize whose answer is 15.5 MB (token 137 is 31 newlines: 62 bytes of JSON for 4 bytes of
 * request) and never read it. The server (child process, so the RSS is its own) must keep its
 * memory bounded, keep serving others, and cut each stalled response after --send-timeout-ms.
 * Before: RSS went from 256 to 775 MB and stayed there; no connection was ever closed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { startChildServer } from "../../scripts/load/child.js";
import { call, metric } from "../helpers/server.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SEND_TIMEOUT_MS = 6000;

test("20 clients that never read a 15.5 MB answer: bounded RSS, others served, each cut after the send timeout", async () => {
  const srv = await startChildServer("test:fixture", ["--backend", "js", "--send-timeout-ms", String(SEND_TIMEOUT_MS)]);
  const sockets: Socket[] = [];
  try {
    const ids = new Array(250_000).fill(137);
    const body = JSON.stringify({ tokens: ids });
    assert.ok(body.length < 1.1e6, `${body.length} bytes`);
    // the answer is 15.5 MB: check it once, read normally
    const one = await call(srv.url, "/detokenize", { body: { tokens: ids } });
    assert.equal(one.status, 200);
    assert.equal(one.body.content, "\n".repeat(31 * ids.length));
    await sleep(1000);
    const rss0 = srv.rssKiB()!;

    const closedAt: number[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) {
      const s = connect(srv.port, "127.0.0.1");
      s.on("error", () => {})
        .on("close", () => closedAt.push(Date.now() - t0))
        .on("data", () => {});
      s.write(`POST /detokenize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      s.pause(); // never read: the kernel buffers fill, then the server's socket stops draining
      sockets.push(s);
    }
    // RSS sampled from now until every stalled answer has been cut (or 60 s).
    let peak = rss0,
      sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, srv.rssKiB() ?? 0);
        await sleep(100);
      }
    })();
    await sleep(2000);
    const h = await call(srv.url, "/health");
    assert.equal(h.status, 200, "served while 20 clients stall");
    // The server cuts them (a paused client sees it only once it reads again).
    const timeouts = async () => metric((await call(srv.url, "/metrics")).text, "gguf_embed_send_timeouts_total");
    for (; (await timeouts()) < 20 && Date.now() - t0 < 60_000; ) await sleep(200);
    sampling = false;
    await sampler;
    const grewMiB = (peak - rss0) / 1024;
    console.log(
      `# RSS ${(rss0 / 1024).toFixed(0)} MiB before, peak ${(peak / 1024).toFixed(0)} MiB with 20 stalled 15.5 MB answers ` +
        `(+${grewMiB.toFixed(0)} MiB), until ${Date.now() - t0} ms`,
    );
    assert.ok(grewMiB < 128, `RSS grew ${grewMiB.toFixed(0)} MiB`);
    assert.equal(await timeouts(), 20, "every stalled response was cut");
    const m = await call(srv.url, "/metrics");
    assert.equal(metric(m.text, 'gguf_embed_requests_total{route="/detokenize",method="POST",status="499"}'), 20);
    const cutMs = [...srv.stderr().matchAll(/POST \/detokenize 499 (\d+)ms \(cut: the client read nothing for 6000 ms\)/g)].map((x) =>
      Number(x[1]),
    );
    assert.equal(cutMs.length, 20, srv.stderr().slice(-2000));
    console.log(`# each cut ${Math.min(...cutMs)}-${Math.max(...cutMs)} ms after its request arrived`);
    assert.ok(Math.min(...cutMs) >= SEND_TIMEOUT_MS, `cut after ${Math.min(...cutMs)} ms, before the send timeout`);
    for (const s of sockets) s.resume(); // now they read what the kernel holds, then the end
    for (const t1 = Date.now(); closedAt.length < 20 && Date.now() - t1 < 20_000; ) await sleep(100);
    assert.equal(closedAt.length, 20, "every client sees its connection end");
  } finally {
    for (const s of sockets) s.destroy();
    assert.deepEqual(await srv.stop(), [0, null]);
  }
});
