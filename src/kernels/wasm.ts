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
 * Exactness: every kernel reproduces src/kernels/reference.ts bit for bit: integer sums in exact
 * SIMD, every f32 step in the reference's order (wasm-plan.ts picks the kernel of the order the
 * reference uses for the weight's type, shape and token count; f32 FMAs are emulated exactly in
 * f64 lanes, wasm/fma.as, or on the relaxed module one fused relaxed_madd after its self-check). A weight/shape without a kernel, or a weight whose bytes are not in
 * this backend's memory, goes to the reference matmul: slower, never different. attention() is
 * ops.ts attention bit for bit (wasm/attention.as, wasm/softmax.as), query rows split across
 * the threads; ops.ts stays the oracle (test/wasm-attention.test.ts). attentionKvF16() is
 * attn-kv-f16.ts bit for bit on every profile (wasm/attention-f16.as; test/kernels/wasm-attn-kv-f16.test.ts).
 */
import { EmbedError } from "../errors.js";
import { geluFp16Table } from "./ops.js";
import { rowBytes } from "../tensor/ggml-type.js";
import { nodePlatform } from "../runtime/platform.js";
import { WorkerPool } from "../runtime/pool.js";
import type { Backend, Weight } from "./backend.js";
import { vecDotTypeOf } from "./cpu-traits.js";
import { createJsBackend } from "./js-backend.js";
import type { Numerics } from "./numerics.js";
import { baselineBytes, hasSharedMemory, hasWasmSimd, relaxedBytes, unshareMemoryImport } from "./wasm-module.js";
import { matmulRuns } from "./matmul-path.js";
import { Act, PANEL_BLOCK_BYTES, planMatmul } from "./wasm-plan.js";
import { KERNELS, matmulKernel, positional, type Kernel, type KernelArgs, type KernelFamily } from "./wasm-calls.js";
import { relaxedSelfCheck } from "./wasm-relaxed.js";
import { usdotSelfCheck } from "./wasm-usdot.js";

/**
 * Relaxed-SIMD replacements, used only when the module validates and the self-check passes
 * (wasm/relaxed-kernels.as): the chain and lanes kernels' per-block FMA as one fused relaxed_madd
 * (relaxed-kernels.as, relaxed-lanes.as), and for chain Q4_0 also the relaxed int8 dot (weight
 * nibbles are 7-bit). The lanes kernels' 1×4 tiles take the chain kernels' arguments.
 */
const RELAXED: ReadonlyMap<string, string> = new Map([
  ["chainQ8_0", "chainQ8_0P"], // wasm/relaxed-panel.as: 8-row panels from 6 tokens, else the *M 1 × 4 tiles
  ["chainQ4_0", "chainQ4_0R"],
  ["chainIQ4_NL", "chainIQ4_NLP"],
  ["chainQ4_1", "chainQ4_1P"],
  ["lanesQ8_0", "lanesQ8_0M"],
  ["lanesQ4_0", "lanesQ4_0M"],
  ["lanesIQ4_NL", "lanesIQ4_NLM"],
  ["lanesQ4_1", "lanesQ4_1M"],
  ["lanesQ5_0", "lanesQ5_0M"],
  ["lanesQ5_1", "lanesQ5_1M"],
  ...[
    "lanesQ2_K",
    "lanesQ3_K",
    "lanesQ4_K",
    "lanesQ5_K",
    "lanesQ6_K",
    "lanesIQ4_XS",
    "repackQ4_K",
    "repackQ4_KV",
    "repackQ2_K",
    "repackQ2_KV",
    "chainQ4_K",
    "chainQ5_K",
    "chainQ6_K",
    "chainIQ4_XS",
  ].map((k): [string, string] => [k, `${k}M`]), // wasm/relaxed-k.as
]);

/** The relaxed kernels that widen 8 weight rows into per-thread scratch (PANEL_BLOCK_BYTES per block). */
const PANEL_KERNELS: ReadonlySet<string> = new Set(["chainQ8_0P", "chainIQ4_NLP", "chainQ4_1P"]);

