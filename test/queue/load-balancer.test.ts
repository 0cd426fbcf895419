/**
 * Two `gguf-embed serve` processes behind a real load balancer (Debian's haproxy, run with
 * docs/haproxy.cfg, only its ports and check interval changed), all on 127.0.0.1:
 * - health checks on /health: a server that is not running gets no request; once it answers its
 *   checks it gets its share;
 * - no sticky state: requests spread over both servers, and every answer equals the library's
 *   vectors, whichever server gave it;
 * - SIGTERM drains: a server stopped under load exits 0, and not one request fails.
 * The load is bounded (a fixed number of client loops, each stopping after a deadline).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../../src/node.js";
import { gemmaFixture, SMALL_GEMMA } from "../helpers/fixtures.js";
import { cli, ROOT, type Cli } from "./cli-child.js";
import { freePort } from "./redis-server.js";

const TEXTS = Array.from(
  { length: 12 },
  (_, i) => `request text ${i}: ${"the quick brown fox jumps over the lazy dog ".repeat(1 + (i % 4))}`,
);

let tmp: string, model: string, sock: string, lbUrl: string, oracle: Float32Array[];
const ports: number[] = [];
const procs: Cli[] = [];

function serve(port: number): Cli {
  const c = cli(["serve", "--model", model, "--host", "127.0.0.1", "--port", String(port), "--threads", "1"]);
  procs.push(c);
  return c;
}

/** haproxy's per-server stats ("show stat" on its admin socket): status and responses by class. */
async function stats(): Promise<Map<string, { status: string; ok: number; total: number }>> {
  const csv = await new Promise<string>((resolve, reject) => {
    const s = connect(sock);
    let out = "";
    s.on("data", (d) => (out += d))
      .on("end", () => resolve(out))
      .on("error", reject);
    s.end("show stat\n");
  });
  const [head, ...rows] = csv.trim().split("\n");
  const cols = head.replace(/^# /, "").split(",");
  const at = (r: string[], name: string) => r[cols.indexOf(name)];
  const m = new Map<string, { status: string; ok: number; total: number }>();
  for (const line of rows) {
    const r = line.split(",");
    if (at(r, "pxname") === "gguf_embed" && at(r, "svname").startsWith("embed")) {
      m.set(at(r, "svname"), { status: at(r, "status"), ok: Number(at(r, "hrsp_2xx")), total: Number(at(r, "stot")) });
    }
  }
  return m;
}

async function waitStatus(server: string, want: RegExp, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const s = (await stats()).get(server)?.status ?? "";
    if (want.test(s)) return;
    if (Date.now() - t0 > timeoutMs) assert.fail(`haproxy never saw ${server} as ${want} (last: ${s})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One embedding request through the load balancer; checks the answer against the library, bit for bit. */
async function embedOnce(i: number): Promise<void> {
  const texts = [TEXTS[i % TEXTS.length], TEXTS[(i + 5) % TEXTS.length]];
  const res = await fetch(`${lbUrl}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input: texts }),
  });
  const body = (await res.json()) as { data: { index: number; embedding: number[] }[] };
  assert.equal(res.status, 200, JSON.stringify(body));
  body.data.forEach((d, j) => {
    const want = oracle[TEXTS.indexOf(texts[j])];
    assert.equal(d.embedding.length, want.length);
    for (let k = 0; k < want.length; k++)
      if (Math.fround(d.embedding[k]) !== want[k]) assert.fail(`request ${i}, input ${j}, component ${k}: ${d.embedding[k]} != ${want[k]}`);
  });
}

/** `clients` loops sending requests one after another until `stop()` is true or `max` requests each. */
async function load(clients: number, stop: () => boolean, max = 400): Promise<{ ok: number; failed: string[] }> {
  let ok = 0;
  const failed: string[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let n = 0; n < max && !stop(); n++) {
        try {
          await embedOnce(c * 1000 + n);
          ok++;
        } catch (e) {
          failed.push((e as Error).message);
        }
      }
    }),
  );
  return { ok, failed };
}

