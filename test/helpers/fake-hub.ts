/**
 * A local stand-in for the Hugging Face Hub, on 127.0.0.1, with the shapes the real one uses:
 * - hub:  GET /api/models/{owner}/{repo}/tree/main?recursive=true -> [{ type, path, size, oid, lfs? }]
 *         (paged by `Link: <...>; rel="next"` when pageSize is set)
 *         GET /{owner}/{repo}/resolve/main/{path} -> 302 to the CDN with X-Linked-Etag/X-Linked-Size
 *         errors carry X-Error-Code / X-Error-Message (RepoNotFound, EntryNotFound, GatedRepo)
 * - cdn:  a second server (other port = other origin) serving blobs with Range / If-Range / ETag.
 * Faults: dropAfter (destroy the socket after N body bytes, first request only), corrupt (serve
 * different bytes than the listing's sha256), gated repos (listing public; files 401 without a
 * token, 403 with a wrong one), private repos (everything 401 RepoNotFound without the token),
 * extraBytes (stream that many bytes past the file, chunked), stallAfter (send N bytes, then
 * nothing, first request only), redirectLoop (resolve redirects to itself), and for listings
 * linkLoop (Link: next points back at the same page) and linkElsewhere (Link: next on the CDN).
 * Revisions: `revisions: { v1: [files] }` are served at tree/v1 and resolve/v1 besides main.
 */
import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** n deterministic pseudo-random bytes (sha256 of seed + offset, 32 at a time): file content for a fake repo. */
export function seededBytes(n: number, seed: string): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 32)
    out.set(
      createHash("sha256")
        .update(seed + i)
        .digest()
        .subarray(0, Math.min(32, n - i)),
      i,
    );
  return out;
}

/** b -> its sha256 as lowercase hex (what the listing and an Ollama blob name carry). */
export const sha256Hex = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

export interface FakeFile {
  path: string;
  /** In-memory content, or a file on disk (`diskPath`, for big models). */
  content?: Uint8Array;
  diskPath?: string;
  /** Serve the resolve URL from the hub itself (no CDN redirect), like small non-LFS files. */
  direct?: boolean;
  /** Destroy the connection after this many body bytes, on the first request for the file. */
  dropAfter?: number;
  /** Serve bytes that do not match the listed sha256. */
  corrupt?: boolean;
  /** Stream this many bytes past the file's end (chunked, no Content-Length). */
  extraBytes?: number;
  /** Send this many bytes, then nothing (the connection stays open), on the first request. */
  stallAfter?: number;
  /** The resolve URL redirects to itself. */
  redirectLoop?: boolean;
}

export interface FakeRepo {
  files: FakeFile[];
  gated?: boolean;
  private?: boolean;
  /** Files of other revisions than main. */
  revisions?: Record<string, FakeFile[]>;
  /** The listing's Link: next points back at the page itself. */
  linkLoop?: boolean;
  /** The listing's Link: next points at the CDN's origin. */
  linkElsewhere?: boolean;
}

export interface LoggedRequest {
  server: "hub" | "cdn";
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
}

export interface FakeHub {
  endpoint: string;
  cdnOrigin: string;
  requests: LoggedRequest[];
  close(): Promise<void>;
}

interface Blob {
  file: FakeFile;
  key: string;
  nBytes: number;
  sha256: string;
  served: number;
}

