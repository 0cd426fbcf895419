/** Helpers of the server abuse tests: the health check after each case, raw-socket requests. */
import assert from "node:assert/strict";
import { connect } from "node:net";
import type { ChildServer } from "../../scripts/load/child.js";
import { call } from "./server.js";

/** The process is alive and /health answers 200 {"status":"ok"}. */
export async function assertHealthy(s: ChildServer, what: string): Promise<void> {
  assert.equal(s.exitStatus(), undefined, `${what}: the server process died:\n${s.stderr().slice(-1500)}`);
  const h = await call(s.url, "/health");
  assert.deepEqual([h.status, h.body], [200, { status: "ok" }], `${what}: /health after it`);
}

/**
 * Write a request on a raw socket: `head`, then `body.pieces` copies of `body.piece` and `body.end`
 * (write errors once the server hangs up are ignored). Resolves with all it read when the socket
 * closes (cut after 20 s).
 */
export function rawRequest(port: number, head: string, body?: { pieces: number; piece: string; end?: string }): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let got = "";
    s.on("data", (d) => (got += d.toString("latin1")));
    s.on("error", () => {});
    const cut = setTimeout(() => s.destroy(), 20_000);
    s.on("close", () => (clearTimeout(cut), resolve(got)));
    s.write(head);
    if (!body) return;
    let n = 0;
    const pump = () => {
      while (n < body.pieces && !s.destroyed) {
        n++;
        if (!s.write(body.piece)) return void s.once("drain", pump);
      }
      if (!s.destroyed) s.end(body.end ?? "");
    };
    pump();
  });
}
