/**
 * The body of the per-profile end-to-end check (test/models/profiles.test.ts, and the longer
 * parity/profiles.test.ts): a 6-layer EmbeddingGemma run by llama.cpp with ONE CPU variant library
 * loaded (tools/ggml-oracle/taps with GGML_ORACLE_VARIANT; for each profile the first of its variants
 * this CPU can execute) against ours in that profile: same token ids, flash attention off, mean
 * pooling, raw (unnormalized) pooled vectors compared bit for bit, and 1 − cos. A profile no variant
 * of which runs here (amx without AMX) is skipped with a printed notice.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { loadModel } from "../../src/node.js";
import { gemmaFixture } from "./fixtures.js";
import { oneMinusCos } from "./llama.js";
import { inputsOfLengths } from "./parity.js";
import { BINS, ORACLE_DIR, ensureOracle, profileTargets } from "./variants.js";

/** llama.cpp's pooled embedding for one token list, computed by libggml-cpu-<variant>.so alone. */
function llamaPooled(path: string, variant: string, ids: number[]): Float32Array {
  const dir = mkdtempSync(join(tmpdir(), "taps-"));
  try {
    const r = spawnSync(join(ORACLE_DIR, "taps"), [path, dir, "2", ...ids.map(String)], {
      env: { ...process.env, GGML_ORACLE_BINS: BINS, GGML_ORACLE_VARIANT: `libggml-cpu-${variant}.so`, GGML_ORACLE_NO_TAPS: "1" },
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(r.status, 0, `taps (${variant}) failed: ${r.stderr.slice(-2000)}`);
    assert.match(r.stderr, new RegExp(`loaded CPU backend from .*libggml-cpu-${variant}\\.so`), "llama.cpp loaded another CPU variant");
    const b = readFileSync(join(dir, "final.f32"));
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One model of the suite: its weight type, Dense layers, and the token counts it runs at. */
export interface ProfileModel {
  weightType: string;
  dense: boolean;
  lengths: number[];
}

/** Registers, for every profile, one test per model (the suite's `before` builds the oracle). */
export function profileSuite(models: ProfileModel[]): void {
  before(() => ensureOracle());
  for (const target of profileTargets()) {
    const nx = target.numerics;
    describe(`numerics "${nx.name}": 6-layer models equal llama.cpp with only libggml-cpu-${target.variant ?? nx.variants[0]}.so`, {
      skip: target.skip,
    }, () => {
      for (const m of models) {
        test(`${m.weightType}${m.dense ? " +dense" : ""} at ${m.lengths.join("/")} tokens: identical pooled vectors`, async () => {
          const path = await gemmaFixture({ nLayer: 6, weightType: m.weightType, dense: m.dense });
          const model = await loadModel(path, { numerics: nx.name, threads: 2 });
          try {
            const inputs = inputsOfLengths(model, m.lengths);
            const ours = await model.embed(inputs, { normalize: "none" });
            const report: string[] = [];
            inputs.forEach((ids, i) => {
              const ref = llamaPooled(path, target.variant!, ids);
              let neq = 0;
              for (let j = 0; j < ref.length; j++) if (!Object.is(ref[j], ours[i]![j])) neq++;
              const d = oneMinusCos(ours[i]!, ref);
              report.push(`${ids.length}t ${neq === 0 ? "identical" : `${neq} differ, 1-cos ${d.toExponential(1)}`}`);
              assert.ok(d <= 1e-6, `${ids.length} tokens: 1 - cos = ${d.toExponential(2)}`);
              assert.equal(neq, 0, `${ids.length} tokens: ${neq} of ${ref.length} components differ (1 - cos ${d.toExponential(2)})`);
            });
            console.log(
              `# ${nx.name} (${target.variant}) ${m.weightType}${m.dense ? "+dense" : ""} [${model.info.backend}${model.info.numerics.reference?.length ? `; reference for ${model.info.numerics.reference.join(", ")}` : ""}]: ${report.join(", ")}`,
            );
          } finally {
            await model.close();
          }
        });
      }
    });
  }
}
