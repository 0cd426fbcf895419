/**
 * Child process for test/server/cli.test.ts. Does nothing unless the first argument is --serve (the
 * test runner may load it): then runs `gguf-embed serve` with the rest, where the model name
 * "test:fixture" resolves (through runServe's resolveModel hook) to the synthetic test model.
 */
import { runServe } from "../../src/cli/serve.js";
import { gemmaFixture } from "./fixtures.js";
import { FIXTURE } from "./server.js";

if (process.argv[2] === "--serve") {
  // Never outlive the test (or load run) that started us: once orphaned, stop. The timer can only
  // fire between forward passes, so a server busy with a huge batch goes when that pass ends.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && process.kill(process.pid, "SIGKILL"), 1000).unref();
  const resolveModel = async (m: string) => (m === "test:fixture" ? gemmaFixture(FIXTURE) : m);
  process.exitCode = await runServe(
    process.argv.slice(3),
    { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
    resolveModel,
  );
}
