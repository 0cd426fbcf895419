/**
 * The wasm calling conventions (src/kernels/wasm-calls.ts) against the built modules: every
 * family's parameter count is its exports' arity (a parameter added or dropped on one side fails
 * here, not as a bit mismatch), every kernel wasm-plan.ts can pick is a MATMUL export, and the
 * prepared activation sizes in wasm-plan.ts are wasm/common.as's.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { NUMERICS } from "../../src/kernels/numerics.js";
import { createWasmBackend, type WasmBackend } from "../../src/kernels/wasm.js";
import { KERNELS, MATMUL, MATMUL_2X2_ARGS, matmulKernel, positional, type KernelFamily } from "../../src/kernels/wasm-calls.js";
import { A8_BYTES, AK_BYTES, planMatmul } from "../../src/kernels/wasm-plan.js";
import { GGML_TYPES } from "../../src/tensor/ggml-type.js";

let be: WasmBackend;
before(async () => {
  be = await createWasmBackend({ numerics: NUMERICS[1]!, threads: 1, relaxedSimd: false });
});
after(async () => {
  await be.close();
});

function arity(name: string): number {
  const f = (be.exports as Record<string, unknown>)[name];
  assert.equal(typeof f, "function", `export ${name}`);
  return (f as (...a: number[]) => number).length;
}

const params = (f: KernelFamily) => f.args.length + (f.thread ? 1 : 0);

test("fixed-name kernels: each family's argument table has the export's arity", () => {
  for (const k of Object.values(KERNELS)) {
    if (k.name.endsWith("R")) continue; // relaxed module only (attention-relaxed.as): checked by test/helpers/relaxed-child.ts
    assert.equal(arity(k.name), params(k.family), k.name);
  }
  assert.equal(KERNELS.attnRowsR.family, KERNELS.attnRows.family);
});

test("every kernel wasm-plan.ts picks is a MATMUL export (all profiles, types, shapes, token counts)", () => {
  const seen = new Set<string>();
  for (const nx of NUMERICS) {
    for (const type of GGML_TYPES.keys()) {
      for (const [ne0, ne1] of [
        [768, 256],
        [256, 40],
        [512, 13],
      ]) {
        for (const m of [1, 2, 3, 4, 7, 8, 64]) {
          const p = planMatmul(nx, type, ne0, ne1, m);
          if (p) seen.add(p.fn);
        }
      }
    }
  }
  assert.ok(seen.size >= 10, [...seen].join(", "));
  for (const fn of seen) {
    const n = arity(matmulKernel(fn).name);
    assert.ok(n === params(MATMUL) || n === MATMUL_2X2_ARGS, `${fn}: ${n} parameters`);
  }
  assert.equal(MATMUL.args[MATMUL_2X2_ARGS - 1], "nb");
});

test("named arguments land in the family's positions", () => {
  const args = Object.fromEntries(MATMUL.args.map((n, i) => [n, 100 + i])) as Record<(typeof MATMUL.args)[number], number>;
  assert.deepEqual(
    positional(MATMUL, args),
    MATMUL.args.map((_, i) => 100 + i),
  );
  const families: KernelFamily[] = [MATMUL, ...Object.values(KERNELS).map((x) => x.family)];
  for (const k of families) {
    assert.equal(new Set(k.args).size, k.args.length, "parameter names are unique");
    assert.ok(k.args.includes(k.split[0]) && k.args.includes(k.split[1]), "the split range is two of the parameters");
  }
});

test("A8 / AK prepared sizes: wasm-plan.ts mirrors wasm/common.as", () => {
  const g = be.exports as unknown as Record<string, WebAssembly.Global>;
  assert.equal(g.A8_BYTES!.value, A8_BYTES);
  assert.equal(g.AK_BYTES!.value, AK_BYTES);
});
