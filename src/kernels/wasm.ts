/**
 * The WebAssembly backend: SIMD128 kernels (src/kernels/wasm/*.as, built by scripts/build-wasm.ts)
 * on one shared WebAssembly.Memory, split across worker threads (src/runtime/pool.ts).
 *
 * Memory: weights live in wasm memory (alloc() bump-allocates 64-byte-aligned views, growing the
 * memory as needed; growth never detaches a shared buffer's old views, and our own views are
 * re-created after each grow). Activations are copied in, converted to the weight's
 * vec_dot_type in wasm (bit-exact with src/quant/activation.ts), multiplied, copied out.
 * Scratch is a second bump region reused across calls and re-allocated only when a call needs
 * more (at most doubling), so the waste is bounded by the largest call.
 *
 * Exactness: every kernel reproduces src/kernels/reference.ts (block types bit for bit; float
 * types up to the f64 summation order). A weight type without a kernel, or a weight whose bytes
 * are not in this backend's memory, goes to the reference matmul: slower, never wrong.
 */
import { EmbedError } from "../errors.js";
import { quantTraits } from "../quant/index.js";
import { GGMLType, rowBytes } from "../tensor/ggml-type.js";
import { WorkerPool } from "../runtime/pool.js";
import type { Backend, Weight } from "./backend.js";
import { jsBackend } from "./js-backend.js";
import { attention as attentionRef } from "./ops.js";
import { baselineBytes, hasSharedMemory, hasWasmSimd, relaxedBytes, unshareMemoryImport } from "./wasm-module.js";
import { relaxedSelfCheck } from "./wasm-relaxed.js";

/** Activation formats (quantize.as prepareActivations/prepareFloatActivations `kind`). */
const enum Act { Q8_0 = 0, Q8_1 = 1, Q8_K = 2, F32 = 3, F16 = 4, BF16 = 5 }
const A8_BYTES = 176; // prepared bytes per 32-element activation block
const AK_BYTES = 576; // prepared bytes per 256-element activation super-block

interface KernelInfo { fn: string; act: Act; blockSize: number }
const T = GGMLType;
/** Weight types with a wasm kernel (baseline module). */
export const WASM_KERNELS: ReadonlyMap<GGMLType, KernelInfo> = new Map([
  [T.Q8_0, { fn: "matmulQ8_0", act: Act.Q8_0, blockSize: 32 }],
  [T.Q4_0, { fn: "matmulQ4_0", act: Act.Q8_0, blockSize: 32 }],
  [T.Q5_0, { fn: "matmulQ5_0", act: Act.Q8_0, blockSize: 32 }],
  [T.IQ4_NL, { fn: "matmulIQ4_NL", act: Act.Q8_0, blockSize: 32 }],
  [T.Q4_1, { fn: "matmulQ4_1", act: Act.Q8_1, blockSize: 32 }],
  [T.Q5_1, { fn: "matmulQ5_1", act: Act.Q8_1, blockSize: 32 }],
  [T.Q4_K, { fn: "matmulQ4_K", act: Act.Q8_K, blockSize: 256 }],
  [T.Q5_K, { fn: "matmulQ5_K", act: Act.Q8_K, blockSize: 256 }],
  [T.Q6_K, { fn: "matmulQ6_K", act: Act.Q8_K, blockSize: 256 }],
  [T.F32, { fn: "matmulF32", act: Act.F32, blockSize: 1 }],
  [T.F16, { fn: "matmulF16", act: Act.F16, blockSize: 1 }],
  [T.BF16, { fn: "matmulBF16", act: Act.BF16, blockSize: 1 }],
] as const);

/** Relaxed-SIMD replacements, used only when the module validates and the self-check passes. */
const RELAXED: ReadonlyMap<GGMLType, string> = new Map([[T.Q8_0, "matmulQ8_0R"], [T.Q4_0, "matmulQ4_0R"]]);

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB: wasm32's limit; the F32 24-layer model is ~1.3 GB

export interface WasmBackendOptions {
  /** worker threads including the calling thread; default: available parallelism */
  threads?: number;
  /** "auto" (default): relaxed kernels when the runtime has relaxed SIMD and the self-check passes */
  relaxedSimd?: boolean | "auto";
}

