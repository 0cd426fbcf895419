/**
 * Writing responses with bounded memory, whatever the client does:
 * - A reply's JSON is produced in pieces (Reply.body) and written CHUNK characters at a time; the
 *   next chunk is produced only once the socket has drained, so a client that does not read holds
 *   at most about one chunk plus the socket's high-water mark in this process.
 * - All responses together buffer at most `maxBufferedBytes` in the process (SendBudget): past it,
 *   producers wait until sockets drain or are cut.
 * - A response that makes no progress for `sendTimeoutMs` (no drain, not finished) is cut: the
 *   connection is destroyed and counted.
 * Small replies (one chunk) keep a Content-Length; larger ones are sent chunked.
 * Guarded by test/server/slow-readers.test.ts.
 */
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Reply } from "./context.js";

/** Characters gathered before a write. */
export const CHUNK = 64 * 1024;

export interface SendOptions {
  sendTimeoutMs: number;
  budget: SendBudget;
  /** Extra headers (Connection: close during shutdown). */
  headers: Record<string, string>;
}

export type SendOutcome = "sent" | "closed" | "timeout";

/** Bytes waiting in this process's socket buffers, over all responses being written. */
export class SendBudget {
  private readonly sockets = new Set<Socket>();
  constructor(readonly maxBytes: number) {}

  buffered(): number {
    let n = 0;
    for (const s of this.sockets) n += s.writableLength;
    return n;
  }

  /** Wait (polling every 20 ms) until `bytes` more fit, or the response is gone. */
  async reserve(res: ServerResponse, bytes: number): Promise<void> {
    while (this.buffered() > 0 && this.buffered() + bytes > this.maxBytes && !res.destroyed) await new Promise((r) => setTimeout(r, 20));
  }

  track(socket: Socket): () => void {
    this.sockets.add(socket);
    return () => this.sockets.delete(socket);
  }
}

/** Write `reply` to `res`. Resolves with how it ended: sent whole, the client closed, or cut for making no progress. */
export async function sendReply(res: ServerResponse, reply: Reply, o: SendOptions): Promise<SendOutcome> {
  if (res.destroyed) return "closed";
  const status = reply.status ?? 200;
  const type = reply.contentType ?? "application/json; charset=utf-8";
  const pieces = (reply.body ?? [reply.text ?? JSON.stringify(reply.json)])[Symbol.iterator]();
  const next = (): string | undefined => {
    let s = "";
    for (let r = pieces.next(); !r.done; r = pieces.next()) {
      s += r.value;
      if (s.length >= CHUNK) return s;
    }
    return s.length > 0 ? s : undefined;
  };
  let chunk = next();
  let after = chunk === undefined ? undefined : next();
  const headers: Record<string, string | number> = { "content-type": type, ...o.headers };
  if (after === undefined) headers["content-length"] = Buffer.byteLength(chunk ?? "");
  res.writeHead(status, headers);

  const socket = res.socket;
  if (!socket) return "closed";
  const untrack = o.budget.track(socket);
  let timedOut = false;
  // No progress (drain) for sendTimeoutMs before the response has finished: cut the connection.
  const timer = setTimeout(() => {
    timedOut = true;
    socket.destroy();
  }, o.sendTimeoutMs);
  const progress = () => timer.refresh();
  socket.on("drain", progress);
  const ended = new Promise<void>((resolve) => {
    res.once("finish", resolve);
    res.once("close", resolve);
  });
  try {
    while (chunk !== undefined && !res.destroyed) {
      await o.budget.reserve(res, chunk.length);
      if (res.destroyed) break;
      const more = after !== undefined;
      if (!more) {
        res.end(chunk);
        break;
      }
      if (!res.write(chunk)) await Promise.race([new Promise((r) => res.once("drain", r)), ended]);
      progress();
      chunk = after;
      after = next();
    }
    if (chunk === undefined && !res.writableEnded) res.end();
    await ended;
  } finally {
    clearTimeout(timer);
    socket.off("drain", progress);
    untrack();
  }
  if (res.writableFinished) return "sent";
  return timedOut ? "timeout" : "closed";
}
