/**
 * Debian's chromium for the browser tests (driven by playwright-core): its path and headless flags,
 * the check that it is installed (the browser tests fail, never skip, without it), and a collector
 * of a page's errors (page, console and its Web Workers' consoles); two steps on the demo page
 * (demo/main.js, which keeps its state and last results on window.demo); and the memory of the
 * browser's processes (CDP SystemInfo, /proc) and of the page's JS heap (CDP Performance), for the log.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Fails when chromium is missing. */
export function requireChromium(): void {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install it with "apt-get install -y chromium" (this test does not skip)`);
}

/** Push the page's uncaught errors and console errors (its workers' too) onto `errors`. */
export function collectErrors(page: Page, errors: string[]): void {
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("worker", (w) =>
    w.on("console", (m) => {
      if (m.type() === "error") errors.push(`worker: ${m.text()}`);
    }),
  );
}

/** Wait until `fn` holds in the page; on timeout, fail with the demo's state and the collected errors. */
export async function waitForPage<T>(page: Page, what: string, fn: () => T, errors: string[], timeoutMs = 600_000): Promise<void> {
  try {
    await page.waitForFunction(fn, undefined, { timeout: timeoutMs, polling: 250 });
  } catch (e) {
    const state = await page
      .evaluate(() =>
        JSON.stringify({
          state: (window as any).demo?.state,
          error: (window as any).demo?.error,
          status: document.getElementById("status")?.textContent,
        }),
      )
      .catch(() => "?");
    assert.fail(`${what}: ${(e as Error).message}\npage: ${state}\nerrors: ${errors.join("\n")}`);
  }
}

/** The demo's "Search" panel: rank `docs` for `query` and wait for window.demo.last.search (or an error shown). */
export async function demoRank(page: Page, query: string, docs: string[], errors: string[]): Promise<void> {
  await page.fill("#query", query);
  await page.fill("#docs", docs.join("\n"));
  await page.click("#rank");
  await waitForPage(
    page,
    "ranking",
    () => (window as any).demo.last.search !== undefined || /Error/.test(document.getElementById("ranks")!.textContent!),
    errors,
  );
}

/** Resident and peak resident memory (bytes, /proc VmRSS and VmHWM) of one process; undefined where /proc is missing. */
function procMemory(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb("VmRSS"), peak: kb("VmHWM") };
  } catch {
    return undefined;
  }
}

/**
 * The memory of the browser's busiest renderer (a page and its Web Workers share one renderer process;
 * the one with the highest peak is the page under test) and of all its processes together, from CDP
 * SystemInfo.getProcessInfo and /proc (Linux). Undefined where either is missing.
 */
export async function rendererMemory(browser: Browser): Promise<{ rss: number; peak: number; allRss: number } | undefined> {
  const cdp = await browser.newBrowserCDPSession();
  try {
    const { processInfo } = (await cdp.send("SystemInfo.getProcessInfo")) as { processInfo: { type: string; id: number }[] };
    const mem = processInfo.map((p) => ({ type: p.type, m: procMemory(p.id) }));
    if (mem.some((p) => p.m === undefined || !Number.isFinite(p.m.rss))) return undefined;
    const renderer = mem.filter((p) => p.type === "renderer").sort((a, b) => b.m!.peak - a.m!.peak)[0];
    return renderer && { ...renderer.m!, allRss: mem.reduce((a, p) => a + p.m!.rss, 0) };
  } finally {
    await cdp.detach();
  }
}

/** The page's main-thread JS heap (bytes used, CDP Performance.getMetrics JSHeapUsedSize). */
export async function pageJsHeap(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send("Performance.enable");
    const { metrics } = await cdp.send("Performance.getMetrics");
    return metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? NaN;
  } finally {
    await cdp.detach();
  }
}
