/**
 * pull and the cache against a Hub that misbehaves (issue 15, items 12, 13, 15, 16, 17), on a fake
 * Hub on 127.0.0.1 (test/helpers/fake-hub.ts):
 * - pagination to another origin (the token must not follow), a Link that loops, a redirect loop
 *   (no retries of a deterministic failure);
 * - revisions that used to share one cache path;
 * - a CDN that streams past the listed size, or sends 100 bytes and stalls;
 * - a cached file truncated on disk, or corrupted in place (pull --verify);
 * - URLs with a bad percent-escape or a last segment that decodes to "..".
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.js";
import { pullModel, resolveModel, type ResolveOptions } from "../../src/node/resolve.js";
import { seededBytes as bytes, sha256Hex as sha, startFakeHub, type FakeHub } from "../helpers/fake-hub.js";
import { rejects } from "../helpers/embed-error.js";
import { capture } from "../helpers/cli-io.js";
import { withEnv } from "../helpers/env.js";

const V1 = bytes(30_000, "v1"),
  V2 = bytes(30_000, "v2"),
  MAIN = bytes(20_000, "main"),
  SMALL = bytes(30_000, "small");
const TOKEN = "hf_secret_token";
let hub: FakeHub;
let tmp: string;
let nCache = 0;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "gguf-embed-pull-faults-"));
  hub = await startFakeHub(
    {
      "org/rev": {
        files: [{ path: "m.gguf", content: MAIN }],
        revisions: { v1: [{ path: "m.gguf", content: V1 }], v2: [{ path: "m.gguf", content: V2 }] },
      },
      "org/loop": { linkLoop: true, files: [{ path: "a-Q8_0.gguf", content: SMALL }] },
      "org/away": { linkElsewhere: true, files: [{ path: "a-Q8_0.gguf", content: SMALL }] },
      "org/long": { files: [{ path: "l-Q8_0.gguf", content: SMALL, extraBytes: 20 << 20 }] },
      "org/stall": { files: [{ path: "s-Q8_0.gguf", content: SMALL, stallAfter: 100 }] },
      "org/redirects": { files: [{ path: "r-Q8_0.gguf", content: SMALL, redirectLoop: true }] },
      "org/ok": { files: [{ path: "ok-Q8_0.gguf", content: SMALL }] },
    },
    { token: TOKEN },
  );
});
after(async () => {
  await hub.close();
  await rm(tmp, { recursive: true, force: true });
});

function fresh(extra: NodeJS.ProcessEnv = {}): ResolveOptions & { env: NodeJS.ProcessEnv; cache: string } {
  const cache = join(tmp, `cache${nCache++}`);
  return {
    env: { GGUF_EMBED_CACHE: cache, HF_ENDPOINT: hub.endpoint, HF_HOME: join(tmp, "no-hf-home"), ...extra },
    cache,
    retryDelayMs: 10,
    idleTimeoutMs: 500,
  };
}

/** `p` must settle within `ms` (the faults below used to hang or loop for minutes). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

const since = (n: number) => hub.requests.slice(n);

test("item 12: a listing whose next page is on another origin is refused; the token never leaves the Hub", async () => {
  const n = hub.requests.length;
  await rejects(
    within(pullModel("hf:org/away:Q8_0", fresh({ HF_TOKEN: TOKEN })), 10_000, "pull"),
    "DOWNLOAD_FAILED",
    /listing org\/away: the next page is on another origin \(http:\/\/127\.0\.0\.1:\d+\); not following it, so the token stays with/,
  );
  assert.deepEqual(
    since(n).filter((r) => r.server === "cdn"),
    [],
    "nothing was sent to the other origin",
  );
  assert.ok(
    since(n)
      .filter((r) => r.server === "hub")
      .every((r) => r.headers.authorization === `Bearer ${TOKEN}`),
  );
});

test("item 15: a Link that points back at its own page is refused after one request", async () => {
  const n = hub.requests.length;
  await rejects(
    within(pullModel("hf:org/loop:Q8_0", fresh()), 10_000, "pull"),
    "DOWNLOAD_FAILED",
    /listing org\/loop: the Hub's pages loop back to/,
  );
  assert.equal(since(n).length, 1);
});

test("item 15: a redirect loop fails once, without retries (a deterministic failure)", async () => {
  const n = hub.requests.length;
  await rejects(within(pullModel("hf:org/redirects:Q8_0", fresh()), 10_000, "pull"), "DOWNLOAD_FAILED", /more than 10 redirects/);
  const resolves = since(n).filter((r) => r.url.includes("/resolve/"));
  assert.equal(resolves.length, 11, "one attempt: the first request and 10 redirects");
});

test("item 15: a CDN that streams past the listed size is cut at that size; the file verifies", async () => {
  const o = fresh();
  const res = await within(pullModel("hf:org/long:Q8_0", o), 20_000, "pull");
  assert.equal(res.status, "downloaded");
  assert.equal((await stat(res.path)).size, SMALL.byteLength);
  assert.equal(sha(new Uint8Array(await readFile(res.path))), sha(SMALL));
});

test("item 15: a CDN that sends 100 bytes and stalls is dropped after the idle timeout and resumed", async () => {
  const o = fresh();
  const status: string[] = [];
  const n = hub.requests.length;
  const t0 = Date.now();
  const res = await within(pullModel("hf:org/stall:Q8_0", { ...o, onStatus: (m) => status.push(m) }), 20_000, "pull");
  assert.equal(sha(new Uint8Array(await readFile(res.path))), sha(SMALL));
  assert.ok(
    status.some((m) => /the server sent no data for 500 ms/.test(m)),
    status.join(" | "),
  );
  const cdn = since(n).filter((r) => r.server === "cdn");
  assert.deepEqual(
    cdn.map((r) => r.headers.range),
    [undefined, "bytes=100-"],
  );
  assert.ok(Date.now() - t0 < 10_000);
});

test("item 13: revisions have their own cache paths: v1 then v2 fetches v2, and v1's file keeps v1's bytes", async () => {
  const o = fresh();
  const url = (rev: string) => `${hub.endpoint}/org/rev/resolve/${rev}/m.gguf`;
  const p1 = (await pullModel(url("v1"), o)).path;
  assert.deepEqual(new Uint8Array(await readFile(p1)), V1);
  const n = hub.requests.length;
  const p2 = await resolveModel(url("v2"), o);
  assert.ok(since(n).length > 0, "v2 is not served from v1's cache entry");
  assert.notEqual(p2, p1);
  assert.deepEqual(new Uint8Array(await readFile(p2)), V2);
  assert.deepEqual(new Uint8Array(await readFile(p1)), V1, "pulling v2 left v1's file alone");
  const pm = (await pullModel("hf:org/rev/m.gguf", o)).path;
  assert.deepEqual(new Uint8Array(await readFile(pm)), MAIN);
  assert.equal(pm, join(o.cache, "org", "rev", "m.gguf"), "main keeps the old layout");
  assert.equal(p1, join(o.cache, "org", "rev@v1", "m.gguf"));
  assert.equal(JSON.parse(await readFile(p2 + ".json", "utf8")).revision, "v2");
  // offline, each revision finds its own file
  const m = hub.requests.length;
  assert.equal(await resolveModel(url("v1"), { ...o, offline: true }), p1);
  assert.equal(await resolveModel(url("v2"), { ...o, offline: true }), p2);
  assert.equal(hub.requests.length, m);
});

test("item 16: a cached file truncated on disk is not up to date; pull --verify catches same-size corruption", async () => {
  const o = fresh();
  const path = (await pullModel("hf:org/ok:Q8_0", o)).path;
  await truncate(path, 1000);
  const again = await pullModel("hf:org/ok:Q8_0", o);
  assert.equal(again.status, "downloaded");
  assert.deepEqual(new Uint8Array(await readFile(path)), SMALL);
  // resolveModel (cache-first) also refuses the truncated file
  await truncate(path, 1000);
  assert.equal(await resolveModel("hf:org/ok:Q8_0", o), path);
  assert.equal((await stat(path)).size, SMALL.byteLength);
  // a flipped byte keeps the size: plain pull says up to date, --verify re-downloads
  const b = new Uint8Array(await readFile(path));
  b[123] ^= 1;
  await writeFile(path, b);
  assert.equal((await pullModel("hf:org/ok:Q8_0", o)).status, "up-to-date");
  assert.equal((await pullModel("hf:org/ok:Q8_0", { ...o, verify: true })).status, "downloaded");
  assert.deepEqual(new Uint8Array(await readFile(path)), SMALL);
  assert.equal((await pullModel("hf:org/ok:Q8_0", { ...o, verify: true })).status, "up-to-date");
});

test("item 17: URLs with a bad percent-escape or a name of dots are refused clearly (no URIError, no stack)", async () => {
  const o = fresh();
  await withEnv({ GGUF_EMBED_CACHE: o.cache }, async () => {
    for (const [url, re] of [
      [`${hub.cdnOrigin}/x/%zz.gguf`, /the path has an invalid percent-escape/],
      [`${hub.cdnOrigin}/x/%2E%2E%2F`, /the file name in the URL is "\.\."; refusing it/],
      [`${hub.endpoint}/org/ok/resolve/main/%zz.gguf`, /the path has an invalid percent-escape/],
    ] as const) {
      const c = capture();
      assert.equal(await main(["pull", url], c.io), 1, url);
      assert.match(c.err, re);
      assert.match(c.err, /\[BAD_INPUT\]\n$/);
      assert.doesNotMatch(c.err, /URIError|\n\s+at /, "no stack");
    }
  });
  // a later download from the same host still works
  const ok = await pullModel(`${hub.cdnOrigin}/blobs/${sha(SMALL)}/org/ok/ok-Q8_0.gguf`, o);
  assert.deepEqual(new Uint8Array(await readFile(ok.path)), SMALL);
});
