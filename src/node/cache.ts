/**
 * The model cache on disk. Layout (one directory per Hub repository and revision, files at their
 * repo paths):
 *
 *   <cache>/<owner>/<repo>/<file>            a complete, verified download of revision "main"
 *   <cache>/<owner>/<repo>@<rev>/<file>      the same for any other revision (<rev> percent-encoded;
 *                                            "@" cannot occur in a repo name, so no repo collides)
 *   <dir>/<file>.json                        sidecar: url, revision, nBytes, sha256, etag (Sidecar)
 *   <dir>/<file>.part                        bytes received so far (resumable)
 *   <dir>/<file>.part.json                   what the .part belongs to (url, sha256, etag)
 *   <dir>/<file>.lock                        held by the process downloading <file> (acquireLock)
 *   <cache>/url/<host>/<hash>/<name>         plain https URLs (hash: first 16 hex of sha256(url))
 *
 * <cache> is $GGUF_EMBED_CACHE, else $XDG_CACHE_HOME/gguf-embed, else ~/.cache/gguf-embed.
 * A file exists under its final name only after its size and sha256 were checked; lookups also
 * compare its size with the sidecar's (a truncated file is not "cached"), and `pull --verify`
 * re-hashes it.
 */
import { createHash, randomBytes } from "node:crypto";
import { link, open, readFile, readdir, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { homedir, hostname } from "node:os";
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

/** The revision whose files live in <cache>/<owner>/<repo>/ (others get a directory of their own). */
export const MAIN_REVISION = "main";

/** Repo-relative path of a revision -> local path, refusing anything that could escape its directory. */
export function repoFilePath(root: string, repo: string, file: string, revision = MAIN_REVISION): string {
  const parts = [...repo.split("/"), ...file.split("/")];
  if (revision === "" || parts.some((p) => p === "" || p === "." || p === ".." || p.includes("\\") || p.includes("\0"))) {
    throw new EmbedError("BAD_INPUT", `unsafe repository path "${repo}/${file}" (revision "${revision}")`, { repo, file, revision });
  }
  if (revision !== MAIN_REVISION) parts[1] += `@${encodeURIComponent(revision)}`;
  return join(root, ...parts);
}

export function repoDir(root: string, repo: string, revision = MAIN_REVISION): string {
  const file = repoFilePath(root, repo, "x", revision);
  return file.slice(0, -2);
}

/** decodeURIComponent, or BAD_INPUT naming the URL: a stray "%zz" never escapes as a URIError (test/node/pull-faults.test.ts). */
export function decodeUrlPart(s: string, url: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new EmbedError("BAD_INPUT", `${url}: the path has an invalid percent-escape ("${s.slice(0, 80)}"); fix the URL`, { url });
  }
}

