/**
 * Node 20's V8 has WebAssembly relaxed SIMD behind a flag (Node >= 22 has it on). Importing the
 * Node entry turns the flag on, before any kernel module is compiled, so the wasm backend can use
 * its relaxed kernels: 1.5-1.8x faster int8 matmuls and ~4x faster attention (BENCHMARKS.md). The
 * flag only enables a standard WebAssembly feature; the backend still uses the relaxed kernels
 * only after its start-up self-check shows them exact (src/kernels/wasm-relaxed.ts), so vectors
 * are the same either way. GGUF_EMBED_RELAXED_SIMD=0 leaves V8's flags alone.
 */
import { setFlagsFromString } from "node:v8";

// Node >= 22 has relaxed SIMD on and no longer knows the flag (V8 prints an error for it).
const nodeMajor = Number(process.versions.node.split(".")[0]);
if (process.env.GGUF_EMBED_RELAXED_SIMD !== "0" && nodeMajor < 22) setFlagsFromString("--experimental-wasm-relaxed-simd");
