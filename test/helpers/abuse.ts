/**
 * Helpers of the server abuse tests: the health check after each case, raw-socket requests, and a
 * client in another process whose request arrives while this process's event loop is blocked.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
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

/**
 * Another process connects to 127.0.0.1:`port` now and sends `GET /health` 2.5 s later (so it lands
 * while the caller blocks the event loop). Resolves once it has connected (and the server has had
 * 50 ms to accept) -> `exited`, which resolves with its output when it exits: a line "got <status
 * line>" (or "error <code>"). The child exits by itself after 15 s at the latest.
 */
export async function lateClient(port: number): Promise<{ exited: Promise<string> }> {
  const client = spawn(
    process.execPath,
    [
      "-e",
      `
      const s = require("net").connect(${port}, "127.0.0.1", () => {
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
  const exited = new Promise<string>((r) => client.on("exit", () => r(out)));
  for (let t0 = Date.now(); !out.includes("connected") && Date.now() - t0 < 10_000; ) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50)); // the server has accepted the connection
  return { exited };
}
