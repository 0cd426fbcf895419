/**
 * The browser demo's static server, on 127.0.0.1 only:
 *   /            -> redirect to /demo/
 *   /demo/*      -> <repo>/demo          /dist/* -> <repo>/dist   (ES modules straight from tsc)
 *   /models/     -> index.json (what is served) and the GGUFs: each --model FILE by its name, and
 *                   the .gguf files under --models-dir (default: the gguf-embed cache, so
 *                   `gguf-embed pull` then `npm run demo` works), at their relative paths.
 * Every response carries COOP same-origin + COEP require-corp (+ CORP same-origin), which make the
 * page cross-origin isolated so SharedArrayBuffer (wasm threads) is available. Files are served with
 * their MIME type and honour single HTTP Range requests (the library reads GGUFs by range).
 *
 * usage: node dist/scripts/demo-server.js [--port 8080] [--model FILE]... [--models-dir DIR]
 */
import { createReadStream } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, dirname, extname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { cacheDir } from "../src/node/cache.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".gguf": "application/octet-stream",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
};

const ISOLATION = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

export interface DemoServerOptions {
  port?: number;
  /** GGUF files served at /models/<file name>. */
  models?: string[];
  /** A directory whose .gguf files (recursively) are served at /models/<relative path>. */
  modelsDir?: string;
  root?: string;
}

export interface DemoServer {
  url: string;
  close(): Promise<void>;
}

interface ModelEntry {
  name: string;
  path: string;
  nBytes: number;
}

async function listModels(o: DemoServerOptions): Promise<ModelEntry[]> {
  const out: ModelEntry[] = [];
  for (const p of o.models ?? []) out.push({ name: basename(p), path: resolve(p), nBytes: (await stat(p)).size });
  async function walk(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && e.name.endsWith(".gguf"))
        out.push({ name: relative(o.modelsDir!, p).split(sep).join("/"), path: p, nBytes: (await stat(p)).size });
    }
  }
  if (o.modelsDir) await walk(o.modelsDir);
  return out;
}

/** Serve a file: MIME type, Range (one range), HEAD, 404 for anything that is not a regular file. */
async function sendFile(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) return send(res, 404, "not found\n");
  const headers: Record<string, string | number> = {
    "content-type": MIME[extname(path).toLowerCase()] ?? "application/octet-stream",
    "accept-ranges": "bytes",
    "cache-control": "no-cache",
    "last-modified": st.mtime.toUTCString(),
  };
  let start = 0,
    end = st.size - 1,
    status = 200;
  const range = req.headers.range;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (m && (m[1] || m[2])) {
      if (m[1]) {
        start = Number(m[1]);
        if (m[2]) end = Math.min(end, Number(m[2]));
      } else start = Math.max(0, st.size - Number(m[2]));
    }
    if (!m || (!m[1] && !m[2]) || start > end || start >= st.size) {
      res.writeHead(416, { ...ISOLATION, "content-range": `bytes */${st.size}` });
      return void res.end();
    }
    status = 206;
    headers["content-range"] = `bytes ${start}-${end}/${st.size}`;
  }
  headers["content-length"] = end - start + 1;
  res.writeHead(status, { ...ISOLATION, ...headers });
  if (req.method === "HEAD" || st.size === 0) return void res.end();
  createReadStream(path, { start, end })
    .on("error", () => res.destroy())
    .pipe(res);
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  type = "text/plain; charset=utf-8",
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, { ...ISOLATION, "content-type": type, "cache-control": "no-cache", ...extra });
  res.end(body);
}

/** Map a URL path under `base` to a file inside it, or undefined if it would leave `base`. */
async function inside(base: string, urlPath: string): Promise<string | undefined> {
  const p = resolve(base, "." + decodeURIComponent(urlPath).replace(/\\/g, "/"));
  if (p !== base && !p.startsWith(base + sep)) return undefined;
  const real = await realpath(p).catch(() => undefined);
  const realBase = await realpath(base).catch(() => base);
  return real && (real === realBase || real.startsWith(realBase + sep)) ? real : undefined;
}

export async function startDemoServer(o: DemoServerOptions = {}): Promise<DemoServer> {
  const root = o.root ?? ROOT;
  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "method not allowed\n", undefined, { allow: "GET, HEAD" });
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      if (path === "/" || path === "/demo") return send(res, 302, "", undefined, { location: "/demo/" });
      if (path === "/favicon.ico") return send(res, 204, "");
      if (path === "/models/" || path === "/models/index.json") {
        const models = await listModels(o);
        return send(
          res,
          200,
          JSON.stringify(
            models.map((m) => ({ name: m.name, url: `/models/${m.name.split("/").map(encodeURIComponent).join("/")}`, nBytes: m.nBytes })),
          ),
          MIME[".json"],
        );
      }
      if (path.startsWith("/models/")) {
        const name = decodeURIComponent(path.slice("/models/".length));
        const m = (await listModels(o)).find((e) => e.name === name);
        return m ? sendFile(req, res, m.path) : send(res, 404, `no model ${name}\n`);
      }
      for (const dir of ["demo", "dist"]) {
        if (path === `/${dir}/` || path.startsWith(`/${dir}/`)) {
          const rel = path.slice(dir.length + 1);
          const file = await inside(join(root, dir), rel.endsWith("/") ? rel + "index.html" : rel);
          return file ? sendFile(req, res, file) : send(res, 404, "not found\n");
        }
      }
      send(res, 404, "not found\n");
    })().catch((e: Error) => {
      if (!res.headersSent) send(res, 500, e.message + "\n");
      else res.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8080" },
      model: { type: "string", multiple: true },
      "models-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: node dist/scripts/demo-server.js [--port 8080] [--model FILE]... [--models-dir DIR (default: the gguf-embed cache)]",
    );
    return;
  }
  const modelsDir = values["models-dir"] ?? cacheDir();
  const s = await startDemoServer({ port: Number(values.port), models: values.model, modelsDir });
  const models = await listModels({ models: values.model, modelsDir });
  console.log(
    `gguf-embed demo: ${s.url}/demo/  (cross-origin isolated; ${models.length} model(s) under /models/: ${models.map((m) => m.name).join(", ") || `none - pass --model FILE, or "gguf-embed pull" into ${modelsDir}`})`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await cli();
