/**
 * A private Redis for a test: Debian's redis-server as a child process on a free loopback port, no
 * persistence, stopped (and waited for) by stop(). A missing redis-server is an error, never a skip:
 * .ci/run installs it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (the OS picks it; the caller binds it right away). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRedis(): Promise<RedisServer> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let log = "";
    const ready = await new Promise<boolean>((resolve, reject) => {
      child.once("error", (e) => reject(new Error(`cannot start redis-server (apt-get install redis-server): ${e.message}`)));
      child.stdout!.on("data", (d) => {
        log += d;
        if (log.includes("Ready to accept connections")) resolve(true);
      });
      child.stderr!.on("data", (d) => (log += d));
      child.once("exit", () => resolve(false));
    });
    if (!ready) {
      if (attempt < 3 && /Address already in use/.test(log)) continue; // the port was taken in between
      throw new Error(`redis-server did not start:\n${log}`);
    }
    child.stdout!.resume();
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      stop: () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        }),
    };
  }
}
