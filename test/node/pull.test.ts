/**
 * `pull` / resolveModel against a local fake Hub (test/helpers/fake-hub.ts): listing and quant
 * choice, Range resume after a dropped connection, cross-origin redirect without Authorization,
 * checksum mismatch, gated repos, 404s, offline hits and misses, and the CLI. No test leaves 127.0.0.1.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeGGUFToBuffer } from "../../src/gguf/writer.js";
import { kv } from "../../src/gguf/keys.js";
import { GGMLType } from "../../src/tensor/ggml-type.js";
import { pickGGUF } from "../../src/node/hub.js";
import { pullModel, resolveModel, type ResolveOptions } from "../../src/node/resolve.js";
import { main } from "../../src/cli/main.js";
import { loadModel } from "../../src/node.js";
import { gemmaFixture } from "../helpers/fixtures.js";
import { seededBytes as bytes, sha256Hex as sha, startFakeHub, type FakeHub } from "../helpers/fake-hub.js";
import { rejects } from "../helpers/embed-error.js";
import { capture } from "../helpers/cli-io.js";
import { withEnv } from "../helpers/env.js";

/** A tiny GGUF, with or without the Dense tensor, so the header probe has something to read. */
const gguf = (dense: boolean) =>
  encodeGGUFToBuffer({
    metadata: [["general.architecture", kv.str("gemma-embedding")]],
    tensors: [{ name: dense ? "dense_2.weight" : "output_norm.weight", type: GGMLType.F32, ne: [4], data: new Uint8Array(16) }],
  });

const BIG = bytes(3 << 20, "big"),
  SMALL = bytes(40_000, "small"),
  BAD = bytes(50_000, "bad");
const PLAIN = gguf(false),
  DENSE = gguf(true);
const TOKEN = "hf_test_token";
let hub: FakeHub;
let tmp: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "gguf-embed-pull-"));
  hub = await startFakeHub(
    {
      "org/emb": {
        files: [
          { path: "README.md", content: new TextEncoder().encode("# emb\n"), direct: true },
          { path: "emb-Q4_K_M.gguf", content: SMALL },
          { path: "emb-Q4_K_S.gguf", content: bytes(1000, "s") },
          { path: "emb-Q8_0.gguf", content: bytes(1000, "q8") },
          { path: "emb-Q8_0-dense.gguf", content: SMALL },
          { path: "mmproj-emb-f16.gguf", content: bytes(10, "mm") },
          { path: "f16/emb-F16.gguf", content: bytes(10, "f16") },
        ],
      },
      "org/probe": {
        files: [
          { path: "a-Q8_0.gguf", content: PLAIN },
          { path: "b-Q8_0.gguf", content: DENSE },
        ],
      },
      "org/flaky": { files: [{ path: "big-Q8_0.gguf", content: BIG, dropAfter: 1 << 20 }] },
      "org/flaky2": { files: [{ path: "big-Q8_0.gguf", content: BIG, dropAfter: 1 << 20 }] },
      "org/bad": { files: [{ path: "bad-Q8_0.gguf", content: BAD, corrupt: true }] },
      "org/gated": { gated: true, files: [{ path: "g-Q8_0.gguf", content: SMALL }] },
      "org/private": { private: true, files: [{ path: "p-Q8_0.gguf", content: SMALL }] },
    },
    { token: TOKEN, pageSize: 3 },
  );
});

after(async () => {
  await hub.close();
  await rm(tmp, { recursive: true, force: true });
});

let nCache = 0;
/** Options for a fresh, empty cache pointed at the fake Hub (no token unless given). */
function fresh(extra: NodeJS.ProcessEnv = {}): ResolveOptions & { env: NodeJS.ProcessEnv; cache: string } {
  const cache = join(tmp, `cache${nCache++}`);
  const env = { GGUF_EMBED_CACHE: cache, HF_ENDPOINT: hub.endpoint, HF_HOME: join(tmp, "no-hf-home"), ...extra };
  return { env, cache, retryDelayMs: 10 };
}

const since = (n: number) => hub.requests.slice(n);

