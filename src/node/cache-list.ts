/**
 * `gguf-embed list` and `gguf-embed rm`: the models in the cache (layout in cache.ts) with their
 * sizes, and removing one with its sidecar and partial download. A name is the file's path inside
 * the cache as `list` prints it, or any model spec that resolves to a cached file ("embeddinggemma",
 * "hf:owner/repo:Q8_0"; resolved offline, so rm never downloads).
 */
import { readdir, rm, rmdir, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { EmbedError } from "../errors.js";
import { listCachedFiles, readJson, type Sidecar } from "./cache.js";
import { resolveModel } from "./resolve.js";

export interface CachedModel {
  /** Path inside the cache, with "/" (what rm takes). */
  name: string;
  path: string;
  nBytes: number;
  /** The Hub repository and file, when the sidecar names them. */
  source?: string;
  /** A download that has not finished (`<file>.part`); `nBytes` is what arrived so far. */
  partial: boolean;
}

/** Every cached .gguf file and partial download under `root`, sorted by name. */
export async function listCache(root: string): Promise<CachedModel[]> {
  const out: CachedModel[] = [];
  for (const name of await listCachedFiles(root)) {
    if (!/\.gguf$/i.test(name)) continue;
    const path = join(root, ...name.split("/"));
    const side = await readJson<Sidecar>(`${path}.json`);
    const nBytes = (await stat(path)).size;
    const source = side?.repo && side.file ? `hf:${side.repo}/${side.file}` : side?.url;
    out.push({ name, path, nBytes, partial: false, ...(source ? { source } : {}) });
  }
  for (const name of await partFiles(root, "")) {
    const path = join(root, ...name.split("/"));
    const nBytes = (await stat(path)).size;
    out.push({ name: name.slice(0, -".part".length), path: path.slice(0, -".part".length), nBytes, partial: true });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function partFiles(dir: string, prefix: string): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    if (e.isDirectory()) out.push(...(await partFiles(dir, `${prefix}${e.name}/`)));
    else if (e.isFile() && /\.gguf\.part$/i.test(e.name)) out.push(prefix + e.name);
  }
  return out;
}

/**
 * Remove a cached model (file, sidecar, partial download and lock) and the directories left empty.
 * Returns what was removed; NOT_FOUND when nothing in the cache has that name.
 */
export async function removeCached(root: string, name: string, env: NodeJS.ProcessEnv = process.env): Promise<CachedModel> {
  const all = await listCache(root);
  let hit = all.find((m) => m.name === name || m.path === name);
  if (!hit) {
    // A model spec: find its cached file without any network.
    const path = await resolveModel(name, { offline: true, cacheDir: root, env }).catch(() => undefined);
    hit = path === undefined ? undefined : all.find((m) => m.path === path);
  }
  if (!hit) {
    throw new EmbedError("NOT_FOUND", `"${name}" is not in the cache (${root}); "gguf-embed list" shows what is`, { name, cacheDir: root });
  }
  for (const ext of ["", ".json", ".part", ".part.json", ".lock"]) await rm(hit.path + ext, { force: true });
  // Drop directories left empty, up to (not including) the cache root.
  for (let dir = dirname(hit.path); inside(root, dir); dir = dirname(dir)) {
    if (
      !(await rmdir(dir).then(
        () => true,
        () => false,
      ))
    )
      break;
  }
  return hit;
}

function inside(root: string, dir: string): boolean {
  const r = relative(root, dir);
  return r !== "" && !r.startsWith("..") && !isAbsolute(r) && !r.split(sep).includes("..");
}