export function urlFilePath(root: string, url: URL): string {
  const hash = createHash("sha256").update(url.href).digest("hex").slice(0, 16);
  const last = basename(decodeUrlPart(url.pathname, url.href));
  // A name made of dots ("..", from "%2E%2E%2F") would put the file at <cache>/url/<host> itself.
  if (/^\.+$/.test(last))
    throw new EmbedError("BAD_INPUT", `${url.href}: the file name in the URL is "${last}"; refusing it`, { url: url.href });
  const name = last.replace(/[^\w.+-]/g, "_") || "model.gguf";
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
      else if (
        e.isFile() &&
        !/\.(part|json|lock|tmp-\d+)$/.test(e.name) &&
        !/\.json\.tmp-\d+$/.test(e.name) &&
        !/\.lock\.stale-[0-9a-f]+$/.test(e.name)
      )
        out.push(prefix + e.name);
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

export interface LockOptions {
  /** Called once when the lock is held by another live owner and we wait. */
  onWait?: () => void;
  /** false: throw LOCKED at once instead of waiting. Default true. */
  wait?: boolean;
  /**
   * A lock whose file has not been touched for this long is stale. Default 30 s. Infinity: only a
   * dead or reused pid on this host makes it stale (for holders whose event loop may be blocked
   * for long, such as a bulk run between batches).
   */
  staleMs?: number;
  /** What is locked, for messages ("downloading x.gguf", "writing out.jsonl"). */
  what?: string;
}

/** The content of a lock file (older versions wrote the pid alone). */
interface LockOwner {
  pid: number;
  host: string;
  token: string;
  started: string;
}

/**
 * An exclusive lock as a file next to what it protects: created with O_EXCL, holding its owner
 * (pid, host, a random token, start time), and touched every staleMs / 4 while held (a heartbeat).
 * A lock is stale, and taken over, when its file has not been touched for staleMs (the owner died
 * or froze; a live but unrelated pid, after pid reuse or as pid 1 in a container, does not keep it),
 * or at once when its owner on this host is a dead pid or a pid reused by a younger process. A
 * takeover renames the stale file away (atomic), so two waiters cannot both take it. Guarded by
 * test/node/lock.test.ts.
 */
export async function acquireLock(path: string, o: LockOptions = {}): Promise<() => Promise<void>> {
  const staleMs = o.staleMs ?? 30_000;
  const me: LockOwner = { pid: process.pid, host: hostname(), token: randomBytes(8).toString("hex"), started: new Date().toISOString() };
  let warned = false;
  for (;;) {
    try {
      const fh = await open(path, "wx");
      try {
        await fh.writeFile(JSON.stringify(me));
      } finally {
        await fh.close();
      }
      return holdLock(path, me, staleMs);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new EmbedError("IO_ERROR", `${path}: cannot create lock file: ${(e as Error).message}`, { path }, { cause: e });
      }
    }
    const owner = await readOwner(path);
    const st = await stat(path).catch(() => undefined);
    if (!st) continue; // released meanwhile
    const age = Date.now() - st.mtimeMs;
    const goneHere = owner !== undefined && owner.host === me.host && !ownerRunning(owner, st.mtimeMs);
    // An empty lock was just created and its owner is being written: give it a moment.
    const stale = age > staleMs || goneHere || (owner === undefined && age > Math.min(5000, staleMs));
    if (stale) {
      await takeOver(path, st.ino);
      continue;
    }
    if (o.wait === false) {
      const who = owner ? `process ${owner.pid}${owner.host !== me.host ? ` on ${owner.host}` : ""}` : "another process";
      throw new EmbedError("LOCKED", `${o.what ?? path} is locked by ${who} (${path}); wait for it to finish`, { path, pid: owner?.pid });
    }
    if (!warned) o.onWait?.();
    warned = true;
    await new Promise((r) => setTimeout(r, Math.max(10, Math.min(250, staleMs / 4))));
  }
}

/**
 * Is the lock's owner (on this host) still the process that wrote it? Its pid must be alive and,
 * where /proc tells (Linux), the process must have started before the lock was written: a pid
 * reused after a crash belongs to a younger process.
 */
function ownerRunning(owner: LockOwner, mtimeMs: number): boolean {
  if (!alive(owner.pid)) return false;
  const started = processStartMs(owner.pid);
  const written = owner.started ? Date.parse(owner.started) : mtimeMs;
  return started === undefined || !Number.isFinite(written) || started <= written + 2000;
}

/** When process `pid` started (ms since the epoch), from /proc on Linux; undefined elsewhere. */
export function processStartMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]); // field 22, starttime
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
    const ms = btime * 1000 + (ticks * 1000) / 100; // USER_HZ is 100 on Linux
    return Number.isFinite(ms) ? ms : undefined;
  } catch {
    return undefined;
  }
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  const text = await readFile(path, "utf8").catch(() => "");
  if (/^\d+$/.test(text.trim())) return { pid: Number(text.trim()), host: hostname(), token: "", started: "" }; // older format
  try {
    const o = JSON.parse(text) as LockOwner;
    return Number.isInteger(o.pid) && typeof o.host === "string" ? o : undefined;
  } catch {
    return undefined;
  }
}

/** Move a stale lock out of the way, if it is still the file we judged (same inode). */
async function takeOver(path: string, ino: number): Promise<void> {
  const aside = `${path}.stale-${randomBytes(6).toString("hex")}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else took it over or released it
  }
  const st = await stat(aside).catch(() => undefined);
  // A fresh lock that replaced the stale one between our look and the rename goes back (unless yet
  // another was created meanwhile: link never overwrites).
  if (st && st.ino !== ino) await link(aside, path).catch(() => {});
  await rm(aside, { force: true });
}

function holdLock(path: string, me: LockOwner, staleMs: number): () => Promise<void> {
  const beat = setInterval(
    () => {
      const now = new Date();
      void utimes(path, now, now).catch(() => {});
    },
    Math.min(Math.max(10, staleMs / 4), 60_000),
  );
  beat.unref();
  return async () => {
    clearInterval(beat);
    const owner = await readOwner(path);
    if (owner?.token === me.token) await rm(path, { force: true }); // never remove a lock taken over from us
  };
}