/** USDot replacements (wasm/usdot.as), used only when its probe passes (wasm-usdot.ts). */
const USDOT: ReadonlyMap<string, string> = new Map([
  ["lanesQ8_0", "lanesQ8_0U"],
  ["chainQ8_0", "chainQ8_0U"],
]);

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB: wasm32's limit; the F32 24-layer model is ~1.3 GB

export interface WasmBackendOptions {
  /** the llama.cpp CPU variant family to reproduce (numerics.ts) */
  numerics: Numerics;
  /** worker threads including the calling thread; default: available parallelism */
  threads?: number;
  /** "auto" (default): relaxed kernels when the runtime has relaxed SIMD and the self-check passes */
  relaxedSimd?: boolean | "auto";
  /** "auto" (default): the relaxed USDot kernels where their start-up probe passes; false: never */
  usdot?: boolean | "auto";
}

export interface WasmBackend extends Backend {
  readonly name: "wasm";
  readonly threads: number;
  /** whether relaxed-SIMD kernels are in use */
  readonly relaxedSimd: boolean;
  /** whether the relaxed unsigned × signed dot kernels are in use (implies relaxedSimd) */
  readonly usdot: boolean;
  /** wasm functions (for tests and benchmarks): name -> export of the calling thread's instance */
  readonly exports: Record<string, (...a: number[]) => number>;
  readonly memory: WebAssembly.Memory;
  /** which kernel a matmul with this weight over nTokens tokens runs ("reference" = fallback) */
  kernelFor(w: Weight, nTokens?: number): string;
  /** which kernel attention runs: "attnRows", "attnRowsR", or "reference" where the profile has none */
  readonly attentionKernel: string;
  /** ops this backend runs in the TypeScript reference in its numerics profile (no wasm kernel for that order), by EmbeddingGraph.ops name */
  readonly referenceOnly: ReadonlySet<string>;
}

function defaultThreads(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  const os = (globalThis as { process?: { availableParallelism?: () => number } }).process;
  return typeof os?.availableParallelism === "function" ? os.availableParallelism() : 1;
}

async function nodeParallelism(): Promise<number | undefined> {
  return (await nodePlatform())?.parallelism(); // injected: no node:* import here (runtime/platform.ts)
}