before(async () => {
  model = await gemmaFixture(SMALL_GEMMA);
  const m = await loadModel(model, { threads: 1 });
  oracle = await m.embed(TEXTS);
  await m.close();
  tmp = await mkdtemp(join(tmpdir(), "gguf-embed-lb-"));
  sock = join(tmp, "admin.sock");
  for (let i = 0; i < 3; i++) ports.push(await freePort());
  let cfg = await readFile(join(ROOT, "docs", "haproxy.cfg"), "utf8");
  const edit = (from: string, to: string) => {
    assert.equal(cfg.split(from).length, 2, `docs/haproxy.cfg has "${from}" once`);
    cfg = cfg.replace(from, to);
  };
  edit("bind 127.0.0.1:8080", `bind 127.0.0.1:${ports[0]}`);
  edit("server embed1 127.0.0.1:8081 check", `server embed1 127.0.0.1:${ports[1]} check`);
  edit("server embed2 127.0.0.1:8082 check", `server embed2 127.0.0.1:${ports[2]} check`);
  edit("default-server inter 1s", "default-server inter 200ms");
  edit("    maxconn 2048\n", `    maxconn 2048\n    stats socket ${sock} mode 600 level admin\n`);
  await writeFile(join(tmp, "haproxy.cfg"), cfg);
  // Debian puts haproxy in /usr/sbin, which a non-login PATH may lack.
  const haproxy = existsSync("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : "haproxy";
  const lb = cli(["-db", "-f", join(tmp, "haproxy.cfg")], { command: haproxy });
  procs.push(lb);
  lbUrl = `http://127.0.0.1:${ports[0]}`;
  const t0 = Date.now();
  while (
    !(await stats().then(
      () => true,
      () => false,
    ))
  ) {
    if (lb.child.exitCode !== null || Date.now() - t0 > 20_000) assert.fail(`haproxy did not start:\n${lb.stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  for (const c of procs) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
  await Promise.all(procs.map((c) => c.done));
  await rm(tmp, { recursive: true, force: true });
});

test("health checks on /health: a server that is down gets nothing, one that is up gets its share; no sticky state", async () => {
  const e1 = serve(ports[1]);
  await e1.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 60_000, "stdout");
  await waitStatus("embed1", /^UP/);
  await waitStatus("embed2", /^DOWN/);
  const one = await load(2, () => false, 10);
  assert.deepEqual(one.failed, []);
  assert.equal(one.ok, 20);
  let s = await stats();
  assert.equal(s.get("embed2")!.total, 0, "no request went to the server that is down");
  assert.equal(s.get("embed1")!.ok, 20);

  const e2 = serve(ports[2]);
  await e2.waitFor(/listening on/, 60_000, "stdout");
  await waitStatus("embed2", /^UP/);
  const both = await load(4, () => false, 10);
  assert.deepEqual(both.failed, []);
  s = await stats();
  const n1 = s.get("embed1")!.ok - 20,
    n2 = s.get("embed2")!.ok;
  assert.equal(n1 + n2, 40);
  assert.ok(n1 >= 5 && n2 >= 5, `both servers answered a share (${n1}, ${n2}), with the same vectors`);
});

test("SIGTERM drains: the server exits 0 and not one request through the load balancer fails", async () => {
  const [e1] = procs.filter((p) => p.child.spawnargs.includes(String(ports[1])));
  const before = (await stats()).get("embed1")!.ok;
  let stopAt = Infinity;
  const running = load(4, () => Date.now() > stopAt);
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok((await stats()).get("embed1")!.ok > before, "embed1 was serving when it was stopped");
  e1.child.kill("SIGTERM");
  const exit = await e1.done;
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stderr, /SIGTERM: finishing requests in flight/);
  await waitStatus("embed1", /^DOWN/);
  const afterDown = (await stats()).get("embed2")!.ok;
  stopAt = Date.now() + 1500;
  const r = await running;
  assert.deepEqual(r.failed, [], "no request was dropped");
  assert.ok(r.ok >= 20, `requests went through during the whole test (${r.ok})`);
  assert.ok((await stats()).get("embed2")!.ok > afterDown, "embed2 carried the load after embed1 left");
});
