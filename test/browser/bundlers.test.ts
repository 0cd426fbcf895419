/**
 * A tiny app that imports "gguf-embed" (the package, by name, through its exports map) is bundled by
 * esbuild (--platform=browser), Vite and webpack 5, each with its defaults for a production build, and
 * run in Debian's headless Chromium (playwright-core), cross-origin isolated, with 2 wasm threads
 * (inline Web Workers). Each page loads the model by a relative URL ("/models/x.gguf"), reports load
 * progress in bytes from a 0% event on, and embeds; its vectors must equal Node's bit for bit.
 * Throughput (tokens/s) of the page and of Node, same model, inputs and threads, goes to the log.
 * Fails (does not skip) when /usr/bin/chromium is missing.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { loadModel } from "../../src/node.js";
import type { EmbeddingModel } from "../../src/embed/embedder.js";
import { startDemoServer, type DemoServer } from "../../scripts/demo-server.js";
import { gemmaFixture } from "../helpers/fixtures.js";
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from "../helpers/chromium.js";

const REPO = resolve(import.meta.dirname, "..", "..", "..");
const TEXTS = ["The cat sits on the mat.", "Mars is the red planet.", "東京は日本の首都です。"];
/** Throughput shape: 4 inputs of 128 tokens (one 512-token forward pass), 2 rounds, 2 threads. */
const BENCH = { inputs: 4, tokens: 128, rounds: 2 };

// The app: everything the page does goes through window.app, which the test drives.
const MAIN_JS = `import { loadModel } from "gguf-embed";
const q = new URLSearchParams(location.search);
const progress = [];
let model;
window.app = {
  ready: loadModel(q.get("model"), { backend: "wasm", threads: 2, onProgress: (loaded, total) => progress.push([loaded, total]) })
    .then((m) => { model = m; return { info: JSON.parse(JSON.stringify(m.info)), progress, isolated: self.crossOriginIsolated }; }),
  embed: async (inputs, opts) => (await model.embed(inputs, opts)).map((v) => Array.from(v)),
  bench: async (inputs, rounds) => {
    await model.embed(inputs);
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) await model.embed(inputs);
    return performance.now() - t0;
  },
};
`;
const html = (script: string) => `<!doctype html><meta charset="utf-8"><title>bundled</title>${script}`;

type Bundler = "esbuild" | "vite" | "webpack";

/** Bundle <app>/main.js into <root>/demo/<bundler>/ (index.html + script), as a user's project would. */
async function bundle(bundler: Bundler, app: string, out: string): Promise<void> {
  await mkdir(out, { recursive: true });
  if (bundler === "esbuild") {
    const esbuild = await import("esbuild");
    await esbuild.build({
      entryPoints: [join(app, "main.js")],
      bundle: true,
      platform: "browser",
      format: "esm",
      minify: true,
      outfile: join(out, "main.js"),
      logLevel: "error",
    });
    await writeFile(join(out, "index.html"), html(`<script type="module" src="./main.js"></script>`));
  } else if (bundler === "vite") {
    const vite = await import("vite");
    await vite.build({ root: app, base: "./", configFile: false, logLevel: "error", build: { outDir: out, emptyOutDir: true } });
  } else {
    const webpack = (await import("webpack")).default;
    await new Promise<void>((ok, fail) =>
      webpack(
        {
          mode: "production",
          target: "web",
          context: app,
          entry: "./main.js",
          output: { path: out, filename: "main.js" },
          performance: { hints: false },
        },
        (err, stats) => (err ? fail(err) : stats?.hasErrors() ? fail(new Error(stats.toString("errors-only"))) : ok()),
      ),
    );
    await writeFile(join(out, "index.html"), html(`<script src="./main.js"></script>`));
  }
}

let root: string, fixture: string, server: DemoServer, browser: Browser | undefined, node: EmbeddingModel;
let nodeVectors: Float32Array[], benchInputs: number[][], nodeTps: number;

