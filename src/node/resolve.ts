/**
 * Model spec -> local file path. `resolveModel` is cache-first (no network when the file is
 * cached); `pullModel` asks the Hub for the current file list and re-downloads a file whose
 * sha256 changed upstream, or whose bytes on disk no longer match (size always; sha256 with
 * `verify`). Each revision has its own cache directory (cache.ts). A local path stays a path.
 * Offline mode (option, GGUF_EMBED_OFFLINE=1 or HF_HUB_OFFLINE=1) uses the cache only and fails
 * with OFFLINE when the model is not there. `embed`, `serve` and loadModel all come through here.
 */
import { EmbedError } from "../errors.js";
import { readGGUF } from "../gguf/reader.js";
import { checkRange, type ByteSource } from "../gguf/source.js";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { exists, listCachedFiles, readJson, repoDir, repoFilePath, urlFilePath, type Sidecar } from "./cache.js";
import { download, type DownloadOptions } from "./download.js";
import { ollamaStoreDir, resolveOllamaModel } from "./ollama-store.js";
import { fetchFollow, httpError } from "./fetch.js";
import {
  DEFAULT_MODEL,
  hubConfigFromEnv,
  listRepoFiles,
  parseModelSpec,
  pickGGUF,
  resolveUrl,
  splitSiblings,
  type HubConfig,
  type ModelSpec,
} from "./hub.js";

export interface ResolveOptions
  extends Pick<DownloadOptions, "onProgress" | "onStatus" | "retries" | "retryDelayMs" | "signal" | "idleTimeoutMs" | "lockStaleMs"> {
  /** Environment to read HF_ENDPOINT, HF_TOKEN, GGUF_EMBED_CACHE, ... from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Overrides of the environment's settings. */
  offline?: boolean;
  cacheDir?: string;
  fetch?: typeof fetch;
  /** Called before each file download: its repo path (or URL), size when known, and destination. */
  onDownload?: (file: string, nBytes: number | undefined, dest: string) => void;
  /** pull: re-hash cached files against the Hub's sha256 (else only their size is checked). */
  verify?: boolean;
}

export interface PullResult {
  /** Local path of the model (the first part, for split models). */
  path: string;
  /** "downloaded": fetched now; "cached": found in the cache without asking the Hub (offline);
   * "up-to-date": in the cache and matching the Hub's sha256. */
  status: "downloaded" | "cached" | "up-to-date";
  spec: ModelSpec;
}

function config(o: ResolveOptions): HubConfig {
  const cfg = hubConfigFromEnv(o.env ?? process.env);
  return {
    ...cfg,
    offline: o.offline ?? cfg.offline,
    cacheDir: o.cacheDir ?? cfg.cacheDir,
    fetch: o.fetch,
    idleTimeoutMs: o.idleTimeoutMs,
    retryDelayMs: o.retryDelayMs,
  };
}

/** Local path of a model spec, downloading it into the cache the first time. */
export async function resolveModel(spec: string = DEFAULT_MODEL, opts: ResolveOptions = {}): Promise<string> {
  const cfg = config(opts);
  if (/^ollama:/i.test(spec)) return (await resolveOllamaModel(spec, ollamaStoreDir(opts.env ?? process.env), false)).path; // in place
  const special = /^(hf|huggingface):|^https?:\/\//i.test(spec);
  if (!special && (await exists(spec))) return spec; // a local file wins over a model name
  const parsed = parseModelSpec(spec, cfg.endpoint);
  if (!parsed) return spec;
  const cached = await findCached(cfg, parsed);
  if (cached) return cached;
  return (await pullParsed(cfg, parsed, spec, opts)).path;
}

/** Make sure the cache holds the current version of a spec's model (the `pull` command). */
export async function pullModel(spec: string = DEFAULT_MODEL, opts: ResolveOptions = {}): Promise<PullResult> {
  const cfg = config(opts);
  const parsed = parseModelSpec(spec, cfg.endpoint);
  if (!parsed) throw new EmbedError("BAD_INPUT", `"${spec}" is neither a known model name, an hf: spec nor an http(s) URL`, { spec });
  return pullParsed(cfg, parsed, spec, opts);
}

