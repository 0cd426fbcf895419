/**
 * Qwen3-Embedding-0.6B's full shape in the browser demo: Debian's chromium (headless, driven by
 * playwright-core) opens the page from scripts/demo-server.ts and loads a synthetic 28-layer qwen3
 * model (1024 wide, 16 Q / 8 KV heads of 128, FF 3072, ctx 32768, the real 151,669-token vocabulary;
 * ~610 MiB in Q8_0, the real model's size) by URL on the wasm backend. The task menu offers what
 * qwen3 takes (query, document); the page embeds passages and ranks documents for an instructed
 * query; its vectors must be finite and non-degenerate (plain random weights at full depth, no
 * damping: Qwen3's last RMS norm keeps them tame) and equal the Node library's bit for bit (wasm
 * backend, the page's numerics profile and thread count). The log gets the page's load time, its
 * WebAssembly memory, JS heap and renderer memory (peak), and tokens/s of the page and of Node.
 * Passages are short (~20 tokens): the long-input kernels are covered in Node (test/models,
 * parity/). Fails (does not skip) when /usr/bin/chromium is missing.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { basename } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { cosine, loadModel } from "../../src/node.js";
import { startDemoServer, type DemoServer } from "../../scripts/demo-server.js";
import { getUint } from "../../src/gguf/keys.js";
import { qwen3Fixture } from "../helpers/fixtures.js";
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  requireChromium,
  collectErrors,
  waitForPage,
  demoRank,
  rendererMemory,
  pageJsHeap,
} from "../helpers/chromium.js";

/** Four one-sentence passages (English, code, Chinese, German): ~20 tokens each. */
const PASSAGES = [
  "Embeddings map text to vectors so that similar meanings land close together.",
  "function add(a, b) { return a + b; } /* adds two numbers and returns the sum */",
  "东京是日本的首都，也是世界上人口最多的城市之一。",
  "Der schnelle braune Fuchs springt über den faulen Hund, und die Katze schläft.",
];
const QUERY = "Which planet is red?";
const DOCS = ["Mars is the red planet.", "Espresso needs fine coffee.", "火星は赤い惑星です。"];
const N_LAYER = 28;

let fixture: string, server: DemoServer, browser: Browser | undefined;
const pageErrors: string[] = [];

before(async () => {
  const t0 = performance.now();
  fixture = await qwen3Fixture({ nLayer: N_LAYER, weightType: "Q8_0" });
  console.log(`# qwen3 ${N_LAYER}-layer fixture ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (cached after the first run)`);
  server = await startDemoServer({ models: [fixture] });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const waitFor = <T>(page: Page, what: string, fn: () => T) => waitForPage(page, what, fn, pageErrors, 600_000);
const MB = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "?" : `${(n / 2 ** 20).toFixed(0)} MiB`);

/** Finite, unit length, not constant, and no two of them (distinct texts) pointing the same way. */
function assertHealthy(vectors: readonly (readonly number[])[], what: string): void {
  for (const [i, v] of vectors.entries()) {
    assert.ok(v.every(Number.isFinite), `${what} ${i}: non-finite values`);
    assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-4, `${what} ${i}: norm ${Math.hypot(...v)}, not 1`);
    assert.ok(Math.max(...v) - Math.min(...v) > 1e-3, `${what} ${i}: (nearly) constant`);
    for (let j = 0; j < i; j++) assert.ok(cosine(v, vectors[j]!) < 0.99, `${what} ${i} and ${j}: cosine ${cosine(v, vectors[j]!)}`);
  }
}

interface Similarity {
  texts: string[];
  task: string;
  vectors: number[][];
  nTokens: number;
  ms: number;
}

/** Click "compare" in the page and return its result. */
async function compare(page: Page): Promise<Similarity> {
  await page.evaluate(() => delete (window as any).demo.last.similarity);
  await page.click("#compare");
  await waitFor(
    page,
    "similarity",
    () => (window as any).demo.last.similarity !== undefined || /Error/.test(document.getElementById("embed-status")!.textContent!),
  );
  const got = (await page.evaluate(() => (window as any).demo.last.similarity)) as Similarity | undefined;
  assert.ok(got, `no similarity result: ${await page.textContent("#embed-status")} ${pageErrors.join("\n")}`);
  return got;
}

