#!/usr/bin/env node
// Node 20's V8 has relaxed SIMD behind a flag (on by default from Node 22). The CLI turns it on
// before any wasm is compiled; the wasm backend still uses the relaxed kernels only after its
// start-up self-check passes (src/kernels/wasm-relaxed.ts), so vectors are the same either way.
// GGUF_EMBED_RELAXED_SIMD=0 leaves the flag alone.
import { setFlagsFromString } from "node:v8";
if (process.env.GGUF_EMBED_RELAXED_SIMD !== "0") setFlagsFromString("--experimental-wasm-relaxed-simd");
const { main } = await import("../dist/src/cli/main.js");

const code = await main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
