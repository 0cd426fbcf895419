/**
 * The browser demo end to end: Debian's chromium (headless, driven by playwright-core) opens the
 * page from scripts/demo-server.ts, loads the synthetic model by URL (HTTP Range reads in a Web
 * Worker), embeds sentences and ranks documents through the UI; the page's vectors must equal the
 * Node library's bit for bit, on the page's wasm and js backends. Screenshots go to
 * .cache/screenshots/demo-{wasm,js}.png.
 * Fails (does not skip) when /usr/bin/chromium is missing.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { loadModel } from "../../src/node.js";
import { startDemoServer, type DemoServer } from "../../scripts/demo-server.js";
import { gemmaFixture, NARROW_GEMMA } from "../helpers/fixtures.js";
import { CHROMIUM, CHROMIUM_ARGS, requireChromium, collectErrors, waitForPage, demoRank } from "../helpers/chromium.js";

const SENTENCES = ["The cat sits on the mat.", "A kitten rests on a rug.", "Stock markets fell today."];
const QUERY = "Which planet is red?";
const DOCS = ["Mars is the red planet.", "Espresso needs fine coffee."];

let fixture: string, server: DemoServer, context: BrowserContext | undefined, profile: string;
const pageErrors: string[] = [];

before(async () => {
  // the page, its loader and both backends are under test, not the width (bundlers.test.ts measures the 768-wide model)
  fixture = await gemmaFixture({ ...NARROW_GEMMA, dense: true });
  server = await startDemoServer({ models: [fixture] });
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

test("the demo server sends isolation headers, MIME types and byte ranges", async () => {
  const page = await fetch(`${server.url}/demo/`);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(page.headers.get("cross-origin-opener-policy"), "same-origin");
  assert.equal(page.headers.get("cross-origin-embedder-policy"), "require-corp");
  assert.match(await page.text(), /<script type="module" src="\.\/main\.js"><\/script>/);
  const js = await fetch(`${server.url}/dist/src/index.js`);
  assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  await js.body?.cancel();
  const range = await fetch(`${server.url}/models/${basename(fixture)}`, { headers: { range: "bytes=0-3" } });
  assert.equal(range.status, 206);
  assert.match(range.headers.get("content-range") ?? "", /^bytes 0-3\/\d+$/);
  assert.equal(new TextDecoder().decode(await range.arrayBuffer()), "GGUF");
  assert.equal((await fetch(`${server.url}/dist/../package.json`)).status, 404);
  assert.equal((await fetch(`${server.url}/demo/%2e%2e/package.json`)).status, 404);
  const index = (await (await fetch(`${server.url}/models/index.json`)).json()) as { name: string; url: string }[];
  assert.deepEqual(
    index.map((m) => m.name),
    [basename(fixture)],
  );
});

const waitFor = <T>(page: Page, what: string, fn: () => T, timeoutMs?: number) => waitForPage(page, what, fn, pageErrors, timeoutMs);

// The page on its wasm backend (Chromium has relaxed SIMD: the relaxed kernels, after their
// self-check, on Web Workers) and on the js reference; both must equal the Node library's js path.
for (const backend of ["wasm", "js"] as const)
  test(`chromium (${backend} backend): load by URL, embed, rank; the page's vectors equal the Node library's exactly`, async () => {
    requireChromium();
    if (!context) {
      profile = await mkdtemp(join(tmpdir(), "gguf-embed-chromium-"));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: CHROMIUM_ARGS,
        headless: true,
        viewport: { width: 1280, height: 900 },
      });
    }
    pageErrors.length = 0;
    const page = await context.newPage();
    collectErrors(page, pageErrors);

    await page.goto(`${server.url}/demo/`);
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true, "COOP/COEP make the page cross-origin isolated");
    await waitFor(page, "served model list", () => (document.getElementById("served") as HTMLSelectElement).options.length > 1, 30_000);
    await page.fill("#url", `/models/${basename(fixture)}`);
    await page.selectOption("#backend", backend);
    await page.click("#load-url");
    await waitFor(page, "model load", () => ["ready", "error"].includes((window as any).demo.state));
    const status = await page.textContent("#status");
    assert.match(status ?? "", /^Ready: .* loaded in/, `${status}\n${pageErrors.join("\n")}`);
    assert.match((await page.textContent("#info")) ?? "", /gemma-embedding.*6.*256.*mean \+ dense projections/s);
    const info = (await page.textContent("#info")) ?? "";
    assert.match(info, new RegExp(`backend\\s*${backend}`));
    if (backend === "wasm") console.log(`# chromium wasm backend: ${/backend\s*(.*?\))/.exec(info)?.[1]}`);

    await page.fill("#sentences", SENTENCES.join("\n"));
    await page.selectOption("#task", "similarity");
    await page.click("#compare");
    await waitFor(
      page,
      "similarity",
      () => (window as any).demo.last.similarity !== undefined || /Error/.test(document.getElementById("embed-status")!.textContent!),
    );
    await demoRank(page, QUERY, DOCS, pageErrors);
    const got = (await page.evaluate(() => (window as any).demo.last)) as {
      similarity: { texts: string[]; task: string; vectors: number[][]; sims: number[][] };
      search: { queryVector: number[]; docVectors: number[][]; ranked: { text: string; score: number }[] };
    };
    assert.ok(got.similarity && got.search, `page results missing: ${JSON.stringify(Object.keys(got))} ${pageErrors.join("\n")}`);
    await mkdir(".cache/screenshots", { recursive: true });
    await page.screenshot({ path: `.cache/screenshots/demo-${backend}.png`, fullPage: true });
    assert.deepEqual(pageErrors, []);

    const model = await loadModel(fixture, { backend: "js" });
    try {
      const same = (a: number[], b: Float32Array, what: string) => {
        assert.equal(a.length, b.length, what);
        let maxDiff = 0;
        for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
        assert.equal(maxDiff, 0, `${what}: max abs diff ${maxDiff}`);
        assert.ok(
          a.every((x, i) => Object.is(x, b[i])),
          `${what}: bitwise`,
        );
      };
      assert.deepEqual(got.similarity.texts, SENTENCES);
      const sims = await model.embed(SENTENCES, { task: "similarity" });
      sims.forEach((v, i) => same(got.similarity.vectors[i], v, `sentence ${i}`));
      const [q] = await model.embed([QUERY], { task: "query" });
      same(got.search.queryVector, q, "query");
      (await model.embed(DOCS, { task: "document" })).forEach((v, i) => same(got.search.docVectors[i], v, `document ${i}`));
      assert.equal(got.search.ranked.length, DOCS.length);
      assert.equal(got.similarity.sims[0][0].toFixed(6), "1.000000");
    } finally {
      await model.close();
    }
  });
