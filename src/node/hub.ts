/**
 * Hugging Face Hub: model specs, environment, file listing, and which GGUF a spec means.
 *
 * Specs:  embeddinggemma                 the default model (alias, see MODEL_ALIASES)
 *         hf:owner/repo[:QUANT]          a GGUF of a repo, chosen by pickGGUF (below)
 *         hf:owner/repo/path/file.gguf   one file of a repo
 *         https://...                    any URL (a Hub resolve URL is treated as hf:owner/repo/file)
 * Environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (else HUGGING_FACE_HUB_TOKEN,
 * else the token file written by `hf auth login`), GGUF_EMBED_OFFLINE=1 or HF_HUB_OFFLINE=1.
 * API: GET {endpoint}/api/models/{repo}/tree/{rev}?recursive=true (paginated by Link headers,
 * followed only on the endpoint's origin, each page once, at most MAX_LISTING_PAGES),
 * entries { type, path, size, oid, lfs?: { oid: sha256, size } }; files at
 * {endpoint}/{repo}/resolve/{rev}/{path} (a redirect to a CDN for LFS files).
 * ref: huggingface.js packages/hub/src/lib/list-files.ts, file-download-info.ts
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { EmbedError } from "../errors.js";
import { SPLIT_NAME_RE } from "../gguf/split.js";
import { cacheDir, decodeUrlPart } from "./cache.js";
import { bodyChunks, causeText, DEFAULT_IDLE_TIMEOUT_MS, fetchFollow, httpError, withRetries, type HttpOptions } from "./fetch.js";

/** Transient failures of a listing request retried, 0.5 s then 1 s apart (fetch.ts withRetries). */
const LISTING_RETRIES = 2;

export const DEFAULT_MODEL = "embeddinggemma";
/**
 * Short names for the GGUF repos people pull (Ollama's names where it has one), Q8_0 each.
 * EmbeddingGemma-300M from ggml-org is the default: ungated, and the type our parity tests pin.
 * The model makers' own repos where they publish GGUF (Nomic, Qwen); community conversions otherwise.
 */
export const MODEL_ALIASES: Record<string, string> = {
  embeddinggemma: "hf:ggml-org/embeddinggemma-300M-GGUF:Q8_0",
  "embeddinggemma-300m": "hf:ggml-org/embeddinggemma-300M-GGUF:Q8_0",
  "nomic-embed-text": "hf:nomic-ai/nomic-embed-text-v1.5-GGUF:Q8_0",
  "qwen3-embedding": "hf:Qwen/Qwen3-Embedding-0.6B-GGUF:Q8_0",
  "qwen3-embedding-0.6b": "hf:Qwen/Qwen3-Embedding-0.6B-GGUF:Q8_0",
  "bge-m3": "hf:gpustack/bge-m3-GGUF:Q8_0",
  "mxbai-embed-large": "hf:ChristianAzinn/mxbai-embed-large-v1-gguf:Q8_0",
  "all-minilm": "hf:leliuga/all-MiniLM-L6-v2-GGUF:Q8_0",
};
export const DEFAULT_REVISION = "main";

export type ModelSpec = { kind: "hf"; repo: string; quant?: string; file?: string; revision: string } | { kind: "url"; url: string };

export interface HubConfig {
  endpoint: string;
  token?: string;
  offline: boolean;
  cacheDir: string;
  fetch?: typeof fetch;
  idleTimeoutMs?: number;
  /** First delay before a retry of a transient failure (doubling after). Default 500 ms. */
  retryDelayMs?: number;
}

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v);

export function hubConfigFromEnv(env: NodeJS.ProcessEnv = process.env): HubConfig {
  return {
    endpoint: (env.HF_ENDPOINT || "https://huggingface.co").replace(/\/+$/, ""),
    token: env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || tokenFile(env),
    offline: truthy(env.GGUF_EMBED_OFFLINE) || truthy(env.HF_HUB_OFFLINE),
    cacheDir: cacheDir(env),
  };
}