test("chromium: the demo loads the 28-layer 0.6B-shape qwen3 by URL (wasm), embeds, ranks; vectors equal Node's bit for bit", async () => {
  requireChromium();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  collectErrors(page, pageErrors);

  await page.goto(`${server.url}/demo/`);
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), true, "COOP/COEP make the page cross-origin isolated");
  await page.fill("#url", `/models/${basename(fixture)}`);
  await page.selectOption("#backend", "wasm");
  const t0 = performance.now();
  await page.click("#load-url");
  await waitFor(page, "model load", () => ["ready", "error"].includes((window as any).demo.state));
  const loadS = (performance.now() - t0) / 1000;
  const status = (await page.textContent("#status")) ?? "";
  assert.match(status, /^Ready: .* loaded in/, `${status}\n${pageErrors.join("\n")}`);
  assert.match((await page.textContent("#info")) ?? "", /qwen3.*28.*1024.*32768 tokens.*last \(no dense layers\)/s);
  const { info, tasks, memoryBytes } = (await page.evaluate(() => {
    const { info, tasks, memoryBytes } = (window as any).demo;
    return { info, tasks, memoryBytes };
  })) as {
    info: { backend: string; simd?: string; threads?: number; numerics: { name: string }; nLayer: number; nVocab: number };
    tasks: string[];
    memoryBytes: number;
  };
  assert.equal(info.backend, "wasm");
  assert.equal(info.nLayer, N_LAYER);
  assert.equal(info.nVocab, 151669);
  // the weights (~610 MiB) live in the wasm memory, once: no second copy of the file there
  const fileBytes = statSync(fixture).size;
  assert.ok(memoryBytes > 0.9 * fileBytes && memoryBytes < 1.25 * fileBytes, `wasm memory ${MB(memoryBytes)} for a ${MB(fileBytes)} file`);
  const [heapLoaded, memLoaded] = [await pageJsHeap(page), await rendererMemory(browser)];
  // the task menu: what qwen3 takes (its default "similarity" is not one of them)
  assert.deepEqual(tasks, ["query", "document"]);
  assert.deepEqual(await page.$$eval("#task option", (os) => os.map((o) => (o as HTMLOptionElement).value)), ["", "query", "document"]);
  assert.equal(await page.inputValue("#task"), "");

  // passages: a one-sentence run warms the page up; the passages' run is timed
  await page.selectOption("#task", "document");
  await page.fill("#sentences", DOCS[0]!);
  await compare(page);
  await page.fill("#sentences", PASSAGES.join("\n"));
  const sim = await compare(page);
  await demoRank(page, QUERY, DOCS, pageErrors);
  const search = (await page.evaluate(() => (window as any).demo.last.search)) as
    | { queryVector: number[]; docVectors: number[][]; ranked: { text: string }[] }
    | undefined;
  assert.ok(search, `no ranking: ${await page.textContent("#ranks")} ${pageErrors.join("\n")}`);
  assert.deepEqual(pageErrors, []);
  assertHealthy(sim.vectors, "passage");
  assertHealthy([search.queryVector, ...search.docVectors], "query/document");
  const memEnd = await rendererMemory(browser);
  const memoryEnd = (await page.evaluate(() => (window as any).demo.memoryBytes)) as number;

  const l0 = performance.now();
  const model = await loadModel(fixture, { backend: "wasm", threads: info.threads, numerics: info.numerics.name });
  const nodeLoadS = (performance.now() - l0) / 1000;
  try {
    const same = (a: number[], b: Float32Array, what: string) => {
      assert.equal(a.length, b.length, what);
      assert.ok(
        a.every((x, i) => Object.is(x, b[i])),
        `${what}: differs from Node's`,
      );
    };
    // the fixture has Qwen3-Embedding-0.6B's shape (scripts/gen/qwen3.ts)
    const shape = ["block_count", "embedding_length", "attention.head_count", "attention.head_count_kv", "attention.key_length"]
      .concat(["feed_forward_length", "context_length"])
      .map((k) => getUint(model.file.metadata, `qwen3.${k}`));
    assert.deepEqual(shape, [28, 1024, 16, 8, 128, 3072, 32768]);
    assert.deepEqual(sim.texts, PASSAGES);
    assert.equal(sim.task, "document");
    await model.embed([DOCS[0]!], { task: "document" });
    const n0 = performance.now();
    const passages = await model.embed(PASSAGES, { task: "document" });
    const nodeMs = performance.now() - n0;
    passages.forEach((v, i) => same(sim.vectors[i]!, v, `passage ${i}`));
    const [q] = await model.embed([QUERY], { task: "query" });
    same(search.queryVector, q!, "query");
    (await model.embed(DOCS, { task: "document" })).forEach((v, i) => same(search.docVectors[i]!, v, `document ${i}`));
    assert.equal(search.ranked.length, DOCS.length);
    const tps = (n: number, ms: number) => (n / (ms / 1000)).toFixed(1);
    console.log(
      `# qwen3 ${N_LAYER}-layer 0.6B-shape Q8_0 (${MB(fileBytes)}) in chromium: loaded in ${loadS.toFixed(1)} s ` +
        `(node: ${nodeLoadS.toFixed(1)} s); wasm ${info.simd} SIMD, ${info.threads} threads, numerics ${info.numerics.name}; ` +
        `${sim.nTokens} tokens (4 passages): chromium ${tps(sim.nTokens, sim.ms)} tokens/s, node ${tps(sim.nTokens, nodeMs)} tokens/s`,
    );
    console.log(
      `# qwen3 ${N_LAYER}-layer in chromium, memory after load: wasm ${MB(memoryBytes)}, page JS heap ${MB(heapLoaded)}, ` +
        `renderer RSS ${MB(memLoaded?.rss)} (all chromium processes ${MB(memLoaded?.allRss)}); ` +
        `after embedding: wasm ${MB(memoryEnd)}, renderer peak ` +
        `${MB(memEnd?.peak)}, RSS ${MB(memEnd?.rss)}; node process RSS ${MB(process.memoryUsage().rss)} (page and node models both loaded)`,
    );
  } finally {
    await model.close();
  }
});
