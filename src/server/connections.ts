/**
 * Open connections and what each is doing, for graceful shutdown. The invariant: a request whose
 * head arrived before the shutdown gets an answer (its result, or 503 with Connection: close),
 * never a reset; a connection with no request in flight (idle, or still trickling its headers) is
 * closed at once. Guarded by test/server/shutdown.test.ts.
 *
 * Why the waiting in drain(): SIGTERM is handled in a poll phase, possibly before the sockets that
 * became readable in the same phase, or connections still in the accept backlog (a forward pass
 * may have blocked the loop while they arrived). A socket is read only in a poll phase after the
 * one that accepted it. Closing an idle-looking socket before then would reset a request sitting
 * in its kernel buffer. So drain() lets the loop turn until two turns pass with no connection
 * accepted and no request started (at most MAX_TURNS), and only then closes idle connections.
 */
import type { Server } from "node:http";
import type { Socket } from "node:net";

interface Conn {
  /** Requests of this connection being handled. */
  active: number;
}

/** Most loop turns drain() waits for the arrivals to stop. */
const MAX_TURNS = 100;

export class Connections {
  private readonly conns = new Map<Socket, Conn>();
  private draining = false;
  /** Connections accepted and requests started so far (drain() waits until it stops changing). */
  private arrivals = 0;

  constructor(server: Server) {
    server.on("connection", (s: Socket) => {
      this.arrivals++;
      this.conns.set(s, { active: 0 });
      s.once("close", () => this.conns.delete(s));
    });
  }

  /** A request on `socket` started; `done` when its response has ended (finished or closed). */
  begin(socket: Socket, res: { once(ev: "close", f: () => void): unknown }): void {
    const c = this.conns.get(socket);
    this.arrivals++;
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
   * Shutdown: let the loop turn until connections and requests stop arriving (those already in the
   * kernel are accepted, read and dispatched), then close every connection with no request in flight.
   */
  async drain(): Promise<void> {
    let seen = this.arrivals,
      quiet = 0;
    for (let turn = 0; turn < MAX_TURNS && quiet < 2; turn++) {
      await new Promise((r) => setImmediate(r));
      quiet = this.arrivals === seen ? quiet + 1 : 0;
      seen = this.arrivals;
    }
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
