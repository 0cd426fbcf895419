/**
 * Resumable, verified HTTP downloads into the cache (layout in cache.ts).
 *
 * - Bytes go to `<file>.part`; an interrupted download resumes with `Range: bytes=N-` and
 *   `If-Range: <etag>` (a server that answers 200 instead of 206 gets a fresh start).
 * - A dropped connection, a 5xx or 429, and a server that stops sending (DOWNLOAD_STALLED) are
 *   retried (resuming) with backoff a few times before giving up; the .part stays for the next run
 *   either way.
 * - Size and sha256 are checked against the Hub's metadata before the rename to the final name;
 *   on a mismatch the bytes are deleted (CHECKSUM_MISMATCH) and nothing is left looking complete.
 * - Requests go through fetch.ts (redirects by hand, Authorization to the first origin only, an
 *   idle timeout). A server that stops sending is dropped and the download resumed; bytes past the
 *   expected size are never written; a deterministic failure (a redirect loop, a range that was
 *   not asked for) is not retried. Guarded by test/node/pull-faults.test.ts.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { EmbedError } from "../errors.js";
import { acquireLock, readJson, writeJson, type Sidecar } from "./cache.js";
import { bodyChunks, DEFAULT_IDLE_TIMEOUT_MS, fetchFollow, httpError, permanent, type FetchedResponse, type HttpOptions } from "./fetch.js";

export interface DownloadTarget {
  url: string;
  /** Final path; `.part`, `.part.json`, `.json` and `.lock` files are kept next to it. */
  dest: string;
  /** Expected size and sha256 (hex), from the Hub listing. Checked when given. */
  nBytes?: number;
  sha256?: string;
  /** Extra sidecar fields (repo, file, revision). */
  meta?: Pick<Sidecar, "repo" | "file" | "revision">;
}

export interface DownloadOptions extends HttpOptions {
  /** A download lock untouched for this long is stale and taken over (cache.ts acquireLock). Default 30 s. */
  lockStaleMs?: number;
  /** done/total bytes (total undefined when the server does not say). */
  onProgress?: (done: number, total: number | undefined) => void;
  onStatus?: (message: string) => void;
  /** Connection drops retried in a row without progress (default 5), 0.5 s, 1 s, 2 s ... apart. */
  retries?: number;
  retryDelayMs?: number;
}

interface PartState {
  url: string;
  sha256?: string;
  nBytes?: number;
  etag?: string;
}

/** Download `t.url` to `t.dest` (resuming a .part), verify, write the sidecar, and rename. */
export async function download(t: DownloadTarget, o: DownloadOptions = {}): Promise<Sidecar> {
  await mkdir(dirname(t.dest), { recursive: true });
  const release = await acquireLock(`${t.dest}.lock`, {
    onWait: () => o.onStatus?.(`waiting for another process downloading ${t.dest}`),
    staleMs: o.lockStaleMs,
  });
  try {
    return await downloadLocked(t, o);
  } finally {
    await release();
  }
}