export async function startFakeHub(repos: Record<string, FakeRepo>, o: { token?: string; pageSize?: number } = {}): Promise<FakeHub> {
  const requests: LoggedRequest[] = [];
  // CDN path of a blob: /blobs/<sha256>/<repo>/<path>
  const blobs = new Map<string, Blob>(),
    byFile = new Map<FakeFile, Blob>();
  for (const [name, repo] of Object.entries(repos)) {
    for (const f of [...repo.files, ...Object.values(repo.revisions ?? {}).flat()]) {
      const sha256 = f.content ? sha256Hex(f.content) : await hashFile(f.diskPath!);
      const nBytes = f.content ? f.content.byteLength : statSync(f.diskPath!).size;
      const b: Blob = { file: f, key: `${sha256}/${name}/${f.path}`, nBytes, sha256, served: 0 };
      blobs.set(b.key, b);
      byFile.set(f, b);
    }
  }
  const blobOf = (f: FakeFile) => byFile.get(f)!;
  let cdnOrigin = "";

  const hub = createServer((req, res) => {
    requests.push({ server: "hub", method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const url = new URL(req.url ?? "/", "http://x");
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repoName = tree?.[1] ?? resolve?.[1];
    const repo = repoName ? repos[repoName] : undefined;
    if (!repo) return fail(res, 404, "RepoNotFound", "Repository not found");
    const rev = decodeURIComponent((tree?.[2] ?? resolve?.[2])!);
    const files = rev === "main" ? repo.files : repo.revisions?.[rev];
    if (!files) return fail(res, 404, "RevisionNotFound", `Invalid rev id: ${rev}`);
    if (repo.private && req.headers.authorization !== `Bearer ${o.token}`)
      return fail(res, 401, "RepoNotFound", "Invalid username or password.");
    if (repo.gated && resolve) {
      // like the Hub: a gated repo's listing is public, its files are not
      const auth = req.headers.authorization;
      if (!auth)
        return fail(
          res,
          401,
          "GatedRepo",
          `Access to model ${repoName} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
        );
      if (auth !== `Bearer ${o.token}`)
        return fail(
          res,
          403,
          "GatedRepo",
          `Access to model ${repoName} is restricted and you are not in the authorized list. Visit ${repoName} to ask for access.`,
        );
    }
    if (tree) {
      const entries = files.map((f) => {
        const b = blobOf(f);
        return f.direct
          ? { type: "file", path: f.path, size: b.nBytes, oid: "0".repeat(40) }
          : { type: "file", path: f.path, size: b.nBytes, oid: "1".repeat(40), lfs: { oid: b.sha256, size: b.nBytes, pointerSize: 134 } };
      });
      const page = Number(url.searchParams.get("cursor") ?? 0);
      const size = o.pageSize ?? entries.length;
      if (repo.linkLoop) res.setHeader("link", `<${url.pathname}${url.search}>; rel="next"`);
      else if (repo.linkElsewhere) res.setHeader("link", `<${cdnOrigin}${url.pathname}?recursive=true&cursor=1>; rel="next"`);
      else if (page + size < entries.length) res.setHeader("link", `<${url.pathname}?recursive=true&cursor=${page + size}>; rel="next"`);
      res.setHeader("content-type", "application/json");
      return res.end(JSON.stringify(entries.slice(page, page + size)));
    }
    const file = files.find((f) => f.path === decodeURIComponent(resolve![3]));
    if (!file) return fail(res, 404, "EntryNotFound", "Entry not found");
    const b = blobOf(file);
    if (file.redirectLoop) {
      res.writeHead(302, { location: url.pathname });
      return void res.end();
    }
    if (file.direct) return serveBlob(req, res, b);
    res.writeHead(302, {
      location: `${cdnOrigin}/blobs/${b.key}?sig=abc`,
      "x-linked-etag": `"${b.sha256}"`,
      "x-linked-size": String(b.nBytes),
      "x-repo-commit": "c".repeat(40),
    });
    res.end();
  });

  const cdn = createServer((req, res) => {
    requests.push({ server: "cdn", method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const m = /^\/blobs\/([^?]+)/.exec(req.url ?? "");
    const b = m ? blobs.get(decodeURIComponent(m[1])) : undefined;
    if (!b) return fail(res, 404, "", "no such blob");
    serveBlob(req, res, b);
  });

  await Promise.all([listen(hub), listen(cdn)]);
  cdnOrigin = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;
  return {
    endpoint: `http://127.0.0.1:${(hub.address() as AddressInfo).port}`,
    cdnOrigin,
    requests,
    close: async () => {
      await Promise.all([stop(hub), stop(cdn)]);
    },
  };
}

function serveBlob(req: IncomingMessage, res: ServerResponse, b: Blob): void {
  const etag = `"${b.sha256}"`;
  let start = 0,
    end = b.nBytes - 1;
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
  const ifRange = req.headers["if-range"];
  const partial = !!range && (!ifRange || ifRange === etag);
  if (partial) {
    start = Number(range[1]);
    if (range[2]) end = Math.min(end, Number(range[2]));
  }
  if (start >= b.nBytes && start > 0) {
    res.writeHead(416, { "content-range": `bytes */${b.nBytes}` });
    return void res.end();
  }
  const headers: Record<string, string> = {
    etag,
    "accept-ranges": "bytes",
    "content-length": String(end + 1 - start),
    "content-type": "application/octet-stream",
  };
  if (partial) headers["content-range"] = `bytes ${start}-${end}/${b.nBytes}`;
  const first = b.served++ === 0;
  const drop = first && b.file.dropAfter !== undefined ? b.file.dropAfter : undefined;
  if (b.file.extraBytes && b.file.content) {
    delete headers["content-length"]; // chunked: the server decides where the body ends
    res.writeHead(partial ? 206 : 200, headers);
    res.write(b.file.content.subarray(start, end + 1));
    let left = b.file.extraBytes;
    const more = () => {
      while (left > 0) {
        const n = Math.min(left, 1 << 16);
        left -= n;
        if (!res.write(new Uint8Array(n).fill(0x5a))) return void res.once("drain", more);
      }
      res.end();
    };
    return more();
  }
  if (first && b.file.stallAfter !== undefined && b.file.content) {
    res.writeHead(partial ? 206 : 200, headers);
    res.write(b.file.content.subarray(start, start + b.file.stallAfter)); // then nothing, connection open
    return;
  }
  res.writeHead(partial ? 206 : 200, headers);
  if (b.file.content) {
    let body = b.file.content.subarray(start, end + 1);
    if (b.file.corrupt) {
      body = Uint8Array.from(body);
      body[body.length >> 1] ^= 0xff;
    }
    if (drop !== undefined) {
      res.write(body.subarray(0, drop), () => setTimeout(() => res.socket?.destroy(), 50));
      return;
    }
    return void res.end(body);
  }
  createReadStream(b.file.diskPath!, { start, end }).pipe(res);
}

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { "content-type": "application/json", ...(code ? { "x-error-code": code } : {}), "x-error-message": message });
  res.end(JSON.stringify({ error: message }));
}

async function hashFile(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest("hex");
}

function listen(s: Server): Promise<void> {
  return new Promise((r) => s.listen(0, "127.0.0.1", () => r()));
}

function stop(s: Server): Promise<void> {
  s.closeAllConnections();
  return new Promise((r) => s.close(() => r()));
}
