/**
 * pull against servers that take the connection and then say nothing: the idle timeout drops
 * them, transient failures are retried with backoff, and the last failure is DOWNLOAD_STALLED
 * (never a hang). A 503 from the Hub's listing is retried too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isEmbedError } from "../../src/errors.js";
import { pullModel } from "../../src/node/resolve.js";

/** A TCP server that accepts every connection and never sends a byte. */
async function silentServer(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const srv = createServer((s) => {
    sockets.push(s);
    s.on("error", () => {});
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    connections: () => sockets.length,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

async function withCache<T>(f: (cache: string) => Promise<T>): Promise<T> {
  const cache = await mkdtemp(join(tmpdir(), "ge-stall-"));
  try {
    return await f(cache);
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
}

test("a Hub that accepts connections and never answers: DOWNLOAD_STALLED after the retries, in bounded time", async () => {
  const silent = await silentServer();
  try {
    await withCache(async (cache) => {
      const t0 = Date.now();
      await assert.rejects(
        pullModel("hf:org/repo:Q8_0", { env: { HF_ENDPOINT: silent.url, GGUF_EMBED_CACHE: cache }, idleTimeoutMs: 300, retryDelayMs: 50 }),
        (e) => isEmbedError(e, "DOWNLOAD_STALLED") && /no answer within 300 ms/.test((e as Error).message),
      );
      assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
      assert.equal(silent.connections(), 3, "the first try and two retries");
    });
  } finally {
    await silent.close();
  }
});

test("a file URL on a silent server: retried (resumable) then DOWNLOAD_STALLED", async () => {
  const silent = await silentServer();
  try {
    await withCache(async (cache) => {
      const status: string[] = [];
      await assert.rejects(
        pullModel(`${silent.url}/m.gguf`, {
          env: { GGUF_EMBED_CACHE: cache },
          idleTimeoutMs: 300,
          retries: 2,
          retryDelayMs: 50,
          onStatus: (m) => status.push(m),
        }),
        (e) => isEmbedError(e, "DOWNLOAD_STALLED"),
      );
      assert.equal(status.filter((m) => /retrying/.test(m)).length, 2, status.join(" | "));
      assert.ok(silent.connections() >= 3, `${silent.connections()} connections`);
    });
  } finally {
    await silent.close();
  }
});

test("a 503 from the Hub's listing is retried (then the real answer counts)", async () => {
  let n = 0;
  const hub = createHttpServer((_req, res) => {
    n++;
    if (n === 1) res.writeHead(503, { "content-type": "text/plain" }).end("busy");
    else res.writeHead(404, { "content-type": "application/json" }).end('{"error":"Repository not found"}');
  });
  await new Promise<void>((r) => hub.listen(0, "127.0.0.1", r));
  try {
    await withCache(async (cache) => {
      const url = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
      await assert.rejects(pullModel("hf:org/repo:Q8_0", { env: { HF_ENDPOINT: url, GGUF_EMBED_CACHE: cache }, retryDelayMs: 20 }), (e) =>
        isEmbedError(e, "NOT_FOUND"),
      );
      assert.equal(n, 2, "one retry after the 503");
    });
  } finally {
    hub.closeAllConnections();
    await new Promise((r) => hub.close(r));
  }
});