async function pullParsed(cfg: HubConfig, spec: ModelSpec, text: string, opts: ResolveOptions): Promise<PullResult> {
  if (cfg.offline) {
    const cached = await findCached(cfg, spec);
    if (cached) return { path: cached, status: "cached", spec };
    throw new EmbedError(
      "OFFLINE",
      `${text} is not in the cache (${cfg.cacheDir}) and offline mode is on; run "gguf-embed pull ${text}" with network access first`,
      { spec: text, cacheDir: cfg.cacheDir },
    );
  }
  const dl: DownloadOptions = { ...opts, token: cfg.token, fetch: cfg.fetch };
  if (spec.kind === "url") {
    const dest = urlFilePath(cfg.cacheDir, new URL(spec.url));
    if (await intact(dest, opts.verify)) return { path: dest, status: "cached", spec };
    await discardCached(dest, opts);
    opts.onDownload?.(spec.url, undefined, dest);
    // A token is for the Hub: only send it when the URL is on the Hub endpoint.
    await download(
      { url: spec.url, dest },
      { ...dl, token: new URL(spec.url).origin === new URL(cfg.endpoint).origin ? cfg.token : undefined },
    );
    return { path: dest, status: "downloaded", spec };
  }
  const files = await listRepoFiles(cfg, spec.repo, spec.revision);
  const byPath = new Map(files.map((f) => [f.path, f]));
  let chosen: string;
  if (spec.file) {
    if (!byPath.has(spec.file))
      throw new EmbedError("NOT_FOUND", `${spec.repo} has no file ${spec.file} (revision ${spec.revision})`, {
        repo: spec.repo,
        file: spec.file,
      });
    chosen = spec.file;
  } else {
    chosen = await pickGGUF(
      files.map((f) => f.path),
      spec.repo,
      spec.quant,
      (p) => probeDense(cfg, spec.repo, p, spec.revision),
    );
  }
  let status: PullResult["status"] = "up-to-date";
  for (const part of splitSiblings(chosen)) {
    const f = byPath.get(part);
    if (!f)
      throw new EmbedError("NOT_FOUND", `${spec.repo}: split part ${part} is missing from the repository`, { repo: spec.repo, file: part });
    const dest = repoFilePath(cfg.cacheDir, spec.repo, part, spec.revision);
    const side = await readJson<Sidecar>(`${dest}.json`);
    const current = side && side.nBytes === f.nBytes && (!f.sha256 || side.sha256 === f.sha256);
    if (current && (await intact(dest, opts.verify, f.sha256))) continue;
    if (current) await discardCached(dest, opts); // the record matches the Hub, the bytes on disk do not
    opts.onDownload?.(`${spec.repo}/${part}`, f.nBytes, dest);
    await download(
      {
        url: resolveUrl(cfg, spec.repo, part, spec.revision),
        dest,
        nBytes: f.nBytes,
        sha256: f.sha256,
        meta: { repo: spec.repo, file: part, revision: spec.revision },
      },
      dl,
    );
    status = "downloaded";
  }
  return { path: repoFilePath(cfg.cacheDir, spec.repo, chosen, spec.revision), status, spec };
}

/** The cached file a spec means, by the same choice rule as online (names only); intact ones only. */
async function findCached(cfg: HubConfig, spec: ModelSpec): Promise<string | undefined> {
  if (spec.kind === "url") {
    const dest = urlFilePath(cfg.cacheDir, new URL(spec.url));
    return (await intact(dest)) ? dest : undefined;
  }
  let file = spec.file;
  if (!file) {
    const have = await listCachedFiles(repoDir(cfg.cacheDir, spec.repo, spec.revision));
    try {
      file = await pickGGUF(have, spec.repo, spec.quant);
    } catch {
      return undefined;
    }
  }
  for (const part of splitSiblings(file)) if (!(await intact(repoFilePath(cfg.cacheDir, spec.repo, part, spec.revision)))) return undefined;
  return repoFilePath(cfg.cacheDir, spec.repo, file, spec.revision);
}

/** Remove a cached file that failed `intact` (and its sidecar), so it is downloaded again. */
async function discardCached(dest: string, opts: ResolveOptions): Promise<void> {
  if (!(await exists(dest))) return;
  opts.onStatus?.(`${dest} does not match its record (${opts.verify ? "size or sha256" : "size"}); downloading it again`);
  await rm(`${dest}.json`, { force: true });
  await rm(dest, { force: true });
}

/**
 * A cached file is intact when it exists with the size its sidecar records (a file truncated on
 * disk is not "cached"); with `verify`, its sha256 must also match (`sha256` if given, else the
 * sidecar's). A file without a sidecar (copied in by hand) counts when it exists.
 */
async function intact(path: string, verify = false, sha256?: string): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) return false;
  const side = await readJson<Sidecar>(`${path}.json`);
  if (!side) return true;
  if (st.size !== side.nBytes) return false;
  if (!verify) return true;
  const h = createHash("sha256");
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest("hex") === (sha256 ?? side.sha256).toLowerCase();
}

/** Does a Hub GGUF carry the Dense layers? Reads only its header, with Range requests. */
async function probeDense(cfg: HubConfig, repo: string, path: string, revision: string): Promise<boolean> {
  const src = await HubRangeSource.open(resolveUrl(cfg, repo, path, revision), cfg);
  const f = await readGGUF(src);
  return f.tensors.some((t) => t.name === "dense_2.weight") || [...f.metadata.keys()].some((k) => k.endsWith(".dense_2_feat_out"));
}

/** Range reads through fetchFollow (Authorization to the Hub only, never to its CDN). */
class HubRangeSource implements ByteSource {
  private constructor(
    readonly name: string,
    readonly nBytes: number,
    private readonly cfg: HubConfig,
  ) {}

  static async open(url: string, cfg: HubConfig): Promise<HubRangeSource> {
    const { res } = await fetchFollow(url, { range: "bytes=0-0" }, { token: cfg.token, fetch: cfg.fetch });
    if (res.status !== 206) throw await httpError(res, url, url, !!cfg.token);
    await res.body?.cancel();
    const total = Number(/\/(\d+)$/.exec(res.headers.get("content-range") ?? "")?.[1]);
    if (!Number.isSafeInteger(total)) throw new EmbedError("DOWNLOAD_FAILED", `${url}: no size in Content-Range`, { url });
    return new HubRangeSource(url, total, cfg);
  }

  async read(byteOffset: number, nBytes: number): Promise<Uint8Array> {
    checkRange(this, byteOffset, nBytes);
    if (nBytes === 0) return new Uint8Array(0);
    const { res } = await fetchFollow(
      this.name,
      { range: `bytes=${byteOffset}-${byteOffset + nBytes - 1}` },
      { token: this.cfg.token, fetch: this.cfg.fetch },
    );
    if (res.status !== 206) throw await httpError(res, this.name, this.name, !!this.cfg.token);
    const buf = new Uint8Array(await res.arrayBuffer());
    if (buf.byteLength !== nBytes)
      throw new EmbedError("DOWNLOAD_FAILED", `${this.name}: range at ${byteOffset} returned ${buf.byteLength} of ${nBytes} bytes`, {
        url: this.name,
      });
    return buf;
  }
}
