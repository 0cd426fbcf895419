/**
 * `npm run bench`: the end-to-end benchmark on the synthetic full-size 24-layer Q8_0 model
 * (generated on first use), ours vs llama.cpp, same run, same threads. BENCH_THREADS overrides.
 */
import { availableParallelism } from "node:os";
import { runBench } from "../src/cli/bench.js";
import { gemmaFixture } from "../test/helpers/fixtures.js";

const path = await gemmaFixture({ nLayer: 24, weightType: "Q8_0", dense: true });
const threads = process.env.BENCH_THREADS ?? String(availableParallelism());
process.exitCode = await runBench(["--model", path, "--threads", threads, ...process.argv.slice(2)], {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});
