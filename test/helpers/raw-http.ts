/**
 * A raw HTTP/1.1 connection for tests that must see what a real client sees: keep-alive reuse,
 * responses that never finish, resets (ECONNRESET/EPIPE) versus clean closes.
 */
import { connect, type Socket } from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export class RawConn {
  readonly socket: Socket;
  private buf = Buffer.alloc(0);
  /** The socket error's code (ECONNRESET, EPIPE, ...), if any. */
  error: string | undefined;
  closed = false;
  private wake: () => void = () => {};

  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    this.socket.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.socket.on("error", (e: NodeJS.ErrnoException) => {
      this.error ??= e.code ?? e.message;
      this.wake();
    });
    this.socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  connected(): Promise<void> {
    return new Promise((resolve) => (this.socket.connecting ? this.socket.once("connect", () => resolve()) : resolve()));
  }

  write(s: string): void {
    if (!this.socket.destroyed) this.socket.write(s);
  }

  /** POST `path` with a JSON body (keep-alive). */
  post(path: string, body: unknown): void {
    const b = JSON.stringify(body);
    this.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`);
  }

  get(path: string): void {
    this.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  }

  /** The next complete response (Content-Length bodies), or undefined if the connection ended first or `ms` passed. */
  async response(ms = 60_000): Promise<RawResponse | undefined> {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = this.parse();
      if (r) return r;
      if (this.closed || Date.now() > deadline) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private parse(): RawResponse | undefined {
    const end = this.buf.indexOf("\r\n\r\n");
    if (end < 0) return undefined;
    const lines = this.buf.subarray(0, end).toString("latin1").split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(":");
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    if (status === 100) {
      this.buf = this.buf.subarray(end + 4);
      return this.parse();
    }
    const n = Number(headers["content-length"] ?? NaN);
    if (!Number.isFinite(n)) throw new Error(`raw-http: only Content-Length responses are parsed (got ${lines[0]})`);
    if (this.buf.length < end + 4 + n) return undefined;
    const body = this.buf.subarray(end + 4, end + 4 + n).toString("utf8");
    this.buf = this.buf.subarray(end + 4 + n);
    return { status, headers, body };
  }

  destroy(): void {
    this.socket.destroy();
  }
}
