/**
 * HTTP for pull: GET with redirects followed by hand, so Authorization goes only to the origin that
 * was asked (the Hub), never to the CDN it redirects to; an idle timeout on the headers and on
 * every body chunk; and the Hub's errors as EmbedErrors (gated and private repos, HF_TOKEN).
 * ref: huggingface.js packages/hub/src/lib/file-download-info.ts (the X-Linked-* headers).
 */
import { EmbedError } from "../errors.js";

export interface FetchedResponse {
  res: Response;
  /** The URL that answered (after redirects). */
  url: string;
  /** Headers of the first response (the Hub's X-Linked-Etag / X-Linked-Size live on the redirect). */
  first: Headers;
  /** Abort the request (its body stops with an error): for an idle timeout while reading. */
  abort(reason: Error): void;
}

export interface HttpOptions {
  /** Sent as `Authorization: Bearer` to the origin of the first URL only. */
  token?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** A server that sends nothing (no headers, no body byte) for this long is dropped. Default 30 s. */
  idleTimeoutMs?: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** A failure a retry may cure: a dropped or stalled connection, a 5xx, a 429. */
export function transient(e: unknown): e is EmbedError {
  if (!(e instanceof EmbedError) || e.detail.permanent === true) return false;
  const status = Number(e.detail.status);
  return e.code === "DOWNLOAD_STALLED" || (e.code === "DOWNLOAD_FAILED" && !(status >= 400 && status < 500 && status !== 429));
}

/** `f()`, retried after 0.5 s, 1 s, 2 s ... (`delayMs` doubling) while it fails transiently, at most `retries` times. */
export async function withRetries<T>(
  f: () => Promise<T>,
  retries: number,
  delayMs = 500,
  onRetry?: (e: EmbedError, n: number) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      if (attempt >= retries || !transient(e)) throw e;
      onRetry?.(e, attempt + 1);
      await new Promise((r) => setTimeout(r, delayMs * 2 ** attempt));
    }
  }
}

/** A failure that will not change on a retry (a redirect loop, a malformed answer). */
export function permanent(e: EmbedError): EmbedError {
  e.detail.permanent = true;
  return e;
}

/** GET `url`, following up to 10 redirects; Authorization is dropped once the origin changes. */
export async function fetchFollow(url: string, headers: Record<string, string>, o: HttpOptions = {}): Promise<FetchedResponse> {
  const doFetch = o.fetch ?? fetch;
  const origin = new URL(url).origin;
  let current = new URL(url);
  let first: Headers | undefined;
  const idle = o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  for (let hop = 0; hop <= 10; hop++) {
    const h: Record<string, string> = { "user-agent": "gguf-embed", ...headers };
    if (o.token && current.origin === origin) h.authorization = `Bearer ${o.token}`;
    const ac = new AbortController();
    const signal = o.signal ? AbortSignal.any([o.signal, ac.signal]) : ac.signal;
    const timer = setTimeout(() => ac.abort(new Error(`no answer within ${idle} ms`)), idle);
    let res: Response;
    try {
      res = await doFetch(current.href, { headers: h, redirect: "manual", signal });
    } catch (e) {
      // Our idle timer fired: the server took the connection (or never completed it) and sent no headers.
      const stalled = ac.signal.aborted && !o.signal?.aborted;
      const why = stalled ? `${(ac.signal.reason as Error).message} (connected or not, the server sent nothing)` : causeText(e);
      throw new EmbedError(
        stalled ? "DOWNLOAD_STALLED" : "DOWNLOAD_FAILED",
        `${current.href}: request failed: ${why}`,
        { url: current.href, reason: why, stalled },
        { cause: e },
      );
    } finally {
      clearTimeout(timer);
    }
    first ??= res.headers;
    const loc = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && loc) {
      await res.body?.cancel();
      current = new URL(loc, current);
      continue;
    }
    return { res, url: current.href, first, abort: (reason) => ac.abort(reason) };
  }
  throw permanent(new EmbedError("DOWNLOAD_FAILED", `${url}: more than 10 redirects`, { url }));
}

/**
 * Chunks of a response body, each within `idleMs` of the previous one; past that the request is
 * aborted and the read fails with DOWNLOAD_STALLED ("no data for N ms").
 */
export async function* bodyChunks(got: FetchedResponse, idleMs: number): AsyncGenerator<Uint8Array> {
  const reader = got.res.body?.getReader();
  if (!reader) return;
  let stalled = false;
  const timer = setTimeout(() => {
    stalled = true;
    got.abort(new Error(`no data for ${idleMs} ms`));
  }, idleMs);
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        const why = stalled ? `the server sent no data for ${idleMs} ms` : causeText(e);
        throw new EmbedError(stalled ? "DOWNLOAD_STALLED" : "DOWNLOAD_FAILED", why, { stalled }, { cause: e });
      }
      if (r.done) return;
      timer.refresh();
      yield r.value;
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
}

export function causeText(e: unknown): string {
  const err = e as Error & { cause?: Error & { code?: string } };
  return err.cause ? `${err.message} (${err.cause.code ?? err.cause.message})` : err.message;
}

/**
 * The EmbedError for a failed HTTP response. 401/403 explain gated and private repos and HF_TOKEN;
 * the Hub's X-Error-Code / X-Error-Message headers say which.
 */
export async function httpError(res: Response, url: string, what: string, hadToken: boolean): Promise<EmbedError> {
  const body = (await res.text().catch(() => "")).slice(0, 300);
  const hubCode = res.headers.get("x-error-code") ?? undefined;
  let hubMsg = res.headers.get("x-error-message") ?? undefined;
  if (!hubMsg && /^\s*\{/.test(body)) {
    try {
      hubMsg = (JSON.parse(body) as { error?: string }).error;
    } catch {
      // not the Hub's JSON error shape; the status says enough
    }
  }
  const detail = { url, status: res.status, hubCode };
  if (res.status === 401 || res.status === 403) {
    // The repo's page: {endpoint}/{owner}/{repo}, from a resolve URL or an API URL.
    const u = new URL(url);
    const repo = /^\/api\/models\/([^/]+\/[^/]+)/.exec(u.pathname)?.[1] ?? /^\/([^/]+\/[^/]+)\/resolve\//.exec(u.pathname)?.[1];
    const page = repo ? `${u.origin}/${repo}` : "the repository's Hub page";
    const gated = hubCode === "GatedRepo" || /gated|restricted/i.test(hubMsg ?? "");
    const how = gated
      ? hadToken
        ? `this is a gated repository and the HF_TOKEN given has no access to it: accept its terms at ${page} with the token's account, and check that the token can read gated repositories`
        : `this is a gated repository: accept its terms at ${page} while logged in, then set HF_TOKEN to an access token of that account (https://huggingface.co/settings/tokens)`
      : hadToken
        ? "the HF_TOKEN given was refused: check that it is valid and can read this repository"
        : "the repository is private or gated: set HF_TOKEN to an access token that can read it (https://huggingface.co/settings/tokens)";
    return new EmbedError("UNAUTHORIZED", `${what}: HTTP ${res.status}${hubMsg ? ` (${hubMsg})` : ""}; ${how}`, detail);
  }
  if (res.status === 404) return new EmbedError("NOT_FOUND", `${what}: not found (HTTP 404${hubMsg ? `: ${hubMsg}` : ""})`, detail);
  return new EmbedError(
    "DOWNLOAD_FAILED",
    `${what}: HTTP ${res.status}${hubMsg ? ` (${hubMsg})` : body ? ` (${body.trim()})` : ""}`,
    detail,
  );
}