export interface WasmBackend extends Backend {
  readonly name: "wasm";
  readonly threads: number;
  /** whether relaxed-SIMD kernels are in use */
  readonly relaxedSimd: boolean;
  /** wasm functions (for tests and benchmarks): name -> export of the calling thread's instance */
  readonly exports: Record<string, (...a: number[]) => number>;
  readonly memory: WebAssembly.Memory;
  /** which kernel a matmul with this weight runs ("reference" = fallback) */
  kernelFor(w: Weight): string;
}

function defaultThreads(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  const os = (globalThis as { process?: { availableParallelism?: () => number } }).process;
  return typeof os?.availableParallelism === "function" ? os.availableParallelism() : 1;
}

async function nodeParallelism(): Promise<number | undefined> {
  if (typeof process === "undefined" || !process.versions?.node) return undefined;
  const os = await import("node:os");
  return os.availableParallelism();
}

export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
  if (!hasWasmSimd()) {
    throw new EmbedError("BAD_OPTION", "the wasm backend needs WebAssembly SIMD (SIMD128), which this runtime does not support; use backend \"js\"", { option: "backend" });
  }
  const requested = opts.threads ?? (await nodeParallelism()) ?? defaultThreads();
  if (!Number.isInteger(requested) || requested < 1) {
    throw new EmbedError("BAD_OPTION", `threads must be a positive integer, got ${String(opts.threads)}`, { option: "threads" });
  }
  const shared = hasSharedMemory();
  const threads = shared ? requested : 1;

  // Relaxed module: validates only where relaxed SIMD exists (Node 20 needs --experimental-wasm-relaxed-simd).
  let bytes = baselineBytes();
  let relaxed = false;
  if (opts.relaxedSimd !== false) {
    const rb = shared ? relaxedBytes() : unshareMemoryImport(relaxedBytes());
    if (WebAssembly.validate(rb) && relaxedSelfCheck(new WebAssembly.Module(rb), shared)) {
      bytes = relaxedBytes();
      relaxed = true;
    } else if (opts.relaxedSimd === true) {
      throw new EmbedError("BAD_OPTION", "relaxedSimd: true, but this runtime's relaxed SIMD is missing or failed the exactness self-check", { option: "relaxedSimd" });
    }
  }
  if (!shared) bytes = unshareMemoryImport(bytes);
  const module = new WebAssembly.Module(bytes);
  const memory = new WebAssembly.Memory({ initial: 32, maximum: MAX_PAGES, ...(shared ? { shared: true } : {}) } as WebAssembly.MemoryDescriptor);
  const names = WebAssembly.Module.exports(module).filter((e) => e.kind === "function").map((e) => e.name);
  const pool = await WorkerPool.create({ memory, module, names, nThreads: threads });
  const fnIndex = new Map(names.map((n, i) => [n, i]));
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  const exports = inst.exports as unknown as Record<string, (...a: number[]) => number>;
  return new WasmBackendImpl(memory, pool, fnIndex, exports, relaxed);
}

class WasmBackendImpl implements WasmBackend {
  readonly name = "wasm" as const;
  readonly threads: number;
  private top: number;
  private buffers = new Set<ArrayBufferLike>();
  private f32: Float32Array;
  private scratchPtr = 0;
  private scratchBytes = 0;
  private closed = false;

