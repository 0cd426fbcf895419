/**
 * The model cache on disk. Layout (one directory per Hub repository, files at their repo paths):
 *
 *   <cache>/<owner>/<repo>/<file>            a complete, verified download (never partial)
 *   <cache>/<owner>/<repo>/<file>.json       sidecar: url, nBytes, sha256, etag, ... (see Sidecar)
 *   <cache>/<owner>/<repo>/<file>.part       bytes received so far (resumable)
 *   <cache>/<owner>/<repo>/<file>.part.json  what the .part belongs to (url, sha256, etag)
 *   <cache>/<owner>/<repo>/<file>.lock       held by the process downloading <file>
 *   <cache>/url/<host>/<hash>/<name>         plain https URLs (hash: first 16 hex of sha256(url))
 *
 * <cache> is $GGUF_EMBED_CACHE, else $XDG_CACHE_HOME/gguf-embed, else ~/.cache/gguf-embed.
 * A file exists under its final name only after its size and sha256 were checked, so "the file
 * exists" is the completeness test; offline lookups need nothing else.
 */
import { createHash } from "node:crypto";
import { open, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { EmbedError } from "../errors.js";

export interface Sidecar {
  /** The URL the download started from (Hub resolve URL or the plain URL given). */
  url: string;
  repo?: string;
  file?: string;
  revision?: string;
  nBytes: number;
  /** sha256 of the bytes on disk (hex), checked against the Hub's LFS oid when it gave one. */
  sha256: string;
  etag?: string;
  downloadedAt: string;
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GGUF_EMBED_CACHE) return env.GGUF_EMBED_CACHE;
  const xdg = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(xdg, "gguf-embed");
}

/** Repo-relative path -> local path, refusing anything that could escape the repo directory. */
export function repoFilePath(root: string, repo: string, file: string): string {
  const parts = [...repo.split("/"), ...file.split("/")];
  if (parts.some((p) => p === "" || p === "." || p === ".." || p.includes("\\") || p.includes("\0"))) {
    throw new EmbedError("BAD_INPUT", `unsafe repository path "${repo}/${file}"`, { repo, file });
  }
  return join(root, ...parts);
}

export function repoDir(root: string, repo: string): string {
  const file = repoFilePath(root, repo, "x");
  return file.slice(0, -2);
}

export function urlFilePath(root: string, url: URL): string {
  const hash = createHash("sha256").update(url.href).digest("hex").slice(0, 16);
  const name = basename(decodeURIComponent(url.pathname)).replace(/[^\w.+-]/g, "_") || "model.gguf";
  return join(root, "url", url.host.replace(/[^\w.-]/g, "_"), hash, name);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

/** Write JSON atomically (temp file + rename), so a reader never sees half a sidecar. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + "\n");
  await rename(tmp, path);
}

/** Complete cached files of a repo directory (recursive), as repo-relative paths with "/". */
export async function listCachedFiles(repoDir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(dir, e.name), prefix + e.name + "/");
      else if (e.isFile() && !/\.(part|json|lock|tmp-\d+)$/.test(e.name) && !/\.json\.tmp-\d+$/.test(e.name)) out.push(prefix + e.name);
    }
  }
  await walk(repoDir, "");
  return out.sort();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A lock file next to the download, so two processes (or two calls in one) never write the same
 * .part. A lock whose owner process is gone is taken over. Waits while a live owner holds it,
 * calling `onWait` once.
 */
export async function acquireLock(path: string, onWait?: () => void): Promise<() => Promise<void>> {
  let warned = false;
  for (;;) {
    try {
      const fh = await open(path, "wx");
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => { await rm(path, { force: true }); };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new EmbedError("IO_ERROR", `${path}: cannot create lock file: ${(e as Error).message}`, { path }, { cause: e });
      }
    }
    const pid = Number(await readFile(path, "utf8").catch(() => ""));
    const ageMs = Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0);
    // An empty lock was just created and its pid is being written: give it a moment.
    const stale = Number.isInteger(pid) && pid > 0 ? !alive(pid) : ageMs > 5000;
    if (stale) {
      await rm(path, { force: true });
      continue;
    }
    if (!warned) onWait?.();
    warned = true;
    await new Promise((r) => setTimeout(r, 250));
  }
}
