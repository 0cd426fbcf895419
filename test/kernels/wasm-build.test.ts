/** The checked-in src/kernels/wasm/binary.ts is exactly what a fresh build of src/kernels/wasm/*.as gives. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { BINARY_TS, binaryModuleText, buildWasm } from "../../scripts/build-wasm.js";

test("rebuilding the wasm kernels from source reproduces binary.ts byte for byte", async () => {
  const checkedIn = readFileSync(new URL(`../../../${BINARY_TS}`, import.meta.url), "utf8");
  const fresh = binaryModuleText(await buildWasm());
  assert.ok(checkedIn === fresh, "src/kernels/wasm/binary.ts is stale or was edited: run `npm run build:wasm`");
});
