/**
 * Qwen3-Embedding at the 0.6B width in the browser demo: Debian's chromium (headless, driven by
 * playwright-core) opens the page from scripts/demo-server.ts and loads a 4-layer synthetic qwen3
 * model (1024 wide, 16 Q / 8 KV heads of 128, FF 3072, the real 151,669-token vocabulary; the 28
 * layers of the real model only add weights) by URL on the wasm backend. The task menu offers what
 * qwen3 takes (query, document); the page embeds passages and ranks documents for an instructed
 * query, and its vectors must equal the Node library's bit for bit (wasm backend, the page's
 * numerics profile and thread count). Tokens/s of the page and of Node, same passages, go to the log.
 * Fails (does not skip) when /usr/bin/chromium is missing.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { basename } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { loadModel } from "../../src/node.js";
import { startDemoServer, type DemoServer } from "../../scripts/demo-server.js";
import { qwen3Fixture } from "../helpers/fixtures.js";
import { CHROMIUM, CHROMIUM_ARGS, requireChromium, collectErrors, waitForPage, demoRank } from "../helpers/chromium.js";

/** Four passages of ~100 tokens each (English, code, Chinese, German): one forward pass of ~400 tokens. */
const rep = (s: string, n: number) => Array(n).fill(s).join(" ");
const PASSAGES = [
  rep("Embeddings map text to vectors so that similar meanings land close together.", 7),
  rep("function add(a, b) { return a + b; } /* adds two numbers and returns the sum */", 5),
  rep("东京是日本的首都，也是世界上人口最多的城市之一。", 6),
  rep("Der schnelle braune Fuchs springt über den faulen Hund, und die Katze schläft.", 5),
];
const QUERY = "Which planet is red?";
const DOCS = ["Mars is the red planet.", "Espresso needs fine coffee.", "火星は赤い惑星です。"];

let fixture: string, server: DemoServer, browser: Browser | undefined;
const pageErrors: string[] = [];

before(async () => {
  fixture = await qwen3Fixture({ nLayer: 4, weightType: "Q8_0" });
  server = await startDemoServer({ models: [fixture] });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const waitFor = <T>(page: Page, what: string, fn: () => T) => waitForPage(page, what, fn, pageErrors, 300_000);

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

test("chromium: the demo loads the 0.6B-width qwen3 model by URL (wasm), embeds and ranks; vectors equal Node's bit for bit", async () => {
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
  assert.match((await page.textContent("#info")) ?? "", /qwen3.*4.*1024.*last \(no dense layers\)/s);
  const { info, tasks } = (await page.evaluate(() => ({ info: (window as any).demo.info, tasks: (window as any).demo.tasks }))) as {
    info: { backend: string; simd?: string; threads?: number; numerics: { name: string } };
    tasks: string[];
  };
  assert.equal(info.backend, "wasm");
  // the task menu: what qwen3 takes (its default "similarity" is not one of them)
  assert.deepEqual(tasks, ["query", "document"]);
  assert.deepEqual(await page.$$eval("#task option", (os) => os.map((o) => (o as HTMLOptionElement).value)), ["", "query", "document"]);
  assert.equal(await page.inputValue("#task"), "");

  // passages: the first run warms the page up; the second is timed
  await page.fill("#sentences", PASSAGES.join("\n"));
  await page.selectOption("#task", "document");
  await compare(page);
  const sim = await compare(page);
  await demoRank(page, QUERY, DOCS, pageErrors);
  const search = (await page.evaluate(() => (window as any).demo.last.search)) as
    | { queryVector: number[]; docVectors: number[][]; ranked: { text: string }[] }
    | undefined;
  assert.ok(search, `no ranking: ${await page.textContent("#ranks")} ${pageErrors.join("\n")}`);
  assert.deepEqual(pageErrors, []);

  const model = await loadModel(fixture, { backend: "wasm", threads: info.threads, numerics: info.numerics.name });
  try {
    const same = (a: number[], b: Float32Array, what: string) => {
      assert.equal(a.length, b.length, what);
      assert.ok(
        a.every((x, i) => Object.is(x, b[i])),
        `${what}: differs from Node's`,
      );
    };
    assert.deepEqual(sim.texts, PASSAGES);
    assert.equal(sim.task, "document");
    await model.embed(PASSAGES, { task: "document" });
    const n0 = performance.now();
    const passages = await model.embed(PASSAGES, { task: "document" });
    const nodeMs = performance.now() - n0;
    passages.forEach((v, i) => same(sim.vectors[i]!, v, `passage ${i}`));
    const [q] = await model.embed([QUERY], { task: "query" });
    same(search.queryVector, q!, "query");
    (await model.embed(DOCS, { task: "document" })).forEach((v, i) => same(search.docVectors[i]!, v, `document ${i}`));
    assert.equal(search.ranked.length, DOCS.length);
    console.log(
      `# qwen3 4-layer 0.6B-width Q8_0 in chromium: loaded in ${loadS.toFixed(1)} s; wasm ${info.simd} SIMD, ${info.threads} threads, ` +
        `numerics ${info.numerics.name}; ${sim.nTokens} tokens (4 passages): chromium ${(sim.nTokens / (sim.ms / 1000)).toFixed(0)} tokens/s, ` +
        `node ${(sim.nTokens / (nodeMs / 1000)).toFixed(0)} tokens/s`,
    );
  } finally {
    await model.close();
  }
});