test("pickGGUF: quant match, exact quant beats prefix, dense name beats plain, mmproj and split tails ignored", async () => {
  const files = [
    "emb-Q4_K_M.gguf",
    "emb-Q4_K_S.gguf",
    "emb-Q4_K.gguf",
    "emb-Q8_0.gguf",
    "emb-Q8_0-dense.gguf",
    "mmproj-F16.gguf",
    "x/emb-F16-00002-of-00002.gguf",
    "x/emb-F16-00001-of-00002.gguf",
  ];
  assert.equal(await pickGGUF(files, "o/r", "q8_0"), "emb-Q8_0-dense.gguf");
  assert.equal(await pickGGUF(files, "o/r", "Q4_K"), "emb-Q4_K.gguf");
  assert.equal(await pickGGUF(files, "o/r", "Q4_K_S"), "emb-Q4_K_S.gguf");
  assert.equal(await pickGGUF(files, "o/r", "f16"), "x/emb-F16-00001-of-00002.gguf");
  assert.equal(await pickGGUF(files, "o/r", undefined), "emb-Q8_0-dense.gguf");
  assert.equal(await pickGGUF(["only.gguf", "README.md"], "o/r", undefined), "only.gguf");
  assert.equal(await pickGGUF(["m-Q8_0-no-dense.gguf", "m-Q8_0.gguf"], "o/r", "Q8_0"), "m-Q8_0.gguf");
  await rejects(pickGGUF(files, "o/r", "Q5_K_M"), "NOT_FOUND", /o\/r has no GGUF file matching "Q5_K_M" \(available: .*emb-Q4_K_M\.gguf/);
  await rejects(
    pickGGUF(["a-Q4_0.gguf", "a-F16.gguf"], "o/r", undefined),
    "BAD_INPUT",
    /several GGUF files and none is Q8_0; pick one with hf:o\/r:QUANT/,
  );
});

test("pull hf:owner/repo:QUANT lists the repo (all pages), picks the dense Q8_0, verifies, writes the sidecar", async () => {
  const o = fresh();
  const n = hub.requests.length;
  const res = await pullModel("hf:org/emb:q8_0", o);
  assert.equal(res.status, "downloaded");
  assert.equal(res.path, join(o.cache, "org", "emb", "emb-Q8_0-dense.gguf"));
  assert.deepEqual(new Uint8Array(await readFile(res.path)), SMALL);
  const side = JSON.parse(await readFile(res.path + ".json", "utf8"));
  assert.equal(side.sha256, sha(SMALL));
  assert.equal(side.nBytes, SMALL.byteLength);
  assert.equal(side.url, `${hub.endpoint}/org/emb/resolve/main/emb-Q8_0-dense.gguf`);
  assert.equal(side.etag, `"${sha(SMALL)}"`);
  assert.deepEqual((await readdir(join(o.cache, "org", "emb"))).sort(), ["emb-Q8_0-dense.gguf", "emb-Q8_0-dense.gguf.json"]);
  assert.equal(since(n).filter((r) => r.url.startsWith("/api/models/org/emb/tree/main")).length, 3, "7 files in pages of 3");
  // Again: the Hub is asked for the listing, the file is not downloaded again.
  const m = hub.requests.length;
  assert.equal((await pullModel("hf:org/emb:Q8_0", o)).status, "up-to-date");
  assert.equal(since(m).filter((r) => r.server === "cdn" || r.url.includes("/resolve/")).length, 0);
  // resolveModel is cache-first: no request at all. A subfolder file and an exact file spec work too.
  assert.equal(await resolveModel("hf:org/emb:Q8_0", o), res.path);
  assert.equal(hub.requests.length, m + 3);
  assert.equal(await resolveModel("hf:org/emb/f16/emb-F16.gguf", o), join(o.cache, "org", "emb", "f16", "emb-F16.gguf"));
  assert.equal(await resolveModel("hf:org/emb:Q4_K", o), join(o.cache, "org", "emb", "emb-Q4_K_M.gguf"));
});

test("ties on the name are broken by reading the GGUF header for dense_2.weight (Range requests)", async () => {
  const o = fresh();
  const n = hub.requests.length;
  const res = await pullModel("hf:org/probe:Q8_0", o);
  assert.equal(res.path, join(o.cache, "org", "probe", "b-Q8_0.gguf"));
  assert.deepEqual(new Uint8Array(await readFile(res.path)), DENSE);
  assert.ok(
    since(n).some((r) => r.server === "cdn" && r.url.includes("a-Q8_0") && r.headers.range?.startsWith("bytes=0-")),
    "a-Q8_0 header was probed",
  );
});

test("a connection dropped mid-file is resumed with Range + If-Range, and the result verifies", async () => {
  const o = fresh();
  const n = hub.requests.length;
  const status: string[] = [];
  const res = await pullModel("hf:org/flaky:Q8_0", { ...o, onStatus: (m) => status.push(m) });
  assert.equal(sha(new Uint8Array(await readFile(res.path))), sha(BIG));
  const gets = since(n).filter((r) => r.server === "cdn");
  assert.equal(gets.length, 2, "one dropped GET and one resumed GET");
  assert.equal(gets[0].headers.range, undefined);
  const from = Number(/^bytes=(\d+)-$/.exec(gets[1].headers.range ?? "")?.[1]);
  assert.ok(from > 0 && from <= 1 << 20, `resumed from ${gets[1].headers.range}`);
  assert.equal(gets[1].headers["if-range"], `"${sha(BIG)}"`);
  assert.ok(
    status.some((m) => /connection lost at byte \d+/.test(m)),
    status.join("|"),
  );
});

test("an interrupted pull keeps the .part and the next pull resumes it", async () => {
  const o = fresh();
  const err = await rejects(
    pullModel("hf:org/flaky2:Q8_0", { ...o, retries: 0 }),
    "DOWNLOAD_FAILED",
    /bytes are kept in .*big-Q8_0\.gguf\.part, run again to resume/,
  );
  const part = join(o.cache, "org", "flaky2", "big-Q8_0.gguf.part");
  const kept = (await stat(part)).size;
  assert.equal(kept, err.detail.offset);
  assert.ok(kept > 0 && kept <= 1 << 20);
  await assert.rejects(stat(join(o.cache, "org", "flaky2", "big-Q8_0.gguf")), "no final file yet");
  const n = hub.requests.length;
  const res = await pullModel("hf:org/flaky2:Q8_0", o);
  assert.equal(sha(new Uint8Array(await readFile(res.path))), sha(BIG));
  assert.deepEqual(
    since(n)
      .filter((r) => r.server === "cdn")
      .map((r) => r.headers.range),
    [`bytes=${kept}-`],
  );
  await assert.rejects(stat(part), ".part is gone after the rename");
});

test("resolve redirects to another host:port; Authorization goes to the Hub only", async () => {
  const o = fresh({ HF_TOKEN: TOKEN });
  const n = hub.requests.length;
  const res = await pullModel("hf:org/gated:Q8_0", o);
  assert.deepEqual(new Uint8Array(await readFile(res.path)), SMALL);
  const reqs = since(n);
  const hubReqs = reqs.filter((r) => r.server === "hub"),
    cdnReqs = reqs.filter((r) => r.server === "cdn");
  assert.ok(hubReqs.length >= 2 && cdnReqs.length === 1);
  assert.notEqual(new URL(hub.endpoint).port, new URL(hub.cdnOrigin).port);
  for (const r of hubReqs) assert.equal(r.headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(cdnReqs[0].headers.authorization, undefined);
  assert.match(cdnReqs[0].url, /^\/blobs\/[0-9a-f]{64}\/org\/gated\/g-Q8_0\.gguf\?sig=abc$/);
});

test("a wrong checksum fails with CHECKSUM_MISMATCH and leaves no file that looks complete", async () => {
  const o = fresh();
  await rejects(
    pullModel("hf:org/bad:Q8_0", o),
    "CHECKSUM_MISMATCH",
    new RegExp(`sha256 is [0-9a-f]{64}, expected ${sha(BAD)}; the download was deleted`),
  );
  assert.deepEqual(await readdir(join(o.cache, "org", "bad")), []);
  await rejects(resolveModel("hf:org/bad:Q8_0", { ...o, offline: true }), "OFFLINE", /not in the cache/);
});

test("a gated repo without a token is UNAUTHORIZED with a message about gating and HF_TOKEN; a wrong token too", async () => {
  const page = `${hub.endpoint}/org/gated`.replace(/[.]/g, "\\.");
  await rejects(
    pullModel("hf:org/gated:Q8_0", fresh()),
    "UNAUTHORIZED",
    new RegExp(
      `^download of ${page}/resolve/main/g-Q8_0\\.gguf: HTTP 401 \\(Access to model org/gated is restricted\\. .*\\); this is a gated repository: accept its terms at ${page} while logged in, then set HF_TOKEN to an access token of that account`,
    ),
  );
  await rejects(
    pullModel("hf:org/gated:Q8_0", fresh({ HF_TOKEN: "hf_wrong" })),
    "UNAUTHORIZED",
    new RegExp(
      `HTTP 403 .*; this is a gated repository and the HF_TOKEN given has no access to it: accept its terms at ${page} with the token's account`,
    ),
  );
  await rejects(
    pullModel("hf:org/private:Q8_0", fresh()),
    "UNAUTHORIZED",
    /^listing org\/private: HTTP 401 \(Invalid username or password\.\); the repository is private or gated: set HF_TOKEN to an access token that can read it/,
  );
  // The token file of `hf auth login` ($HF_HOME/token) is used when HF_TOKEN is not set.
  const home = join(tmp, "hf-home");
  await mkdir(home, { recursive: true });
  await writeFile(join(home, "token"), TOKEN + "\n");
  const res = await pullModel("hf:org/private:Q8_0", fresh({ HF_HOME: home }));
  assert.deepEqual(new Uint8Array(await readFile(res.path)), SMALL);
});

test("unknown repos, files and quants are NOT_FOUND", async () => {
  await rejects(
    pullModel("hf:org/nope:Q8_0", fresh()),
    "NOT_FOUND",
    /repository org\/nope \(revision main\) on http:\/\/127\.0\.0\.1:\d+: not found \(HTTP 404: Repository not found\)/,
  );
  await rejects(pullModel("hf:org/emb/missing-Q8_0.gguf", fresh()), "NOT_FOUND", /org\/emb has no file missing-Q8_0\.gguf/);
  await rejects(pullModel("hf:org/emb:IQ2_XS", fresh()), "NOT_FOUND", /no GGUF file matching "IQ2_XS"/);
  await rejects(pullModel(`${hub.endpoint}/org/emb/resolve/main/nope.gguf`, fresh()), "NOT_FOUND", /org\/emb has no file nope\.gguf/);
});

test("offline: a cached model is found without any request; a missing one is OFFLINE", async () => {
  const o = fresh();
  const online = await pullModel("hf:org/emb:Q4_K_M", o);
  const n = hub.requests.length;
  const env = { ...o.env, GGUF_EMBED_OFFLINE: "1", HF_ENDPOINT: "http://127.0.0.1:9" };
  assert.equal(await resolveModel("hf:org/emb:Q4_K_M", { env }), online.path);
  assert.deepEqual(await pullModel("hf:org/emb:q4_k_m", { env }).then((r) => [r.path, r.status]), [online.path, "cached"]);
  assert.equal(await resolveModel(`${hub.endpoint}/org/emb/resolve/main/emb-Q4_K_M.gguf`, { ...o, offline: true }), online.path);
  assert.equal(hub.requests.length, n, "no request in offline mode");
  await rejects(
    resolveModel("hf:org/emb:Q8_0", { env }),
    "OFFLINE",
    /hf:org\/emb:Q8_0 is not in the cache \(.*\) and offline mode is on; run "gguf-embed pull hf:org\/emb:Q8_0" with network access first/,
  );
  await rejects(resolveModel("embeddinggemma", { env }), "OFFLINE", /embeddinggemma is not in the cache/);
  // A local path is a path, whatever the mode.
  const local = join(tmp, "local.gguf");
  await writeFile(local, PLAIN);
  assert.equal(await resolveModel(local, { env }), local);
});

test("plain URLs download into <cache>/url/<host>/<hash>/<name>", async () => {
  const o = fresh();
  const url = `${hub.cdnOrigin}/blobs/${sha(SMALL)}/org/emb/emb-Q4_K_M.gguf`;
  const p = await resolveModel(url, o);
  assert.match(p, new RegExp(`url/127\\.0\\.0\\.1_${new URL(hub.cdnOrigin).port}/[0-9a-f]{16}/emb-Q4_K_M\\.gguf$`));
  assert.equal(JSON.parse(await readFile(p + ".json", "utf8")).sha256, sha(SMALL));
});

test("CLI: gguf-embed pull prints the path on stdout and progress on stderr; --offline misses exit 1", async () => {
  const o = fresh();
  const c = capture();
  const code = await withEnv(o.env, () => main(["pull", "hf:org/emb:Q4_K_M"], c.io));
  assert.equal(code, 0, c.err);
  assert.equal(c.out, join(o.cache, "org", "emb", "emb-Q4_K_M.gguf") + "\n");
  assert.match(c.err, /downloading org\/emb\/emb-Q4_K_M\.gguf \(40\.0 kB\) to /);
  assert.match(c.err, /download: 40\.0 kB\/40\.0 kB in \d+s/);
  assert.match(c.err, /hf:org\/emb:Q4_K_M: downloaded/);
  const c2 = capture();
  assert.equal(await withEnv(o.env, () => main(["pull", "--offline", "hf:org/emb:Q8_0"], c2.io)), 1);
  assert.match(c2.err, /^gguf-embed pull: hf:org\/emb:Q8_0 is not in the cache .* \[OFFLINE\]\n$/);
  const c3 = capture();
  assert.equal(await withEnv(o.env, () => main(["pull", "hf:org/gated:Q8_0"], c3.io)), 1);
  assert.match(c3.err, /\[UNAUTHORIZED\]/);
});

test('CLI: `embed "Hello"` with no --model downloads the default model (ggml-org EmbeddingGemma Q8_0) on first use', async () => {
  const fixture = await gemmaFixture({ nLayer: 6, weightType: "Q8_0", dense: true });
  const fake = await startFakeHub({
    "ggml-org/embeddinggemma-300M-GGUF": {
      files: [
        { path: "README.md", content: new TextEncoder().encode("# EmbeddingGemma\n"), direct: true },
        { path: "embeddinggemma-300M-Q8_0.gguf", diskPath: fixture },
        { path: "embeddinggemma-300M-Q4_0.gguf", content: bytes(100, "q4") },
      ],
    },
  });
  try {
    const env: NodeJS.ProcessEnv = { ...fresh().env, HF_ENDPOINT: fake.endpoint };
    const c = capture();
    const code = await withEnv(env, () => main(["embed", "Hello"], c.io));
    assert.equal(code, 0, c.err);
    const dest = join(env.GGUF_EMBED_CACHE!, "ggml-org", "embeddinggemma-300M-GGUF", "embeddinggemma-300M-Q8_0.gguf");
    assert.match(
      c.err,
      new RegExp(
        `downloading ggml-org/embeddinggemma-300M-GGUF/embeddinggemma-300M-Q8_0\\.gguf \\(\\d+\\.\\d MB\\) to ${dest.replace(/[.]/g, "\\.")}`,
      ),
    );
    assert.equal((await stat(dest)).size, (await stat(fixture)).size);
    const model = await loadModel(fixture);
    try {
      const [want] = await model.embed(["Hello"]);
      assert.deepEqual((JSON.parse(c.out) as number[][])[0], Array.from(want));
    } finally {
      await model.close();
    }
    // Second use: served from the cache, no request to the Hub.
    const n = fake.requests.length;
    const c2 = capture();
    assert.equal(await withEnv(env, () => main(["embed", "--model", "embeddinggemma", "Hello"], c2.io)), 0, c2.err);
    assert.equal(c2.out, c.out);
    assert.equal(fake.requests.length, n);
  } finally {
    await fake.close();
  }
});