before(async () => {
  requireChromium();
  fixture = await gemmaFixture({ nLayer: 6, weightType: "Q8_0", dense: true });
  root = await mkdtemp(join(tmpdir(), "gguf-embed-bundlers-"));
  const app = join(root, "app");
  await mkdir(join(app, "node_modules"), { recursive: true });
  await symlink(REPO, join(app, "node_modules", "gguf-embed"), "dir"); // the package as npm would link it
  await writeFile(join(app, "main.js"), MAIN_JS);
  await writeFile(join(app, "index.html"), html(`<script type="module" src="./main.js"></script>`)); // Vite's entry
  server = await startDemoServer({ root, models: [fixture] });
  node = await loadModel(fixture, { backend: "wasm", threads: 2 });
  nodeVectors = await node.embed(TEXTS, { task: "similarity" });
  const body = Array.from(node.tokenizer.encode("Embeddings map text to vectors. ".repeat(40), { addSpecial: false }));
  benchInputs = Array.from({ length: BENCH.inputs }, (_, i) => [
    node.tokenizer.bosId,
    ...body.slice(i, i + BENCH.tokens - 2),
    node.tokenizer.eosId,
  ]);
  await node.embed(benchInputs);
  const t0 = performance.now();
  for (let r = 0; r < BENCH.rounds; r++) await node.embed(benchInputs);
  nodeTps = (BENCH.inputs * BENCH.tokens * BENCH.rounds) / ((performance.now() - t0) / 1000);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
});

after(async () => {
  await browser?.close();
  await node?.close();
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

for (const bundler of ["esbuild", "vite", "webpack"] as const) {
  test(`${bundler}: the bundled app loads "/models/…" with 2 threads in Chromium; vectors equal Node's bit for bit`, async () => {
    const t0 = performance.now();
    await bundle(bundler, join(root, "app"), join(root, "demo", bundler));
    const bundleMs = performance.now() - t0;
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    try {
      await page.goto(`${server.url}/demo/${bundler}/?model=${encodeURIComponent(`/models/${basename(fixture)}`)}`);
      await page.waitForFunction(() => (window as any).app !== undefined, undefined, { timeout: 30_000 });
      const ready = (await page.evaluate(() => (window as any).app.ready)) as {
        info: any;
        progress: [number, number][];
        isolated: boolean;
      };
      assert.deepEqual(errors, []);
      assert.equal(ready.isolated, true);
      assert.equal(ready.info.backend, "wasm");
      assert.equal(ready.info.threads, 2, `threads: ${JSON.stringify(ready.info)}`);
      // progress: a 0% event first, then bytes as they are read (16 MiB pieces at most), ending at the total
      const p = ready.progress,
        total = p[0]![1];
      assert.deepEqual(p[0], [0, total]);
      assert.deepEqual(p.at(-1), [total, total]);
      for (let i = 1; i < p.length; i++)
        assert.ok(p[i]![0] >= p[i - 1]![0] && p[i]![0] - p[i - 1]![0] <= 16 << 20, `progress step ${i}: ${p[i - 1]} -> ${p[i]}`);

      const vectors = (await page.evaluate(([t]) => (window as any).app.embed(t, { task: "similarity" }), [TEXTS] as const)) as number[][];
      vectors.forEach((v, i) => {
        assert.equal(v.length, nodeVectors[i]!.length);
        assert.ok(
          v.every((x, j) => Object.is(x, nodeVectors[i]![j])),
          `${bundler}: text ${i} differs from Node's`,
        );
      });
      const ms = (await page.evaluate(([ids, r]) => (window as any).app.bench(ids, r), [benchInputs, BENCH.rounds] as const)) as number;
      const tps = (BENCH.inputs * BENCH.tokens * BENCH.rounds) / (ms / 1000);
      console.log(
        `# ${bundler}: bundled in ${(bundleMs / 1000).toFixed(1)}s; ${ready.info.simd} SIMD; throughput (6-layer 768-wide Q8_0, ` +
          `${BENCH.inputs}x${BENCH.tokens} tokens, 2 threads): chromium ${tps.toFixed(0)} tokens/s, node ${nodeTps.toFixed(0)} tokens/s`,
      );
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
}