function tokenFile(env: NodeJS.ProcessEnv): string | undefined {
  const path = env.HF_TOKEN_PATH || join(env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "huggingface"), "token");
  try {
    return readFileSync(path, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

const REPO_RE = /^[\w.-]+\/[\w.-]+$/;

/** Parse a spec; undefined means "a local path". */
export function parseModelSpec(spec: string, endpoint = "https://huggingface.co"): ModelSpec | undefined {
  if (MODEL_ALIASES[spec.toLowerCase()]) return parseModelSpec(MODEL_ALIASES[spec.toLowerCase()], endpoint);
  const hf = /^(?:hf|huggingface):(.*)$/i.exec(spec);
  if (hf) {
    const body = hf[1].replace(/^\/+/, "");
    const parts = body.split("/");
    if (parts.length > 2 && /\.gguf$/i.test(body)) {
      return { kind: "hf", repo: parts.slice(0, 2).join("/"), file: parts.slice(2).join("/"), revision: DEFAULT_REVISION };
    }
    const [repo, quant, extra] = body.split(":");
    if (!REPO_RE.test(repo) || extra !== undefined || quant === "") {
      throw new EmbedError(
        "BAD_INPUT",
        `"${spec}" is not a model spec; expected hf:owner/repo, hf:owner/repo:QUANT or hf:owner/repo/file.gguf`,
        { spec },
      );
    }
    return { kind: "hf", repo, quant, revision: DEFAULT_REVISION };
  }
  if (/^https?:\/\//i.test(spec)) {
    let url: URL;
    try {
      url = new URL(spec);
    } catch {
      throw new EmbedError("BAD_INPUT", `"${spec.slice(0, 200)}" is not a valid URL`, { spec });
    }
    const m = /^\/([\w.-]+\/[\w.-]+)\/resolve\/([^/]+)\/(.+\.gguf)$/i.exec(url.pathname);
    const hubHosts = [new URL(endpoint).host, "huggingface.co", "hf.co"];
    if (m && hubHosts.includes(url.host))
      return { kind: "hf", repo: m[1], file: decodeUrlPart(m[3], url.href), revision: decodeUrlPart(m[2], url.href) };
    return { kind: "url", url: url.href };
  }
  return undefined;
}

export function resolveUrl(cfg: HubConfig, repo: string, file: string, revision = DEFAULT_REVISION): string {
  return `${cfg.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split("/").map(encodeURIComponent).join("/")}`;
}

export interface HubFile {
  path: string;
  nBytes: number;
  /** sha256 (hex) of the content: the LFS oid. Absent for small non-LFS files (their oid is a git sha1). */
  sha256?: string;
}

interface TreeEntry {
  type: string;
  path: string;
  size: number;
  oid: string;
  lfs?: { oid: string; size: number };
}

/** Most pages of a listing followed (the Hub pages 1,000 files at a time; real repos need a few). */
export const MAX_LISTING_PAGES = 1000;

/**
 * Every file of a repo at a revision (recursive, all pages). `Link: <...>; rel="next"` is followed
 * only to the endpoint's own origin (the token goes with it), never twice to the same page, and at
 * most MAX_LISTING_PAGES times. Guarded by test/node/pull-faults.test.ts.
 */
export async function listRepoFiles(cfg: HubConfig, repo: string, revision = DEFAULT_REVISION): Promise<HubFile[]> {
  const http: HttpOptions = { token: cfg.token, fetch: cfg.fetch, idleTimeoutMs: cfg.idleTimeoutMs };
  const origin = new URL(cfg.endpoint).origin;
  let url: string | undefined = `${cfg.endpoint}/api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`;
  const seen = new Set<string>();
  const out: HubFile[] = [];
  const refuse = (why: string) =>
    new EmbedError("DOWNLOAD_FAILED", `listing ${repo}: ${why}`, { repo, endpoint: cfg.endpoint, permanent: true });
  while (url) {
    if (seen.has(url)) throw refuse(`the Hub's pages loop back to ${url}`);
    if (seen.size >= MAX_LISTING_PAGES) throw refuse(`more than ${MAX_LISTING_PAGES} pages`);
    seen.add(url);
    let got;
    try {
      const page: string = url;
      got = await withRetries(
        async () => {
          const g = await fetchFollow(page, { accept: "application/json" }, http);
          if (g.res.status >= 500 || g.res.status === 429) throw await httpError(g.res, page, `listing ${repo}`, !!cfg.token);
          return g;
        },
        LISTING_RETRIES,
        cfg.retryDelayMs,
      );
    } catch (e) {
      if (e instanceof EmbedError && typeof e.detail.status === "number") throw e;
      const reason = e instanceof EmbedError && typeof e.detail.reason === "string" ? e.detail.reason : causeText(e);
      const code = e instanceof EmbedError && e.code === "DOWNLOAD_STALLED" ? "DOWNLOAD_STALLED" : "DOWNLOAD_FAILED";
      throw new EmbedError(
        code,
        `cannot reach ${cfg.endpoint} to list ${repo}: ${reason}; without network, use --offline ` +
          `(GGUF_EMBED_OFFLINE=1) to use cached models`,
        { repo, endpoint: cfg.endpoint },
        { cause: e },
      );
    }
    const { res } = got;
    if (!res.ok)
      throw await httpError(
        res,
        url,
        res.status === 404 ? `repository ${repo} (revision ${revision}) on ${cfg.endpoint}` : `listing ${repo}`,
        !!cfg.token,
      );
    let entries: TreeEntry[];
    try {
      const parts: Uint8Array[] = [];
      for await (const c of bodyChunks(got, cfg.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS)) parts.push(c);
      entries = JSON.parse(Buffer.concat(parts).toString("utf8")) as TreeEntry[];
    } catch (e) {
      throw new EmbedError(
        "DOWNLOAD_FAILED",
        `${url}: ${e instanceof EmbedError ? e.message : "the file list is not valid JSON"}`,
        { url },
        { cause: e },
      );
    }
    if (!Array.isArray(entries)) throw new EmbedError("DOWNLOAD_FAILED", `${url}: unexpected answer (not a file list)`, { url });
    for (const e of entries) {
      if (e.type !== "file") continue;
      out.push({ path: e.path, nBytes: e.lfs?.size ?? e.size, sha256: e.lfs?.oid });
    }
    const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "")?.[1];
    url = next ? new URL(next, url).href : undefined;
    if (url && new URL(url).origin !== origin) {
      throw refuse(`the next page is on another origin (${new URL(url).origin}); not following it, so the token stays with ${origin}`);
    }
  }
  return out;
}

const DENSE_YES = /dense|sentence[-_]?transformers|(^|[^a-z])st([^a-z]|$)/i;
const DENSE_NO = /no[-_]?dense|without[-_]?dense|base[-_]?model/i;

/** 1 if the name says the file carries the Sentence-Transformers Dense layers, -1 if it says not. */
export function denseHint(name: string): number {
  if (DENSE_NO.test(name)) return -1;
  return DENSE_YES.test(name) ? 1 : 0;
}

const baseName = (p: string) => p.slice(p.lastIndexOf("/") + 1);

/** GGUF model files of a listing: no mmproj/vision projectors, and only part 1 of split models. */
export function ggufCandidates(paths: string[]): string[] {
  return paths.filter((p) => {
    const b = baseName(p);
    if (!/\.gguf$/i.test(b) || /mmproj|projector/i.test(b)) return false;
    const split = SPLIT_NAME_RE.exec(b);
    return !split || Number(split[2]) === 1;
  });
}

/**
 * Which GGUF `hf:owner/repo[:QUANT]` means. The rule, in order:
 *  1. GGUF model files only (ggufCandidates).
 *  2. With a QUANT: names containing it, case-insensitive; an exact quant token ("Q4_K" not followed
 *     by more of a quant name, as in "Q4_K_M") beats a prefix. Without: the only file, else Q8_0.
 *  3. Files whose name says they carry the Dense layers ("dense", "st", "sentence-transformers")
 *     beat files with no hint, which beat "no-dense" names (denseHint).
 *  4. Still tied: `probeDense` (reads each tied file's GGUF header for dense_2.weight) when given.
 *  5. Still tied: the shortest name, then alphabetical.
 * Returns the chosen path, or throws NOT_FOUND / BAD_INPUT listing what is there.
 */
export async function pickGGUF(
  paths: string[],
  repo: string,
  quant: string | undefined,
  probeDense?: (path: string) => Promise<boolean>,
): Promise<string> {
  const all = ggufCandidates(paths);
  if (all.length === 0)
    throw new EmbedError(
      "NOT_FOUND",
      `${repo} has no GGUF model files${paths.length ? ` (files: ${paths.slice(0, 10).join(", ")})` : ""}`,
      { repo },
    );
  let q = quant;
  if (q === undefined) {
    if (all.length === 1) return all[0];
    q = "Q8_0";
  }
  const lower = q.toLowerCase();
  let c = all.filter((p) => baseName(p).toLowerCase().includes(lower));
  if (c.length === 0) {
    const msg =
      quant === undefined
        ? `${repo} has several GGUF files and none is Q8_0; pick one with hf:${repo}:QUANT`
        : `${repo} has no GGUF file matching "${quant}"`;
    throw new EmbedError(quant === undefined ? "BAD_INPUT" : "NOT_FOUND", `${msg} (available: ${all.map(baseName).join(", ")})`, {
      repo,
      quant,
    });
  }
  const exact = new RegExp(`(^|[^a-z0-9])${lower.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![a-z0-9_])`, "i");
  const exactOnes = c.filter((p) => exact.test(baseName(p)));
  if (exactOnes.length > 0) c = exactOnes;
  const best = Math.max(...c.map((p) => denseHint(baseName(p))));
  c = c.filter((p) => denseHint(baseName(p)) === best);
  if (c.length > 1 && probeDense) {
    const dense: string[] = [];
    for (const p of c) if (await probeDense(p).catch(() => false)) dense.push(p);
    if (dense.length > 0) c = dense;
  }
  return [...c].sort((a, b) => baseName(a).length - baseName(b).length || (a < b ? -1 : a > b ? 1 : 0))[0];
}

/** All files of a split model, given its first part (or just [path]). */
export function splitSiblings(path: string): string[] {
  const m = SPLIT_NAME_RE.exec(baseName(path));
  if (!m) return [path];
  const dir = path.slice(0, path.length - baseName(path).length);
  return Array.from({ length: Number(m[3]) }, (_, i) => `${dir}${m[1]}-${String(i + 1).padStart(5, "0")}-of-${m[3]}.gguf`);
}
