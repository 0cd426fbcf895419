/**
 * Debian's chromium for the browser tests (driven by playwright-core): its path and headless flags,
 * the check that it is installed (the browser tests fail, never skip, without it), and a collector
 * of a page's errors (page, console and its Web Workers' consoles); and two steps on the demo page
 * (demo/main.js, which keeps its state and last results on window.demo).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type { Page } from "playwright-core";

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
