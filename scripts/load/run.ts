/**
 * A bounded load run against a gguf-embed server on 127.0.0.1: `clients` closed-loop clients for
 * `seconds`, each sending requests of 1..64 inputs drawn from the pool (mostly short), over four
 * request variants, checking every returned vector bit for bit against the pool's expected vector
 * for exactly the input it sent at that position. 503s (queue full) are counted apart and retried
 * after Retry-After. Meanwhile /health is timed and the server's RSS sampled once a second.
 */
import { Agent, request } from "node:http";
import { Rng } from "../gen/rng.js";
import type { PoolEntry, VariantName } from "./pool.js";

export interface RunOptions {
  url: string;
  pool: PoolEntry[];
  clients: number;
  seconds: number;
  /** Server pid for RSS samples (undefined: no samples). */
  rss?: () => number | undefined;
  seed?: number;
  /** A request still unanswered after this is an error. */
  requestTimeoutMs?: number;
  /**
   * First, before the clients start, one request of the longest input plus short ones up to this many
   * tokens (the server's --max-batch-tokens), so the largest forward pass, and with it the backend's
   * high-water memory, happens inside the warm-up rather than at a random later time.
   */
  primeTokens?: number;
  /** Progress lines (one every ~10 s). */
  log?: (line: string) => void;
}

interface Variant {
  name: string;
  path: string;
  expected: VariantName;
  body(entries: PoolEntry[]): unknown;
  /** The vectors of a 200 response, in input order; a misplaced `index` gives an empty vector. */
  vectors(json: any): ArrayLike<number>[];
}

const b64 = (s: string) => {
  const b = Buffer.from(s, "base64");
  return Float32Array.from({ length: b.length / 4 }, (_, i) => b.readFloatLE(i * 4));
};
const oai = (json: any) =>
  json.data.map((d: any, i: number) => (d.index === i ? (typeof d.embedding === "string" ? b64(d.embedding) : d.embedding) : []));

export const VARIANTS: Variant[] = [
  { name: "oai-float", path: "/v1/embeddings", expected: "l2", body: (es) => ({ input: es.map((e) => e.text) }), vectors: oai },
  {
    name: "oai-base64",
    path: "/v1/embeddings",
    expected: "l2",
    body: (es) => ({ input: es.map((e) => e.text), encoding_format: "base64" }),
    vectors: oai,
  },
  {
    name: "oai-tokens-dims256",
    path: "/v1/embeddings",
    expected: "dims256",
    body: (es) => ({ input: es.map((e) => e.tokens), dimensions: 256 }),
    vectors: oai,
  },
  {
    name: "llama-raw",
    path: "/embeddings",
    expected: "raw",
    body: (es) => ({ content: es.map((e) => e.text), embd_normalize: -1 }),
    vectors: (json: any) => json.map((d: any, i: number) => (d.index === i && d.embedding.length === 1 ? d.embedding[0] : [])),
  },
];