async function downloadLocked(t: DownloadTarget, o: DownloadOptions): Promise<Sidecar> {
  const part = `${t.dest}.part`,
    partJson = `${t.dest}.part.json`;
  // Another process may have finished it while we waited for the lock.
  const done = await readJson<Sidecar>(`${t.dest}.json`);
  if (done && (await stat(t.dest).catch(() => undefined))?.size === done.nBytes && (!t.sha256 || t.sha256 === done.sha256)) return done;

  let state = await readJson<PartState>(partJson);
  const samePart = state && (t.sha256 ? state.sha256 === t.sha256 : state.url === t.url);
  let offset = samePart ? ((await stat(part).catch(() => undefined))?.size ?? 0) : 0;
  if (!samePart || (t.nBytes !== undefined && offset > t.nBytes)) {
    await rm(part, { force: true });
    offset = 0;
    state = undefined;
  }
  let hash = await hashFile(part, offset);
  if (offset > 0) o.onStatus?.(`resuming at byte ${offset}`);

  let total = t.nBytes;
  let linkedEtag: string | undefined;
  const retries = o.retries ?? 5;
  for (let attempt = 0; ; attempt++) {
    if (total !== undefined && offset === total) break;
    const attemptStart = offset;
    const headers: Record<string, string> = { "accept-encoding": "identity" };
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      if (state?.etag && !state.etag.startsWith("W/")) headers["if-range"] = state.etag;
    }
    try {
      const got = await fetchFollow(t.url, headers, o);
      const { res, first } = got;
      if (res.status === 416 && offset > 0 && total === undefined) {
        await res.body?.cancel(); // the .part already holds everything (size unknown until now)
        break;
      }
      if (res.status !== 200 && res.status !== 206) throw await httpError(res, t.url, `download of ${t.url}`, !!o.token);
      const start = res.status === 206 ? Number(/^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "")?.[1]) : 0;
      if (start !== offset) {
        // 200 (Range ignored, or If-Range said the file changed) or a range we did not ask for.
        if (start !== 0) {
          await res.body?.cancel();
          throw permanent(
            new EmbedError("DOWNLOAD_FAILED", `${t.url}: server answered bytes from ${start}, asked for ${offset}`, { url: t.url }),
          );
        }
        if (offset > 0) o.onStatus?.("server sent the whole file again; restarting");
        await rm(part, { force: true });
        offset = 0;
        hash = createHash("sha256");
      }
      total ??= contentTotal(res, first, offset);
      // If-Range needs the validator of the server that sends the bytes (the CDN), not the Hub's.
      state = { url: t.url, sha256: t.sha256, nBytes: total, etag: res.headers.get("etag") ?? undefined };
      linkedEtag = first.get("x-linked-etag") ?? undefined;
      await writeJson(partJson, state);
      offset = await appendBody(got, part, hash, offset, total, o);
      if (total === undefined || offset === total) break;
      if (offset > total) break; // caught by the size check below
      throw new EmbedError("DOWNLOAD_FAILED", `${t.url}: connection closed at byte ${offset} of ${total}`, { url: t.url });
    } catch (e) {
      if (!(e instanceof EmbedError)) throw new EmbedError("IO_ERROR", `${part}: ${(e as Error).message}`, { path: part }, { cause: e });
      const status = Number(e.detail.status);
      const retriable = e.code === "DOWNLOAD_FAILED" || e.code === "DOWNLOAD_STALLED";
      if (!retriable || e.detail.permanent === true || (status >= 400 && status < 500 && status !== 429)) throw e;
      // What is on disk is what counts: re-read it (a write may have stopped mid-chunk).
      offset = (await stat(part).catch(() => undefined))?.size ?? 0;
      hash = await hashFile(part, offset);
      const msg = /^https?:/.test(e.message) ? e.message : `${t.url}: ${e.message}`;
      if (attempt >= retries || o.signal?.aborted) {
        throw new EmbedError(
          e.code,
          `${msg}; ${offset} bytes are kept in ${part}, run again to resume`,
          { url: t.url, offset },
          { cause: e },
        );
      }
      o.onStatus?.(`${e.message}; retrying (${attempt + 1} of ${retries})`);
      await new Promise((r) => setTimeout(r, (o.retryDelayMs ?? 500) * 2 ** attempt));
      if (offset > attemptStart) attempt = -1; // progress was made: the retry budget starts over
    }
  }

  const sha256 = hash.digest("hex");
  const bad = (what: string) =>
    new EmbedError("CHECKSUM_MISMATCH", `${t.url}: ${what}; the download was deleted, run again to retry`, {
      url: t.url,
      expectedSha256: t.sha256,
      sha256,
      nBytes: offset,
      expectedBytes: t.nBytes,
    });
  if (t.nBytes !== undefined && offset !== t.nBytes) {
    await discard(part, partJson);
    throw bad(`got ${offset} bytes, the Hub lists ${t.nBytes}`);
  }
  if (t.sha256 && sha256 !== t.sha256.toLowerCase()) {
    await discard(part, partJson);
    throw bad(`sha256 is ${sha256}, expected ${t.sha256}`);
  }
  const sidecar: Sidecar = {
    url: t.url,
    ...t.meta,
    nBytes: offset,
    sha256,
    etag: linkedEtag ?? state?.etag,
    downloadedAt: new Date().toISOString(),
  };
  await writeJson(`${t.dest}.json`, sidecar);
  await rename(part, t.dest);
  await rm(partJson, { force: true });
  return sidecar;
}

function contentTotal(res: Response, first: Headers, offset: number): number | undefined {
  const cr = /\/(\d+)$/.exec(res.headers.get("content-range") ?? "");
  if (cr) return Number(cr[1]);
  const len = res.headers.get("content-length");
  if (len !== null && Number.isSafeInteger(Number(len))) return offset + Number(len);
  const linked = first.get("x-linked-size");
  return linked !== null ? Number(linked) : undefined;
}

/**
 * Stream the body onto the .part (appending), hashing as it goes; returns the new offset. Writing
 * stops at `total` when it is known: a server that sends more is cut there (the size and hash
 * checks then decide), so it cannot fill the disk.
 */
async function appendBody(
  got: FetchedResponse,
  part: string,
  hash: Hash,
  offset: number,
  total: number | undefined,
  o: DownloadOptions,
): Promise<number> {
  const fh = await open(part, offset === 0 ? "w" : "a");
  const idle = o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  try {
    o.onProgress?.(offset, total);
    try {
      for await (let chunk of bodyChunks(got, idle)) {
        if (total !== undefined && offset + chunk.byteLength > total) chunk = chunk.subarray(0, total - offset);
        let written = 0;
        while (written < chunk.byteLength) written += (await fh.write(chunk, written, chunk.byteLength - written)).bytesWritten;
        hash.update(chunk);
        offset += chunk.byteLength;
        o.onProgress?.(offset, total);
        if (offset === total) break; // anything more is not ours (bodyChunks cancels the rest)
      }
    } catch (e) {
      if (!(e instanceof EmbedError)) throw e; // a write error (ENOSPC, EIO) is the disk's, not the connection's
      throw new EmbedError(
        "DOWNLOAD_FAILED",
        `connection lost at byte ${offset}${total !== undefined ? ` of ${total}` : ""}: ${e.message}`,
        { offset },
        { cause: e },
      );
    }
    await fh.datasync();
    return offset;
  } finally {
    await fh.close();
  }
}

async function hashFile(path: string, nBytes: number): Promise<Hash> {
  const h = createHash("sha256");
  if (nBytes === 0) return h;
  for await (const chunk of createReadStream(path, { start: 0, end: nBytes - 1 })) h.update(chunk as Buffer);
  return h;
}

async function discard(part: string, partJson: string): Promise<void> {
  await rm(part, { force: true });
  await rm(partJson, { force: true });
}
