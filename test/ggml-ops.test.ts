/**
 * Our attention and GELU against the shipped llama.cpp CPU library itself, bit for bit: the
 * no-flash-attention subgraph (kq, soft_max_ext, kqv) run by ggml on the same q/k/v, and ggml's
 * GELU fp16 table. The oracles (tools/ggml-oracle) are built from node-llama-cpp's prebuilt
 * libraries and its bundled source headers; failing to build them fails the test.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { attention, geluFp16Table } from "../src/kernels/ops.js";
import { f32ToFp16 } from "../src/quant/f16.js";

const root = resolve(".");
const oracle = join(root, ".cache/ggml-oracle");
const bins = join(root, "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64");
const variant = "auto"; // the CPU variant llama.cpp itself picks on this machine

before(() => {
  if (!existsSync(join(oracle, "attn")) || !existsSync(join(oracle, "gelu"))) execFileSync("bash", ["tools/ggml-oracle/build.sh"], { stdio: "inherit" });
});

const readF32 = (p: string) => { const b = readFileSync(p); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };

for (const [T, window] of [[4, -1], [16, -1], [37, -1], [300, -1], [600, 256]] as const) {
  test(`attention equals ggml's no-FA subgraph bit for bit: ${T} tokens, ${window < 0 ? "global" : `window ±${window}`}`, () => {
    const dir = mkdtempSync(join(tmpdir(), "attn-"));
    let seed = 7 + T;
    const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296) * 2 - 1;
    const [nH, nKV, hd] = [3, 1, 256];
    const q = Float32Array.from({ length: T * nH * hd }, () => rnd() * 0.3); // q already scaled, as in the model
    const k = Float32Array.from({ length: T * nKV * hd }, rnd);
    const v = Float32Array.from({ length: T * nKV * hd }, rnd);
    for (const [n, a] of [["q", q], ["k", k], ["v", v]] as const) writeFileSync(join(dir, `${n}.bin`), new Uint8Array(a.buffer));
    execFileSync(join(oracle, "attn"), [bins, variant, T, nH, nKV, hd, window, join(dir, "q.bin"), join(dir, "k.bin"), join(dir, "v.bin"), join(dir, "o.bin"), 2].map(String), { stdio: ["ignore", "ignore", "pipe"] });
    const ref = readF32(join(dir, "o.bin"));
    const o = new Float32Array(T * nH * hd);
    attention(q, k, v, o, T, nH, nKV, hd, window < 0 ? Infinity : window);
    let diff = 0;
    for (let i = 0; i < o.length; i++) if (o[i] !== ref[i]) diff++;
    assert.equal(diff, 0, `${diff} of ${o.length} outputs differ`);
  });
}

test("the GELU fp16 table equals ggml-cpu's ggml_table_gelu_f16 for all 65536 inputs", () => {
  const dir = mkdtempSync(join(tmpdir(), "gelu-"));
  execFileSync(join(oracle, "gelu"), [bins, join(dir, "gelu.bin")], { stdio: ["ignore", "ignore", "pipe"] });
  const b = readFileSync(join(dir, "gelu.bin"));
  const ref = new Uint16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const ours = geluFp16Table();
  let diff = 0;
  for (let h = 0; h < 65536; h++) if (!Number.isNaN(ours[h]) && f32ToFp16(ours[h]) !== ref[h]) diff++;
  assert.equal(diff, 0, `${diff} table entries differ`);
});