export interface RunReport {
  seconds: number;
  /** Time from the deadline until the last response. */
  drainSeconds: number;
  ok: number;
  rejected503: number;
  errors: string[];
  inputs: number;
  tokens: number;
  /** Successful requests per route (to compare with the server's /metrics). */
  okByRoute: Record<string, number>;
  rejectedByRoute: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  healthMs: { n: number; p50: number; max: number; failures: number };
  /** [seconds since start, KiB] once a second. */
  rss: [number, number][];
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * Inputs per request: 1 (60%), 2-4 (25%), 5-16 (12%), 17-64 (3%). Each input: short 5-32 tokens
 * (95%), medium 33-200 (4.5%), long (0.5%), so the server stays responsive.
 */
function plan(rng: Rng, byBucket: Record<PoolEntry["bucket"], PoolEntry[]>): PoolEntry[] {
  const r = rng.next();
  const span = r < 0.6 ? [1, 1] : r < 0.85 ? [2, 4] : r < 0.97 ? [5, 16] : [17, 64];
  const n = span[0] + Math.floor(rng.next() * (span[1] - span[0] + 1));
  return Array.from({ length: n }, () => {
    const q = rng.next();
    const b = q < 0.005 && byBucket.long.length ? byBucket.long : q < 0.05 ? byBucket.medium : byBucket.short;
    return b[Math.floor(rng.next() * b.length)];
  });
}

function post(
  agent: Agent,
  url: string,
  path: string,
  body: string,
  timeoutMs: number,
): Promise<{ status: number; retryAfter?: string; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url + path);
    const req = request(
      {
        agent,
        host: u.hostname,
        port: u.port,
        path,
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res
          .setEncoding("utf8")
          .on("data", (c: string) => (text += c))
          .on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"], text }));
        res.on("error", reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** Which pool entry (if any) a wrong vector belongs to: tells cross-talk from numeric drift. */
function whose(v: ArrayLike<number>, pool: PoolEntry[], kind: VariantName): string {
  const hit = pool.find((e) => sameBits(v, e.expected[kind]));
  return hit ? `it is the vector of pool entry ${hit.id} (cross-talk)` : "it matches no pool entry";
}

function sameBits(v: ArrayLike<number>, e: Float32Array): boolean {
  if (v.length !== e.length) return false;
  for (let i = 0; i < e.length; i++) if (!Object.is(Math.fround(v[i]), e[i])) return false;
  return true;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runLoad(o: RunOptions): Promise<RunReport> {
  const byBucket = { short: [] as PoolEntry[], medium: [] as PoolEntry[], long: [] as PoolEntry[] };
  for (const e of o.pool) byBucket[e.bucket].push(e);
  const timeoutMs = o.requestTimeoutMs ?? 300_000;
  const agent = new Agent({ keepAlive: true, maxSockets: o.clients });
  const t0 = performance.now();
  const deadline = t0 + o.seconds * 1000;
  const rep: RunReport = {
    seconds: o.seconds,
    drainSeconds: 0,
    ok: 0,
    rejected503: 0,
    errors: [],
    inputs: 0,
    tokens: 0,
    okByRoute: {},
    rejectedByRoute: {},
    latencyMs: { p50: 0, p90: 0, p99: 0, max: 0 },
    healthMs: { n: 0, p50: 0, max: 0, failures: 0 },
    rss: [],
  };
  const latencies: number[] = [];
  const err = (m: string) => rep.errors.length < 1000 && rep.errors.push(m);
  const since = () => (performance.now() - t0) / 1000;

  const sampleRss = () => {
    const kib = o.rss?.();
    if (kib !== undefined) rep.rss.push([Math.round(since()), kib]);
  };
  sampleRss();
  const rssTimer = setInterval(sampleRss, 1000);

  let running = true;
  const health = (async () => {
    const hAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const hs: number[] = [];
    while (running) {
      const h0 = performance.now();
      const fault = await new Promise<string | undefined>((resolve) => {
        const req = request(o.url + "/health", { agent: hAgent }, (res) =>
          res.resume().on("end", () => resolve(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`)),
        );
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on("error", (e) => resolve(e.message)).end();
      });
      hs.push(performance.now() - h0);
      if (fault !== undefined) {
        rep.healthMs.failures++;
        err(`GET /health at ${since().toFixed(0)} s: ${fault}`);
      }
      await sleep(1000);
    }
    hAgent.destroy();
    hs.sort((a, b) => a - b);
    rep.healthMs = { n: hs.length, p50: percentile(hs, 50), max: hs[hs.length - 1] ?? NaN, failures: rep.healthMs.failures };
  })();

  let lastLog = 0;
  const primer = (): PoolEntry[] => {
    const longest = o.pool.reduce((a, e) => (e.tokens.length > a.tokens.length ? e : a));
    const out = [longest];
    for (let n = longest.tokens.length, i = 0; n < (o.primeTokens ?? 0) && out.length < 64; i++) {
      const e = byBucket.short[i % byBucket.short.length];
      out.push(e);
      n += e.tokens.length;
    }
    return out;
  };
  const client = async (c: number) => {
    const rng = new Rng((o.seed ?? 1) * 1000 + c);
    let first = c === -1;
    while (first || (c >= 0 && performance.now() < deadline)) {
      const entries = first ? primer() : plan(rng, byBucket);
      const v = first ? VARIANTS[0] : VARIANTS[Math.floor(rng.next() * VARIANTS.length)];
      first = false;
      const what = `client ${c} ${v.name} [${entries.map((e) => e.id).join(",")}]`;
      const s0 = performance.now();
      let res;
      try {
        res = await post(agent, o.url, v.path, JSON.stringify(v.body(entries)), timeoutMs);
      } catch (e) {
        err(`${what}: ${(e as Error).message}`);
        continue;
      }
      if (res.status === 503) {
        rep.rejected503++;
        rep.rejectedByRoute[v.path] = (rep.rejectedByRoute[v.path] ?? 0) + 1;
        if (res.retryAfter !== "1" || JSON.parse(res.text).error === undefined)
          err(`${what}: 503 without Retry-After: 1 and an error body: ${res.text.slice(0, 200)}`);
        await sleep(Math.min(1000, Math.max(0, deadline - performance.now())));
        continue;
      }
      if (res.status !== 200) {
        err(`${what}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
        continue;
      }
      let vecs: ArrayLike<number>[];
      try {
        vecs = v.vectors(JSON.parse(res.text));
      } catch (e) {
        err(`${what}: unexpected response (${(e as Error).message}): ${res.text.slice(0, 200)}`);
        continue;
      }
      let good = vecs.length === entries.length;
      if (!good) err(`${what}: ${vecs.length} vectors for ${entries.length} inputs`);
      for (let i = 0; good && i < entries.length; i++) {
        if (!sameBits(vecs[i], entries[i].expected[v.expected])) {
          good = false;
          err(`${what}: vector ${i} is not the one of pool entry ${entries[i].id}: ${whose(vecs[i], o.pool, v.expected)}`);
        }
      }
      if (!good) continue;
      latencies.push(performance.now() - s0);
      rep.ok++;
      rep.okByRoute[v.path] = (rep.okByRoute[v.path] ?? 0) + 1;
      rep.inputs += entries.length;
      rep.tokens += entries.reduce((s, e) => s + e.tokens.length, 0);
      if (o.log && since() - lastLog >= 10) {
        lastLog = since();
        o.log(
          `${lastLog.toFixed(0)} s: ${rep.ok} ok, ${rep.rejected503} x 503, ${rep.errors.length} errors, RSS ${((rep.rss.at(-1)?.[1] ?? 0) / 1024).toFixed(0)} MiB`,
        );
      }
    }
  };
  if (o.primeTokens) await client(-1); // client -1 sends the primer only
  await Promise.all(Array.from({ length: o.clients }, (_, c) => client(c)));
  rep.drainSeconds = Math.max(0, (performance.now() - deadline) / 1000);
  running = false;
  await health;
  clearInterval(rssTimer);
  sampleRss();
  agent.destroy();
  latencies.sort((a, b) => a - b);
  rep.latencyMs = {
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
  };
  return rep;
}

/**
 * RSS after the warm-up is "flat" when (a) its least-squares trend over the window moves it by at most
 * `tolerance` of the median (a leak), and (b) no sample is more than `tolerance` above the median (a
 * late high-water jump). Dips are allowed: the backend's transient buffers of a large forward pass
 * are returned to the OS between passes, so a loaded server's RSS swings downward by up to ~20%.
 */
export function rssFlat(
  rss: [number, number][],
  warmupSeconds: number,
  tolerance = 0.1,
): { n: number; median: number; lo: number; hi: number; trend: number; flat: boolean } {
  const pts = rss.filter(([s]) => s >= warmupSeconds);
  const ys = pts.map(([, k]) => k);
  const median = percentile(
    [...ys].sort((a, b) => a - b),
    50,
  );
  const mx = pts.reduce((a, [x]) => a + x, 0) / pts.length,
    my = ys.reduce((a, y) => a + y, 0) / ys.length;
  const sxx = pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const slope = sxx > 0 ? pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx : 0; // KiB per second
  const trend = pts.length > 1 ? (slope * (pts[pts.length - 1][0] - pts[0][0])) / median : 0;
  const lo = Math.min(...ys),
    hi = Math.max(...ys);
  return { n: pts.length, median, lo, hi, trend, flat: pts.length > 1 && Math.abs(trend) <= tolerance && hi <= median * (1 + tolerance) };
}
