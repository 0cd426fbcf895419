/**
 * `gguf-embed serve` (runServe, src/cli/serve.ts) in a child process, for tests and load runs that
 * need the server's own process: its RSS (/proc/<pid>/status VmRSS), its exit code after SIGTERM,
 * and proof that a hostile request did not kill it. Listens on 127.0.0.1 only.
 *
 * The entry is test/helpers/serve-child.js, which calls runServe directly (as bin/gguf-embed.js
 * does) and resolves the model name "test:fixture" to the synthetic test model.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ENTRY = fileURLToPath(new URL("../../test/helpers/serve-child.js", import.meta.url));

export interface ChildServer {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Everything the server wrote to stderr so far (its request log and warnings). */
  stderr(): string;
  /** Resident set size in KiB, or undefined once the process is gone. */
  rssKiB(): number | undefined;
  /** [exit code, signal] once the process has exited, else undefined. */
  exitStatus(): [number | null, NodeJS.Signals | null] | undefined;
  /** SIGTERM (graceful: finish in-flight requests), SIGKILL after `graceMs`. Resolves with the exit status. */
  stop(graceMs?: number): Promise<[number | null, NodeJS.Signals | null]>;
}

/** VmRSS of a process in KiB (Linux), or undefined when it cannot be read. */
export function readRssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Start `gguf-embed serve --model <model> --port 0 <args>` and wait for its "listening on" line. "test:fixture" names the test model. */
export async function startChildServer(model: string, args: string[] = [], startupMs = 120_000): Promise<ChildServer> {
  const child = spawn(process.execPath, [ENTRY, "--serve", "--model", model, "--host", "127.0.0.1", "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let status: [number | null, NodeJS.Signals | null] | undefined;
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on("exit", (code, sig) => resolve((status = [code, sig]))),
  );
  // If this process exits first (an uncaught error, process.exit), take the server along; if it is
  // killed, serve-child.ts notices it was orphaned (between forward passes) and stops itself.
  const reap = () => child.kill("SIGKILL");
  process.once("exit", reap);
  child.on("exit", () => process.off("exit", reap));
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(`no "listening on" line within ${startupMs} ms`), startupMs);
    const poll = setInterval(() => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
      if (m) done(() => resolve(m[1]));
      else if (status) fail(`the server exited with ${status.join("/")} before listening`);
    }, 20);
    function done(f: () => void) {
      clearTimeout(timer);
      clearInterval(poll);
      f();
    }
    function fail(why: string) {
      child.kill("SIGKILL");
      done(() => reject(new Error(`${why}; stderr:\n${stderr}`)));
    }
  });

  return {
    url,
    port: Number(new URL(url).port),
    pid: child.pid!,
    child,
    stderr: () => stderr,
    rssKiB: () => (status ? undefined : readRssKiB(child.pid!)),
    exitStatus: () => status,
    async stop(graceMs = 30_000) {
      if (status) return status;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const s = await exited;
      clearTimeout(timer);
      return s;
    },
  };
}
