/**
 * `pull ollama:NAME` / `pull --from-ollama NAME` and loadModel("ollama:NAME"): the GGUF blob of a local
 * Ollama store (a temp dir laid out as Ollama lays it out: manifests/registry.ollama.ai/library/<name>/<tag>,
 * blobs/sha256-<hex>), used in place, its digest checked; no network (the Hub endpoint points nowhere).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.js";
import { loadModel } from "../../src/node.js";
import { parseOllamaName, resolveOllamaModel } from "../../src/node/ollama-store.js";
import { EmbedError } from "../../src/errors.js";
import { gemmaFixture } from "../helpers/fixtures.js";
import { sha256Hex as sha } from "../helpers/fake-hub.js";
import { capture } from "../helpers/cli-io.js";
import { withEnv } from "../helpers/env.js";

let store: string, fixture: string, modelHex: string;
const env = () => ({ OLLAMA_MODELS: store, HF_ENDPOINT: "http://127.0.0.1:9", GGUF_EMBED_CACHE: join(store, "no-cache") });

/** Writes a blob as Ollama does (blobs/sha256-<hex>) and returns its manifest layer. */
async function blob(mediaType: string, bytes: Uint8Array, hex = sha(bytes)) {
  await writeFile(join(store, "blobs", `sha256-${hex}`), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

async function manifest(name: string, tag: string, layers: object[]): Promise<void> {
  const dir = join(store, "manifests", "registry.ollama.ai", "library", name);
  await mkdir(dir, { recursive: true });
  const config = await blob(
    "application/vnd.docker.container.image.v1+json",
    new TextEncoder().encode(JSON.stringify({ model_format: "gguf", model_family: "gemma3" })),
  );
  await writeFile(
    join(dir, tag),
    JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json", config, layers }),
  );
}

before(async () => {
  store = await mkdtemp(join(tmpdir(), "gguf-embed-ollama-"));
  await mkdir(join(store, "blobs"), { recursive: true });
  // the Ollama-layout file of test/models/gemma3-ollama.test.ts (same options: one cached fixture)
  fixture = await gemmaFixture({ nLayer: 6, weightType: "Q8_0", dense: true, nSwa: 8, typeOverrides: { dense: "BF16" }, layout: "ollama" });
  const bytes = await readFile(fixture);
  modelHex = sha(bytes);
  await copyFile(fixture, join(store, "blobs", `sha256-${modelHex}`));
  const license = await blob("application/vnd.ollama.image.license", new TextEncoder().encode("Gemma Terms of Use"));
  const params = await blob("application/vnd.ollama.image.params", new TextEncoder().encode("{}"));
  await manifest("embeddinggemma", "latest", [
    { mediaType: "application/vnd.ollama.image.model", digest: `sha256:${modelHex}`, size: bytes.length },
    license,
    params,
  ]);
  // a damaged blob: its bytes no longer hash to its name
  const good = new Uint8Array(4096).fill(7);
  const layer = await blob("application/vnd.ollama.image.model", good);
  good[100] ^= 1;
  await writeFile(join(store, "blobs", `sha256-${sha(new Uint8Array(4096).fill(7))}`), good);
  await manifest("damaged", "latest", [layer]);
});

after(async () => {
  if (store) await rm(store, { recursive: true, force: true });
});

test("Ollama names: library models, tags, namespaces and hosts; bad names refused", () => {
  assert.deepEqual(parseOllamaName("ollama:embeddinggemma"), {
    host: "registry.ollama.ai",
    namespace: "library",
    model: "embeddinggemma",
    tag: "latest",
  });
  assert.deepEqual(parseOllamaName("embeddinggemma:300m"), {
    host: "registry.ollama.ai",
    namespace: "library",
    model: "embeddinggemma",
    tag: "300m",
  });
  assert.deepEqual(parseOllamaName("ollama:me/emb:q8"), { host: "registry.ollama.ai", namespace: "me", model: "emb", tag: "q8" });
  assert.deepEqual(parseOllamaName("ollama:hf.co/org/emb"), { host: "hf.co", namespace: "org", model: "emb", tag: "latest" });
  for (const bad of ["ollama:../x", "ollama:a/b/c/d", "ollama:emb:", "ollama:e mb"])
    assert.throws(() => parseOllamaName(bad), EmbedError, bad);
});

test("pull ollama:embeddinggemma prints the blob's path (used in place, digest verified); --from-ollama is the same", async () => {
  const blobPath = join(store, "blobs", `sha256-${modelHex}`);
  const c = capture();
  assert.equal(await withEnv(env(), () => main(["pull", "ollama:embeddinggemma"], c.io)), 0, c.err);
  assert.equal(c.out, blobPath + "\n");
  assert.match(c.err, /found in the Ollama store \(sha256:[0-9a-f]{64}\), used in place/);
  const c2 = capture();
  assert.equal(await withEnv(env(), () => main(["pull", "--from-ollama", "embeddinggemma:latest"], c2.io)), 0, c2.err);
  assert.equal(c2.out, blobPath + "\n");
});

test('loadModel("ollama:embeddinggemma") loads the gemma3 blob from the store and embeds', async () => {
  const model = await withEnv(env(), () => loadModel("ollama:embeddinggemma", { backend: "js" }));
  try {
    assert.equal(model.info.architecture, "gemma3");
    const [v] = await model.embed(["Which planet is red?"], { task: "query" });
    assert.equal(v!.length, 768);
    const ref = await loadModel(fixture, { backend: "js" });
    try {
      assert.deepEqual(Array.from(v!), Array.from((await ref.embed(["Which planet is red?"], { task: "query" }))[0]!));
    } finally {
      await ref.close();
    }
  } finally {
    await model.close();
  }
});

test("a damaged blob, a missing model and a missing blob are errors that say what to do", async () => {
  await assert.rejects(resolveOllamaModel("damaged", store), (e: unknown) => e instanceof EmbedError && e.code === "CHECKSUM_MISMATCH");
  const c = capture();
  assert.equal(await withEnv(env(), () => main(["pull", "ollama:damaged"], c.io)), 1);
  assert.match(c.err, /sha256 [0-9a-f]{64} does not match/);
  const c2 = capture();
  assert.equal(await withEnv(env(), () => main(["pull", "ollama:nomic-embed-text"], c2.io)), 1);
  assert.match(c2.err, /not in the Ollama store .*ollama pull nomic-embed-text:latest/);
  await manifest("gone", "latest", [{ mediaType: "application/vnd.ollama.image.model", digest: `sha256:${"ab".repeat(32)}`, size: 10 }]);
  await assert.rejects(
    resolveOllamaModel("gone", store),
    (e: unknown) => e instanceof EmbedError && e.code === "NOT_FOUND" && /lacks blob/.test(e.message),
  );
});
