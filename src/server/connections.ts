/**
 * Open connections and what each is doing, for graceful shutdown. The invariant: a request whose
 * head arrived before the shutdown gets an answer (its result, or 503 with Connection: close),
 * never a reset; a connection with no request in flight (idle, or still trickling its headers) is
 * closed at once. Guarded by test/server/shutdown.test.ts.
 *
 * Why the waiting in drain(): SIGTERM is handled in a poll phase, possibly before the sockets that
 * became readable in the same phase, or connections still in the accept backlog (a forward pass
 * may have blocked the loop while they arrived). Closing the listener or an idle-looking socket
 * then would reset them. A few turns of the loop let them be accepted, read and dispatched first.
 */
import type { Server } from "node:http";
import type { Socket } from "node:net";

interface Conn {
  /** Requests of this connection being handled. */
  active: number;
}

export class Connections {
  private readonly conns = new Map<Socket, Conn>();
  private draining = false;

  constructor(server: Server) {
    server.on("connection", (s: Socket) => {
      this.conns.set(s, { active: 0 });
      s.once("close", () => this.conns.delete(s));
    });
  }

  /** A request on `socket` started; `done` when its response has ended (finished or closed). */
  begin(socket: Socket, res: { once(ev: "close", f: () => void): unknown }): void {
    const c = this.conns.get(socket);
    if (!c) return;
    c.active++;
    res.once("close", () => {
      c.active--;
      // During shutdown a kept-alive connection whose last response just ended is closed too.
      if (this.draining && c.active === 0) setImmediate(() => this.closeIfIdle(socket, c));
    });
  }

  get size(): number {
    return this.conns.size;
  }

  /**
   * Shutdown: let the loop turn `turns` times (requests already in the kernel are read and
   * dispatched), then close every connection with no request in flight.
   */
  async drain(turns = 4): Promise<void> {
    for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
    this.draining = true;
    for (const [s, c] of this.conns) if (c.active === 0) this.closeIfIdle(s, c);
  }

  private closeIfIdle(s: Socket, c: Conn): void {
    if (c.active > 0 || s.destroyed) return;
    // Idle (nothing since the last response) or a request still arriving (headers trickling): it
    // has not been received, so it is cut rather than waited for.
    s.destroy();
  }
}
