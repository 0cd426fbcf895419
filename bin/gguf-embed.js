#!/usr/bin/env node
// The CLI's library entry (dist/src/node.js) turns on V8's relaxed-SIMD flag on Node 20
// (src/node/relaxed-simd.ts; GGUF_EMBED_RELAXED_SIMD=0 leaves it off).
import { main } from "../dist/src/cli/main.js";

// `gguf-embed embed ... | head`: when the reader closes the pipe, exit quietly (status 0), as Unix
// tools do, instead of an EPIPE stack trace (test/cli/epipe.test.ts).
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

const code = await main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