  constructor(readonly memory: WebAssembly.Memory, private readonly pool: WorkerPool, private readonly fnIndex: Map<string, number>,
    readonly exports: Record<string, (...a: number[]) => number>, readonly relaxedSimd: boolean) {
    this.threads = pool.nThreads;
    this.top = Math.max(PAGE, align(exports.heapBase!() >>> 0, 64));
    this.f32 = new Float32Array(memory.buffer);
    this.buffers.add(memory.buffer);
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) {
        throw new EmbedError("BAD_OPTION", `wasm memory limit: ${end} bytes requested, WebAssembly memory is limited to 4 GiB`, { nBytes: end });
      }
      this.memory.grow(pages);
      this.f32 = new Float32Array(this.memory.buffer); // views over the grown buffer
      this.buffers.add(this.memory.buffer);
    }
  }

  private bump(nBytes: number): number {
    const p = align(this.top, 64);
    this.ensure(p + nBytes);
    this.top = p + nBytes;
    return p;
  }

  alloc(nBytes: number): Uint8Array {
    this.checkOpen();
    const p = this.bump(nBytes);
    return new Uint8Array(this.memory.buffer, p, nBytes);
  }

  /** Scratch of at least nBytes, reused across calls (grows by doubling). */
  private scratch(nBytes: number): number {
    if (nBytes > this.scratchBytes) {
      this.scratchBytes = Math.max(nBytes, 2 * this.scratchBytes);
      this.scratchPtr = this.bump(this.scratchBytes);
    }
    return this.scratchPtr;
  }

  /** Byte offset of w.data in wasm memory, or -1 if the bytes live elsewhere. */
  private weightPtr(w: Weight): number {
    return this.buffers.has(w.data.buffer) ? w.data.byteOffset : -1;
  }

  kernelFor(w: Weight): string {
    const k = WASM_KERNELS.get(w.type);
    if (!k || this.weightPtr(w) < 0 || w.ne0 % k.blockSize !== 0) return "reference";
    return (this.relaxedSimd && RELAXED.get(w.type)) || k.fn;
  }

  matmul(w: Weight, x: Float32Array, nTokens: number, out: Float32Array): void {
    this.checkOpen();
    const kname = this.kernelFor(w);
    if (kname === "reference") return jsBackend.matmul(w, x, nTokens, out);
    const k = WASM_KERNELS.get(w.type)!;
    const { ne0, ne1 } = w;
    const wRowBytes = rowBytes(w.type, ne0);
    if (w.data.length < wRowBytes * ne1) {
      throw new EmbedError("TENSOR_SHAPE", `tensor "${w.name}": ${ne1} rows of ${wRowBytes} bytes exceed its ${w.data.length}-byte buffer`, { tensor: w.name, ne0, ne1 });
    }
    if (x.length < nTokens * ne0 || out.length < nTokens * ne1) {
      throw new EmbedError("TENSOR_SHAPE", `matmul "${w.name}": need x >= ${nTokens}x${ne0} and out >= ${nTokens}x${ne1}, got ${x.length} and ${out.length}`, {
        tensor: w.name, ne0, ne1, nTokens, xLength: x.length, outLength: out.length,
      });
    }
    if (nTokens === 0 || ne1 === 0) return;
    const isFloat = k.act >= Act.F32;
    const aStride = isFloat ? 4 * ne0 : k.act === Act.Q8_K ? (ne0 / 256) * AK_BYTES : (ne0 / 32) * A8_BYTES;
    const blkBytes = isFloat ? 0 : align(rowBytes(quantTraits(w.type).vecDotType, ne0), 64);
    const xBytes = align(4 * nTokens * ne0, 64), aBytes = align(aStride * nTokens, 64), oBytes = 4 * nTokens * ne1;
    const base = this.scratch(xBytes + blkBytes + aBytes + oBytes);
    const xp = base, blk = xp + xBytes, ap = blk + blkBytes, op = ap + aBytes;
    const wp = this.weightPtr(w);
    this.f32.set(x.subarray(0, nTokens * ne0), xp >>> 2);
    const ex = this.exports;
    let fn = kname;
    if (isFloat) ex.prepareFloatActivations!(xp, nTokens * ne0, k.act, ap);
    else if (ex.prepareActivations!(xp, nTokens, ne0, k.act, blk, ap, aStride) !== 0) fn = k.fn; // a -128 quant: relaxed split not exact
    const nb = isFloat ? ne0 : ne0 / k.blockSize;
    this.pool.run(this.fnIndex.get(fn)!, [wp, wRowBytes, 0, ne1, ap, aStride, nTokens, op, ne1, nb], 2, 3, 2);
    out.set(this.f32.subarray(op >>> 2, (op >>> 2) + nTokens * ne1));
  }

  getRow(w: Weight, row: number, dst: Float32Array): void {
    jsBackend.getRow(w, row, dst);
  }

  attention(q: Float32Array, k: Float32Array, v: Float32Array, o: Float32Array, T: number, nHead: number, nHeadKv: number, hd: number, window: number): void {
    this.checkOpen();
    attentionRef(q, k, v, o, T, nHead, nHeadKv, hd, window);
  }

  private checkOpen(): void {
    if (this.closed) throw new EmbedError("MODEL_CLOSED", "the wasm backend was closed", {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close();
  }
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
