/**
 * Models already in a local Ollama store, used in place (no download, no copy): "ollama:NAME[:TAG]".
 * The store is $OLLAMA_MODELS or ~/.ollama/models, laid out as Ollama writes it (ollama server/modelpath.go,
 * server/manifest.go): manifests/<host>/<namespace>/<name>/<tag> is a JSON manifest whose layer of media
 * type application/vnd.ollama.image.model names the GGUF by digest, stored as blobs/sha256-<hex>.
 * The blob's size and sha256 are checked against the manifest before its path is handed out.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { EmbedError } from "../errors.js";

export const OLLAMA_MODEL_MEDIA_TYPE = "application/vnd.ollama.image.model";
const DEFAULT_HOST = "registry.ollama.ai",
  DEFAULT_NAMESPACE = "library",
  DEFAULT_TAG = "latest";

/** "ollama:embeddinggemma", "ollama:embeddinggemma:300m", "ollama:user/model:tag", "ollama:host/ns/model:tag". */
export interface OllamaName {
  host: string;
  namespace: string;
  model: string;
  tag: string;
}

export function parseOllamaName(spec: string): OllamaName {
  const s = spec.replace(/^ollama:/i, "");
  const colon = s.lastIndexOf(":");
  const slash = s.lastIndexOf("/");
  const [path, tag] = colon > slash ? [s.slice(0, colon), s.slice(colon + 1)] : [s, DEFAULT_TAG];
  const parts = path.split("/");
  const ok = /^[A-Za-z0-9_.-]+$/;
  if (parts.length > 3 || !tag || !ok.test(tag) || parts.some((p) => !ok.test(p) || p === "." || p === "..")) {
    throw new EmbedError("BAD_INPUT", `"${spec}" is not an Ollama model name (ollama:NAME[:TAG], e.g. ollama:embeddinggemma)`, { spec });
  }
  const [host, namespace, model] =
    parts.length === 3 ? parts : parts.length === 2 ? [DEFAULT_HOST, ...parts] : [DEFAULT_HOST, DEFAULT_NAMESPACE, parts[0]!];
  return { host: host!, namespace: namespace!, model: model!, tag };
}

/** The store directory: $OLLAMA_MODELS, else ~/.ollama/models (Ollama's envconfig.Models). */
export function ollamaStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.OLLAMA_MODELS || join(homedir(), ".ollama", "models");
}

interface Layer {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
}

/**
 * Local path of the GGUF of an Ollama model in `store`, its size checked against the manifest, and its
 * sha256 too unless `verify` is false (loading by name checks the size only; `pull` hashes).
 */
export async function resolveOllamaModel(
  spec: string,
  store: string = ollamaStoreDir(),
  verify = true,
): Promise<{ path: string; digest: string; nBytes: number }> {
  const n = parseOllamaName(spec);
  const manifestPath = join(store, "manifests", n.host, n.namespace, n.model, n.tag);
  const text = await readFile(manifestPath, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") {
      throw new EmbedError(
        "NOT_FOUND",
        `${n.model}:${n.tag} is not in the Ollama store ${store} (no ${manifestPath}); ` +
          `run "ollama pull ${n.model}:${n.tag}", or set OLLAMA_MODELS to the store`,
        { spec, manifest: manifestPath },
      );
    }
    throw new EmbedError("IO_ERROR", `cannot read ${manifestPath}: ${e.message}`, { manifest: manifestPath }, { cause: e });
  });
  let layers: Layer[];
  try {
    const m = JSON.parse(text) as { layers?: unknown };
    if (!Array.isArray(m.layers)) throw new Error("no layers array");
    layers = m.layers as Layer[];
  } catch (e) {
    throw new EmbedError("BAD_INPUT", `${manifestPath} is not an Ollama manifest: ${(e as Error).message}`, { manifest: manifestPath });
  }
  const model = layers.filter((l) => l.mediaType === OLLAMA_MODEL_MEDIA_TYPE);
  if (model.length !== 1) {
    throw new EmbedError("BAD_INPUT", `${manifestPath} has ${model.length} layers of type ${OLLAMA_MODEL_MEDIA_TYPE}; expected one`, {
      manifest: manifestPath,
    });
  }
  const { digest, size } = model[0]!;
  const hex = typeof digest === "string" ? /^sha256:([0-9a-f]{64})$/.exec(digest)?.[1] : undefined;
  if (!hex || typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new EmbedError("BAD_INPUT", `${manifestPath}: the model layer's digest or size is malformed`, {
      manifest: manifestPath,
      digest,
      size,
    });
  }
  const path = join(store, "blobs", `sha256-${hex}`);
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile())
    throw new EmbedError("NOT_FOUND", `the Ollama store lacks blob ${path} of ${n.model}:${n.tag}; run "ollama pull ${n.model}:${n.tag}"`, {
      path,
    });
  if (st.size !== size) {
    throw new EmbedError("CHECKSUM_MISMATCH", `${path} has ${st.size} bytes, its manifest says ${size}`, {
      path,
      nBytes: st.size,
      expected: size,
    });
  }
  if (!verify) return { path, digest: `sha256:${hex}`, nBytes: size };
  const h = createHash("sha256");
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  const got = h.digest("hex");
  if (got !== hex)
    throw new EmbedError("CHECKSUM_MISMATCH", `${path}: sha256 ${got} does not match its name and manifest (${hex})`, {
      path,
      sha256: got,
      expected: hex,
    });
  return { path, digest: `sha256:${hex}`, nBytes: size };
}
