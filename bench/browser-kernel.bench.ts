/**
 * bench/kernel-rows.ts's single-matmul comparison inside headless Chromium (Debian's, driven by
 * playwright-core): our Q8_0 kernels (baseline, relaxed, and relaxed-usdot where the page's V8
 * passes the USDot probe) against onnxruntime-web's MatMulInteger, one thread, in the same page.
 * A static server on 127.0.0.1 serves dist/ and onnxruntime-web's dist/ with the isolation headers.
 * Wall-clock GOP/s only (a page has no process CPU clock).
 * usage: npm run bench:browser-kernel   (node dist/bench/browser-kernel.bench.js; NUMERICS=amx for the AMX profile's kernels)
 */
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from "../test/helpers/chromium.js";
import { kernelTable, type KernelRow } from "./kernel-rows.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MOUNTS: Record<string, string> = { dist: resolve(ROOT, "dist"), ort: resolve(ROOT, "node_modules/onnxruntime-web/dist") };
const MIME: Record<string, string> = {
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".html": "text/html",
};
const HEADERS = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};
const PAGE = `<!doctype html><meta charset="utf-8"><title>kernel bench</title><p>kernel bench</p>`;

requireChromium();
const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  const [, mount, ...rest] = url.pathname.split("/");
  const base = MOUNTS[mount ?? ""];
  if (!base) {
    res.writeHead(200, { ...HEADERS, "content-type": "text/html" });
    return void res.end(PAGE);
  }
  const p = await realpath(resolve(base, rest.join("/"))).catch(() => "");
  if (!p.startsWith(base + sep) || !(await stat(p)).isFile()) {
    res.writeHead(404, HEADERS);
    return void res.end();
  }
  res.writeHead(200, { ...HEADERS, "content-type": MIME[extname(p)] ?? "application/octet-stream" });
  createReadStream(p).pipe(res);
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
try {
  const page = await browser.newPage();
  const logs: string[] = [];
  page.on("console", (m) => logs.push(m.text()));
  await page.goto(`${origin}/`);
  const rows = await page.evaluate(async (numerics) => {
    const ort = await import("/ort/ort.wasm.min.mjs" as string);
    ort.env.wasm.wasmPaths = "/ort/";
    const m = await import("/dist/bench/kernel-rows.js" as string);
    const rows = await m.kernelRows({ ort, log: (l: string) => console.log(l), numerics });
    return rows as KernelRow[];
  }, process.env.NUMERICS);
  for (const l of logs) console.log(l);
  console.log(kernelTable(rows, `Chromium ${browser.version()} (a page has no CPU clock: both figures are wall time)`));
} finally {
  await browser.close();
  server.close();
}