export async function createWasmBackend(opts: WasmBackendOptions): Promise<WasmBackend> {
  if (!hasWasmSimd()) {
    throw new EmbedError(
      "BAD_OPTION",
      'the wasm backend needs WebAssembly SIMD (SIMD128), which this runtime does not support; use backend "js"',
      { option: "backend" },
    );
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
      throw new EmbedError(
        "BAD_OPTION",
        "relaxedSimd: true, but this runtime's relaxed SIMD is missing or failed the exactness self-check",
        { option: "relaxedSimd" },
      );
    }
  }
  if (!shared) bytes = unshareMemoryImport(bytes);
  const module = new WebAssembly.Module(bytes);
  let usdot = false;
  if (relaxed && opts.usdot !== false) {
    usdot = await usdotSelfCheck(module, shared);
    if (!usdot && opts.usdot === true)
      throw new EmbedError("BAD_OPTION", "usdot: true, but this runtime's relaxed unsigned × signed dot is missing or inexact", {
        option: "usdot",
      });
  }
  const memory = new WebAssembly.Memory({
    initial: 32,
    maximum: MAX_PAGES,
    ...(shared ? { shared: true } : {}),
  } as WebAssembly.MemoryDescriptor);
  const names = WebAssembly.Module.exports(module)
    .filter((e) => e.kind === "function")
    .map((e) => e.name);
  const pool = await WorkerPool.create({ memory, module, names, nThreads: threads });
  const fnIndex = new Map(names.map((n, i) => [n, i]));
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  const exports = inst.exports as unknown as Record<string, (...a: number[]) => number>;
  return new WasmBackendImpl(opts.numerics, memory, pool, fnIndex, exports, relaxed, usdot);
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

  /** the reference for what has no kernel in this profile */
  private readonly js: Backend;
  readonly attentionKernel: string;
  readonly referenceOnly: ReadonlySet<string>;

  constructor(
    readonly numerics: Numerics,
    readonly memory: WebAssembly.Memory,
    private readonly pool: WorkerPool,
    private readonly fnIndex: Map<string, number>,
    readonly exports: Record<string, (...a: number[]) => number>,
    readonly relaxedSimd: boolean,
    readonly usdot: boolean,
  ) {
    this.threads = pool.nThreads;
    this.js = createJsBackend(numerics);
    // wasm/attention*.as implement the 16-lane (AVX-512) f32 orders only
    this.attentionKernel = numerics.lanes !== 16 ? "reference" : relaxedSimd ? "attnRowsR" : "attnRows";
    // wasm/norm.as: LayerNorm for the 16- and 8-lane orders, SwiGLU for the 16-lane one (its 8-lane exp differs)
    this.referenceOnly = new Set([
      ...(numerics.lanes !== 16 ? ["swiglu"] : []),
      ...(numerics.lanes !== 16 && numerics.lanes !== 8 ? ["norm"] : []),
    ]);
    this.top = Math.max(PAGE, align(exports.heapBase!() >>> 0, 64));
    this.f32 = new Float32Array(memory.buffer);
    this.buffers.add(memory.buffer);
  }

  /**
   * memory.buffer, remembered: V8 may hand out a new SharedArrayBuffer object for the same shared
   * memory without any grow of ours (seen when other shared memories in the process grew), so
   * every buffer object a view was made on is kept to recognise our memory (ptrOf).
   */
  private buf(): ArrayBufferLike {
    const b = this.memory.buffer;
    if (!this.buffers.has(b)) {
      this.buffers.add(b);
      if (this.f32.buffer.byteLength !== b.byteLength) this.f32 = new Float32Array(b);
    }
    return b;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) {
        throw new EmbedError("BAD_OPTION", `wasm memory limit: ${end} bytes requested, WebAssembly memory is limited to 4 GiB`, {
          nBytes: end,
        });
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
    return new Uint8Array(this.buf(), p, nBytes);
  }

  /** Scratch of at least nBytes, reused across calls (grows by doubling). */
  private scratch(nBytes: number): number {
    if (nBytes > this.scratchBytes) {
      this.scratchBytes = Math.max(nBytes, 2 * this.scratchBytes);
      this.scratchPtr = this.bump(this.scratchBytes);
    }
    return this.scratchPtr;
  }

  /**
   * Pointers for f32 operands [view, first float, float count, copyIn]: a view already in wasm
   * memory (the forward pass's activations) is used in place; any other gets a slot in the scratch
   * region, filled from the view when `copyIn` (inputs). `extra` more scratch bytes follow the
   * slots, at `rest`. Outputs that got a slot go back with unstage(). Plain loops: this runs a few
   * hundred times per forward pass.
   */
  private stage(
    views: ReadonlyArray<readonly [view: Float32Array, off: number, nFloats: number, copyIn: boolean]>,
    extra: number,
  ): { ptr: number[]; rest: number } {
    const ptr: number[] = [];
    let bytes = extra;
    for (const [v, off, n] of views) {
      const p = this.ptrOf(v);
      ptr.push(p < 0 ? -1 : p + 4 * off);
      if (p < 0) bytes += align(4 * n, 64);
    }
    let at = this.scratch(bytes);
    for (let i = 0; i < views.length; i++) {
      if (ptr[i]! >= 0) continue;
      const [v, off, n, copyIn] = views[i]!;
      ptr[i] = at;
      if (copyIn) this.f32.set(v.subarray(off, off + n), at >>> 2);
      at += align(4 * n, 64);
    }
    return { ptr, rest: at };
  }

  /** stage() of attention's operands: q (nQT floats, in), o (nQT, out), k, v (nKVT, in), then `extra` bytes. */
  private stageQkvo(q: Float32Array, k: Float32Array, v: Float32Array, o: Float32Array, nQT: number, nKVT: number, extra: number) {
    return this.stage(
      [
        [q, 0, nQT, true],
        [o, 0, nQT, false],
        [k, 0, nKVT, true],
        [v, 0, nKVT, true],
      ],
      extra,
    );
  }

  /** Copy an output back from the slot stage() gave it (nothing to do for a view in wasm memory). */
  private unstage(view: Float32Array, off: number, ptr: number, nFloats: number): void {
    if (this.ptrOf(view) < 0) view.set(this.f32.subarray(ptr >>> 2, (ptr >>> 2) + nFloats), off);
  }

  /** Byte offset of w.data in wasm memory, or -1 if the bytes live elsewhere. */
  private weightPtr(w: Weight): number {
    return this.ptrOf(w.data);
  }

  /** Byte offset of a view's data in wasm memory, or -1 if it lives elsewhere (then it is copied in / out). */
  private ptrOf(a: ArrayBufferView): number {
    return this.buffers.has(a.buffer) || a.buffer === this.buf() ? a.byteOffset : -1;
  }

  private arenaPtr = 0;
  private arenaBytes = 0;

  /**
   * The forward pass's activation buffers, in wasm memory: kernels read and write them in place
   * (no copies in or out). One region, reused by the next call (grown by doubling).
   */
  activations(nFloats: number): Float32Array {
    this.checkOpen();
    const bytes = align(4 * nFloats, 64);
    if (bytes > this.arenaBytes) {
      this.arenaBytes = Math.max(bytes, 2 * this.arenaBytes);
      this.arenaPtr = this.bump(this.arenaBytes);
    }
    return new Float32Array(this.buf(), this.arenaPtr, nFloats);
  }

  kernelFor(w: Weight, nTokens = 2): string {
    const plan = this.weightPtr(w) < 0 ? null : planMatmul(this.numerics, w.type, w.ne0, w.ne1, nTokens);
    return !plan ? "reference" : this.kernelOf(plan.tailFn && nTokens < 4 ? plan.tailFn : plan.fn);
  }

  /** The kernel running a plan's kernel fn: its relaxed-SIMD replacement where this backend has one. */
  private kernelOf(fn: string): string {
    return (this.usdot && USDOT.get(fn)) || (this.relaxedSimd && RELAXED.get(fn)) || fn;
  }

  matmul(w: Weight, x: Float32Array, nTokens: number, out: Float32Array, seqLen?: readonly number[]): void {
    this.checkOpen();
    const { ne0, ne1 } = w;
    if (x.length < nTokens * ne0 || out.length < nTokens * ne1) {
      throw new EmbedError(
        "TENSOR_SHAPE",
        `matmul "${w.name}": need x >= ${nTokens}x${ne0} and out >= ${nTokens}x${ne1}, got ${x.length} and ${out.length}`,
        {
          tensor: w.name,
          ne0,
          ne1,
          nTokens,
          xLength: x.length,
          outLength: out.length,
        },
      );
    }
    for (const [t0, n] of matmulRuns(this.numerics, w.type, ne0, ne1, nTokens, seqLen)) {
      this.matmulRun(w, x.subarray(t0 * ne0, (t0 + n) * ne0), n, out.subarray(t0 * ne1, (t0 + n) * ne1));
    }
  }

  /** One call whose rows all take the order of an nTokens-row matmul (matmulRuns). */
  private matmulRun(w: Weight, x: Float32Array, nTokens: number, out: Float32Array): void {
    const plan = this.weightPtr(w) < 0 ? null : planMatmul(this.numerics, w.type, w.ne0, w.ne1, nTokens);
    if (!plan) return this.js.matmul(w, x, nTokens, out);
    const { ne0, ne1 } = w;
    const wRowBytes = rowBytes(w.type, ne0);
    if (w.data.length < wRowBytes * ne1) {
      throw new EmbedError(
        "TENSOR_SHAPE",
        `tensor "${w.name}": ${ne1} rows of ${wRowBytes} bytes exceed its ${w.data.length}-byte buffer`,
        { tensor: w.name, ne0, ne1 },
      );
    }
    if (nTokens === 0 || ne1 === 0) return;
    const aStride = plan.aStride;
    // per thread: the activation block scratch, then the kernel's row scratch (the A8 kernels' widened row: wasm/lanes.as)
    const panel = PANEL_KERNELS.has(this.kernelOf(plan.fn)) ? PANEL_BLOCK_BYTES * plan.nb : 0; // the widened 8-row panel
    const blkBytes =
      plan.act >= Act.F64 ? 0 : align(Math.max(rowBytes(vecDotTypeOf(w.type), ne0), plan.act <= Act.Q8_1 ? 72 * plan.nb : 0, panel), 64);
    // A8 chain kernels: activation scale table of tP columns (quantize.as)
    const tP = align(nTokens, 4),
      sdBytes = plan.act <= Act.Q8_1 ? align(8 * (ne0 / 32) * tP, 64) : 0;
    const aBytes = align(aStride * nTokens, 64);
    const {
      ptr: [xp, op],
      rest: blk,
    } = this.stage(
      [
        [x, 0, nTokens * ne0, true],
        [out, 0, nTokens * ne1, false],
      ],
      this.threads * blkBytes + aBytes + sdBytes,
    );
    const ap = blk + this.threads * blkBytes,
      sd = ap + aBytes;
    const wp = this.weightPtr(w);
    // x (nTokens, ne0) f32 -> prepared rows (nTokens, aStride bytes) at ap; under 16 rows on this
    // thread alone: the pool's dispatch costs more than the half it would take (10-token query 0.95x)
    this.run(
      KERNELS.prepareRows,
      { x: xp!, t0: 0, t1: nTokens, n: ne0, kind: plan.act, blk, blkStride: blkBytes, dst: ap, dstStride: aStride, sd, tP },
      nTokens < 16 || this.threads === 1,
    );
    // W (ne1, ne0) @ prepared x -> out (nTokens, ne1); blk (per-thread activation scratch, free by now) doubles as the row-scale scratch
    const call = {
      w: wp,
      wStride: wRowBytes,
      r0: 0,
      r1: ne1,
      a: ap,
      aStride,
      nTok: nTokens,
      out: op!,
      ne1,
      nb: plan.nb,
      sd,
      tP,
      scr: blk,
      scrStride: blkBytes,
    };
    const gemm = plan.tailFn ? nTokens - (nTokens % 4) : nTokens; // repack: gemm rows, then the gemv's
    if (gemm > 0) this.run(matmulKernel(this.kernelOf(plan.fn)), { ...call, nTok: gemm });
    if (gemm < nTokens) {
      this.run(matmulKernel(this.kernelOf(plan.tailFn!)), {
        ...call,
        a: ap + gemm * aStride,
        nTok: nTokens - gemm,
        out: op! + 4 * gemm * ne1,
      });
    }
    this.unstage(out, 0, op!, nTokens * ne1);
  }

  getRow(w: Weight, row: number, dst: Float32Array): void {
    this.js.getRow(w, row, dst);
  }

  /** ops.ts attention, bit for bit (wasm/attention.as; attention-relaxed.as on the relaxed module), query rows split across threads. */
  attention(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    o: Float32Array,
    T: number,
    nHead: number,
    nHeadKv: number,
    hd: number,
    window: number,
    kqScale = 1,
  ): void {
    this.checkOpen();
    if (this.attentionKernel === "reference") return this.js.attention(q, k, v, o, T, nHead, nHeadKv, hd, window, kqScale);
    const nQ = nHead * hd,
      nKV = nHeadKv * hd;
    if (T <= 0 || nQ === 0) return;
    if (
      !Number.isInteger(nHead / nHeadKv) ||
      q.length < T * nQ ||
      o.length < T * nQ ||
      k.length < T * nKV ||
      v.length < T * nKV ||
      !(window >= 0)
    ) {
      throw new EmbedError("TENSOR_SHAPE", `attention: bad shapes (T ${T}, heads ${nHead}/${nHeadKv}, hd ${hd}, window ${window})`, {
        T,
        nHead,
        nHeadKv,
        hd,
      });
    }
    const win = window >= T ? T : Math.floor(window);
    const scaleBits = new Int32Array(Float32Array.of(kqScale).buffer)[0]!; // soft_max_ext's scale as f32 bits
    const k64Bytes = align(8 * T * nKV, 64);
    // k64 | vt64 (f64; relaxed: vt (nKV, T) f32 at k64) | kt (nKV, Tp) f32 for hd < 64 (attention-lanes.as)
    const Tp = (T + 7) & ~7,
      ktBytes = align(4 * Tp * nKV, 64);
    const stride = align(8 * hd + 12 * T + 16 + 1024 + 16 + 32, 64); // attention.as attnRows scratch, kq of Tp (>= attnRowsR's 8·Tp + 528)
    const {
      ptr: [qp, op, kp, vp],
      rest: k64,
    } = this.stageQkvo(q, k, v, o, T * nQ, T * nKV, 2 * k64Bytes + ktBytes + this.threads * stride);
    const vt64 = k64 + k64Bytes,
      kt = vt64 + k64Bytes,
      sp = kt + ktBytes;
    const rows = {
      q: qp!,
      o: op!,
      r0: 0,
      r1: nHead * T,
      T,
      nHead,
      nHeadKv,
      hd,
      window: win,
      scaleBits,
      scr: sp,
      scrStride: stride,
      v: vp!,
      kt,
      Tp,
    };
    if (this.relaxedSimd) {
      // fused relaxed_madd on f32 data (wasm/attention-relaxed.as); vt in the k64 area
      this.run(KERNELS.attnPrepR, { k: kp!, v: vp!, vt: k64, kt, j0: 0, j1: T, T, Tp, nHeadKv, hd });
      this.run(KERNELS.attnRowsR, { ...rows, k: kp!, vt: k64 });
    } else {
      this.run(KERNELS.attnPrep, { k: kp!, v: vp!, k64, vt64, j0: 0, j1: T, T, nHeadKv, hd, kt, Tp });
      this.run(KERNELS.attnRows, { ...rows, k: k64, vt: vt64 });
    }
    this.unstage(o, 0, op!, T * nQ);
  }

  /**
   * attn-kv-f16.ts attentionKvF16, bit for bit, every profile (wasm/attention-f16.as): the f16 cache
   * cells prepared once, then the (head, query pair) items split across the threads.
   */
  attentionKvF16(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    o: Float32Array,
    T: number,
    nHead: number,
    nHeadKv: number,
    hd: number,
    kqScale: number,
  ): void {
    this.checkOpen();
    const nQ = nHead * hd,
      nKV = nHeadKv * hd;
    if (T <= 0 || nQ === 0) return;
    if (!Number.isInteger(nHead / nHeadKv) || q.length < T * nQ || o.length < T * nQ || k.length < T * nKV || v.length < T * nKV) {
      throw new EmbedError("TENSOR_SHAPE", `attentionKvF16: bad shapes (T ${T}, heads ${nHead}/${nHeadKv}, hd ${hd})`, {
        T,
        nHead,
        nHeadKv,
        hd,
      });
    }
    const Tp = Math.ceil(T / 16) * 16; // longest padded row: pad16(T) <= the cache's row (attn-kv-f16.ts kvRowLength)
    const scale = new Int32Array(Float64Array.of(kqScale).buffer); // the f64 scale as two i32 halves (little-endian)
    const kcBytes = align(4 * T * nKV, 64),
      vtBytes = align(4 * nKV * Tp, 64);
    const stride = align(2 * align(4 * hd, 16) + 8 * Tp + 256 + 512, 64); // attention-f16.as attnF16Rows scratch
    const {
      ptr: [qp, op, kp, vp],
      rest: kc,
    } = this.stageQkvo(q, k, v, o, T * nQ, T * nKV, kcBytes + vtBytes + this.threads * stride);
    const vt = kc + kcBytes,
      scr = vt + vtBytes;
    this.run(KERNELS.attnF16Prep, { k: kp!, v: vp!, kc, vt, j0: 0, j1: Tp, T, Tp, nHeadKv, hd });
    this.run(KERNELS.attnF16Rows, {
      q: qp!,
      kc,
      vt,
      o: op!,
      r0: 0,
      r1: nHead * Math.ceil(T / 2), // items: (head, query pair)
      T,
      Tp,
      nHead,
      nHeadKv,
      hd,
      kn: this.numerics.lanes,
      scaleLo: scale[0]!,
      scaleHi: scale[1]!,
      scr,
      scrStride: stride,
    });
    this.unstage(o, 0, op!, T * nQ);
  }

  /** ops.ts rmsNormRows bit for bit (wasm/norm.as), rows split across the threads. */
  rmsNormRows(
    x: Float32Array,
    xOff: number,
    out: Float32Array,
    outOff: number,
    n: number,
    rows: number,
    g: Float32Array,
    eps: number,
  ): void {
    this.checkOpen();
    if (rows <= 0 || n <= 0) return;
    if (g.length < n || x.length < xOff + rows * n || out.length < outOff + rows * n) {
      throw new EmbedError(
        "TENSOR_SHAPE",
        `rmsNorm: ${rows} rows of ${n} exceed the buffers (x ${x.length}, out ${out.length}, weight ${g.length})`,
        { n, rows },
      );
    }
    const [xp, dp, ep, gp] = this.stageNorm(x, xOff, out, outOff, rows * n, eps, g, n);
    this.run(KERNELS.normRows, { x: xp!, out: dp!, g: gp!, n, epsAt: ep, r0: 0, r1: rows }, rows < 8 || this.threads === 1);
    this.unstage(out, outOff, dp!, rows * n);
  }

  private geluTable = -1;

  /** layer-norm.ts normRows bit for bit (wasm/norm.as layerNormRows), rows split across the threads; the reference where the profile's lanes are neither 16 nor 8. */
  normRows(x: Float32Array, xOff: number, out: Float32Array, outOff: number, n: number, rows: number, eps: number): void {
    this.checkOpen();
    if (this.referenceOnly.has("norm")) return this.js.normRows(x, xOff, out, outOff, n, rows, eps);
    if (rows <= 0 || n <= 0) return;
    if (x.length < xOff + rows * n || out.length < outOff + rows * n) {
      throw new EmbedError("TENSOR_SHAPE", `norm: ${rows} rows of ${n} exceed the buffers (x ${x.length}, out ${out.length})`, { n, rows });
    }
    const [xp, dp, ep] = this.stageNorm(x, xOff, out, outOff, rows * n, eps);
    const args = { x: xp!, out: dp!, n, lanes: this.numerics.lanes, epsAt: ep, r0: 0, r1: rows };
    this.run(KERNELS.layerNormRows, args, rows < 8 || this.threads === 1);
    this.unstage(out, outOff, dp!, rows * n);
  }

  /** ops.ts gelu bit for bit (wasm/norm.as geluRange), elements split across the threads. */
  gelu(x: Float32Array, out: Float32Array, n: number): void {
    this.checkOpen();
    if (n <= 0) return;
    if (x.length < n || out.length < n) {
      throw new EmbedError("TENSOR_SHAPE", `gelu: ${n} elements exceed the buffers (x ${x.length}, out ${out.length})`, { n });
    }
    const table = this.geluTableAt();
    const {
      ptr: [xp, dp],
    } = this.stage(
      [
        [x, 0, n, true],
        [out, 0, n, false],
      ],
      0,
    );
    this.run(KERNELS.geluRange, { x: xp!, out: dp!, table, i0: 0, i1: n }, n < 4096 || this.threads === 1);
    this.unstage(out, 0, dp!, n);
  }

  /**
   * silu.ts swiglu bit for bit (wasm/norm.as swigluRows; its v_expf is softmax.as vexp4), rows split
   * across the threads; the reference on the 8-lane profiles.
   */
  swiglu(gate: Float32Array, up: Float32Array, out: Float32Array, rows: number, nc: number): void {
    this.checkOpen();
    if (this.referenceOnly.has("swiglu")) return this.js.swiglu(gate, up, out, rows, nc);
    const n = rows * nc;
    if (rows <= 0 || nc <= 0) return;
    if (gate.length < n || up.length < n || out.length < n) {
      throw new EmbedError(
        "TENSOR_SHAPE",
        `swiglu: ${rows} rows of ${nc} exceed the buffers (gate ${gate.length}, up ${up.length}, out ${out.length})`,
        { rows, nc },
      );
    }
    const [gp, up_, dp] = this.stageGlu(gate, up, out, n);
    this.run(KERNELS.swigluRows, { gate: gp!, up: up_!, out: dp!, nc, r0: 0, r1: rows }, n < 4096 || rows < 2 || this.threads === 1);
    this.unstage(out, 0, dp!, n);
  }

  /** ops.ts mulAddRows bit for bit (wasm/norm.as mulAddRows), rows split across the threads. */
  mulAddRows(x: Float32Array, rows: number, n: number, w?: Float32Array, b?: Float32Array, res?: Float32Array): void {
    this.checkOpen();
    if (rows <= 0 || n <= 0 || !(w || b || res)) return;
    const count = rows * n;
    if (x.length < count || (w && w.length < n) || (b && b.length < n) || (res && res.length < count)) {
      throw new EmbedError("TENSOR_SHAPE", `mulAddRows: ${rows} rows of ${n} exceed the buffers`, { rows, n });
    }
    const none = new Float32Array(0);
    const {
      ptr: [xp, wp, bp, rp],
    } = this.stage(
      [
        [x, 0, count, true],
        [w ?? none, 0, w ? n : 0, true],
        [b ?? none, 0, b ? n : 0, true],
        [res ?? none, 0, res ? count : 0, true],
      ],
      0,
    );
    const flags = (w ? 1 : 0) | (b ? 2 : 0) | (res ? 4 : 0);
    this.run(
      KERNELS.mulAddRows,
      { x: xp!, w: wp!, b: bp!, res: rp!, flags, n, r0: 0, r1: rows },
      count < 8192 || rows < 2 || this.threads === 1,
    );
    this.unstage(x, 0, xp!, count);
  }

  /**
   * stage() of a norm: x and out (nFloats from their offsets), the weight g (its first gFloats) if
   * any, then eps as an f64 in wasm memory (the pool passes i32 arguments only). Returns [x, out,
   * eps, g] byte offsets.
   */
  private stageNorm(
    x: Float32Array,
    xOff: number,
    out: Float32Array,
    outOff: number,
    nFloats: number,
    eps: number,
    g?: Float32Array,
    gFloats = 0,
  ): number[] {
    const views: Array<[Float32Array, number, number, boolean]> = [
      [x, xOff, nFloats, true],
      [out, outOff, nFloats, false],
    ];
    if (g) views.push([g, 0, gFloats, true]);
    const { ptr, rest: ep } = this.stage(views, 8);
    new Float64Array(this.memory.buffer, ep, 1)[0] = eps;
    return [ptr[0]!, ptr[1]!, ep, ptr[2] ?? -1];
  }

  /** stage() of a gated unit: gate and up in, out (n floats each). Returns their byte offsets. */
  private stageGlu(gate: Float32Array, up: Float32Array, out: Float32Array, n: number): number[] {
    return this.stage(
      [
        [gate, 0, n, true],
        [up, 0, n, true],
        [out, 0, n, false],
      ],
      0,
    ).ptr;
  }

  /** ops.ts's GELU table, copied once into wasm memory (256 KiB): its byte offset. */
  private geluTableAt(): number {
    if (this.geluTable < 0) {
      this.geluTable = this.bump(4 * 65536);
      this.f32.set(geluFp16Table(), this.geluTable >>> 2);
    }
    return this.geluTable;
  }

  /** ops.ts geglu bit for bit (wasm/norm.as), elements split across the threads. */
  geglu(gate: Float32Array, up: Float32Array, out: Float32Array, n: number): void {
    this.checkOpen();
    if (n <= 0) return;
    if (gate.length < n || up.length < n || out.length < n) {
      throw new EmbedError(
        "TENSOR_SHAPE",
        `geglu: ${n} elements exceed the buffers (gate ${gate.length}, up ${up.length}, out ${out.length})`,
        { n },
      );
    }
    const table = this.geluTableAt();
    const [gp, up_, dp] = this.stageGlu(gate, up, out, n);
    this.run(KERNELS.gegluRange, { gate: gp!, up: up_!, out: dp!, table, i0: 0, i1: n }, n < 4096 || this.threads === 1);
    this.unstage(out, 0, dp!, n);
  }

  /**
   * Run a kernel with named arguments (wasm-calls.ts): the family's range cut into pieces that the pool's threads claim
   * (worker.ts piece), or all of it on the calling thread when `alone` (small calls; thread index 0).
   */
  private run<F extends KernelFamily>(k: Kernel<F>, args: KernelArgs<F>, alone = false): void {
    const f: KernelFamily = k.family,
      pos = positional(k.family, args);
    const fn = this.fnIndex.get(k.name);
    if (fn === undefined) throw new Error(`wasm module has no kernel "${k.name}"`);
    if (alone) this.exports[k.name]!(...pos, 0);
    else this.pool.run(fn, pos, f.args.indexOf(f.split[0]), f.args.indexOf(f.split[1]), f.align);
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
