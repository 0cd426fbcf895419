/**
 * scripts/onnx/proto.ts (our ONNX protobuf writer): tiny graphs decoded and run by onnxruntime-web
 * (an independent protobuf reader and ONNX runtime); outputs checked against values computed here
 * by hand from the definitions of the ops, not by our runtime.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ort from "onnxruntime-web";
import { GraphBuilder } from "../../scripts/onnx/builder.js";
import { DT, writeModel } from "../../scripts/onnx/proto.js";
import { int8Transposed, q4Blocks } from "../../scripts/onnx/quant.js";

ort.env.wasm.numThreads = 1;

async function run(g: GraphBuilder, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const bytes = writeModel({ graph: g.graph(), opsets: { "": 20, "com.microsoft": 1 }, irVersion: 9 });
  const s = await ort.InferenceSession.create(bytes);
  try {
    const out = await s.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await s.release();
  }
}

test("onnx writer: standard ops with negative int attributes, int64 initializers, symbolic dims", async () => {
  const g = new GraphBuilder("t");
  const x = g.input({ name: "x", elemType: DT.FLOAT, shape: ["b", 4] });
  const w = g.init("w", [4, 2], Float32Array.of(1, 0, 0, 1, 2, 0, 0, -1)); // (4, 2)
  const y = g.op("MatMul", [x, w]); // (b, 2)
  const [y1, y2] = g.opN("Split", [y, g.i64([1, 1])], 2, { axis: -1 });
  const swapped = g.op("Concat", [y2!, y1!], { axis: -1 });
  g.output(g.op("Softmax", [g.op("Mul", [swapped, g.f32(0.5)])], { axis: -1 }), { name: "p", elemType: DT.FLOAT, shape: ["b", 2] });
  g.output(g.op("Gelu", [x], { approximate: "tanh" }), { name: "gelu", elemType: DT.FLOAT, shape: ["b", 4] });
  const xv = Float32Array.of(1, 2, 3, 4, -1, 0.5, 0, 2);
  const r = await run(g, { x: new ort.Tensor("float32", xv, [2, 4]) });
  for (let b = 0; b < 2; b++) {
    const v = xv.subarray(b * 4, b * 4 + 4);
    const y0 = v[0]! + 2 * v[2]!,
      y1v = v[1]! - v[3]!; // x @ w
    const e0 = Math.exp(0.5 * y1v),
      e1 = Math.exp(0.5 * y0);
    assert.ok(Math.abs(r.p![2 * b]! - e0 / (e0 + e1)) < 1e-6);
    for (let i = 0; i < 4; i++) {
      const t = v[i]!,
        ref = 0.5 * t * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (t + 0.044715 * t ** 3)));
      assert.ok(Math.abs(r.gelu![b * 4 + i]! - ref) < 1e-5, `gelu(${t})`);
    }
  }
});

test("onnx writer: int8 MatMulInteger chain and com.microsoft MatMulNBits match a plain f32 matmul", async () => {
  const K = 64,
    N = 8;
  const w = Float32Array.from({ length: K * N }, (_, i) => Math.sin(i * 0.37) * 0.5); // N rows of K
  const xv = Float32Array.from({ length: K }, (_, i) => Math.cos(i * 0.11));
  const g = new GraphBuilder("q");
  const x = g.input({ name: "x", elemType: DT.FLOAT, shape: [1, K] });
  const [xq, xs, xz] = g.opN("DynamicQuantizeLinear", [x], 3);
  const { b, scale } = int8Transposed(w, K, N);
  const yi = g.op("MatMulInteger", [xq!, g.init("b", [K, N], b), xz!, g.init("bz", [], new Int8Array(1))]);
  const y8 = g.op("Mul", [g.op("Cast", [yi], { to: DT.FLOAT }), g.op("Mul", [xs!, g.init("bs", [], scale)])]);
  g.output(y8, { name: "y8", elemType: DT.FLOAT, shape: [1, N] });
  const q4 = q4Blocks(w, K, N);
  const b4 = g.init("b4", [N, K / 32, 16], q4.b),
    s4 = g.init("s4", [N * (K / 32)], q4.scales);
  const y4 = g.op("MatMulNBits", [x, b4, s4], { K, N, bits: 4, block_size: 32 }, "com.microsoft");
  g.output(y4, { name: "y4", elemType: DT.FLOAT, shape: [1, N] });
  const r = await run(g, { x: new ort.Tensor("float32", xv, [1, K]) });
  for (let n = 0; n < N; n++) {
    let ref = 0;
    for (let k = 0; k < K; k++) ref += xv[k]! * w[n * K + k]!;
    assert.ok(Math.abs(r.y8![n]! - ref) < 0.05, `int8 n=${n}: ${r.y8![n]} vs ${ref}`);
    assert.ok(Math.abs(r.y4![n]! - ref) < 0.3, `q4 n=${n}: ${r.y4![n]} vs ${ref}`);
  }
});
