/**
 * Child process for test/server-cli.test.ts. Does nothing unless the first argument is --serve (the
 * test runner may load it): then runs `gguf-embed serve` with the rest, where the model name
 * "test:fixture" resolves (through runServe's resolveModel hook) to the synthetic test model.
 */
import { runServe } from "../../src/cli/serve.js";
import { gemmaFixture } from "./fixtures.js";
import { FIXTURE } from "./server.js";

if (process.argv[2] === "--serve") {
  const resolveModel = async (m: string) => (m === "test:fixture" ? gemmaFixture(FIXTURE) : m);
  process.exitCode = await runServe(process.argv.slice(3), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, resolveModel);
}
