/**
 * Our ports of the C library's sincosf and expf (the RoPE cache and the softmax tail) against
 * this machine's C library, bit for bit; and the GELU fp16 table against the ggml table built by
 * the shipped llama.cpp CPU library. A missing C compiler fails the test (it is on every machine
 * this project targets: the node image ships gcc).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ropeCache } from "../../src/kernels/ops.js";
import { expf } from "../../src/kernels/libm-expf.js";

const BASES = [10000, 1000000];

test("RoPE cos/sin and expf equal the C library's bits", () => {
  const dir = mkdtempSync(join(tmpdir(), "libm-"));
  let b: Buffer;
  try {
    const exe = join(dir, "libm-dump");
    execFileSync("gcc", ["-O1", "tools/libm-oracle/libm-dump.c", "-o", exe, "-lm"]);
    execFileSync(exe, [join(dir, "out.bin"), ...BASES.map(String)]);
    b = readFileSync(join(dir, "out.bin"));
  } finally {
    rmSync(dir, { recursive: true, force: true }); // 16 MB a run, left in /tmp before
  }
  const a = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  let o = 0;
  const cos = new Float32Array(128),
    sin = new Float32Array(128);
  for (const base of BASES) {
    assert.equal(Math.fround(Math.pow(base, -2 / 256)), a[o++], `theta_scale for base ${base}`);
    let bad = 0;
    for (let p = 0; p < 4096; p++) {
      ropeCache(p, 256, base, cos, sin);
      for (let i = 0; i < 128; i++, o += 2) if (cos[i] !== a[o] || sin[i] !== a[o + 1]) bad++;
    }
    assert.equal(bad, 0, `base ${base}: ${bad} of ${4096 * 128} (cos, sin) pairs differ from sincosf`);
  }
  let bad = 0;
  for (; o < a.length; o += 2) if (expf(a[o]) !== a[o + 1]) bad++;
  assert.equal(bad, 0, `${bad} of 1000000 expf values differ`);
});
