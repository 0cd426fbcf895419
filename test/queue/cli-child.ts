/** The real CLI (node bin/gguf-embed.js), or another command, as a child process with its output collected and awaitable. */
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Cli {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  done: Promise<Exit>;
  /** Resolves with the first match of `re` in stderr (or stdout; already there, or when it arrives); rejects on exit or timeout. */
  waitFor(re: RegExp, timeoutMs?: number, stream?: "stdout" | "stderr"): Promise<RegExpMatchArray>;
}

export function cli(args: string[], opts: { bin?: string; env?: NodeJS.ProcessEnv; command?: string } = {}): Cli {
  const [cmd, argv] = opts.command ? [opts.command, args] : [process.execPath, [opts.bin ?? join(ROOT, "bin", "gguf-embed.js"), ...args]];
  const child = spawn(cmd, argv, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: opts.env ?? process.env,
  });
  let stdout = "",
    stderr = "";
  const waiters = new Set<() => void>();
  child.stdout!.on("data", (d) => {
    stdout += d;
    for (const w of waiters) w();
  });
  child.stderr!.on("data", (d) => {
    stderr += d;
    for (const w of waiters) w();
  });
  const done = new Promise<Exit>((res) =>
    child.on("close", (code, signal) => {
      for (const w of waiters) w();
      res({ code, signal, stdout, stderr });
    }),
  );
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    done,
    waitFor(re, timeoutMs = 60_000, stream = "stderr") {
      return new Promise((res, rej) => {
        const check = () => {
          const m = (stream === "stderr" ? stderr : stdout).match(re);
          if (m) {
            waiters.delete(check);
            clearTimeout(timer);
            res(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            clearTimeout(timer);
            rej(new Error(`exited (${child.exitCode ?? child.signalCode}) before ${re}:\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          rej(new Error(`timed out waiting for ${re}:\n${stderr}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** Run to completion. */
export function run(args: string[], opts?: { bin?: string; env?: NodeJS.ProcessEnv }): Promise<Exit> {
  return cli(args, opts).done;
}
