/** Shared helpers for the server tests: the fixture model, JSON requests, exact vector checks. */
import assert from "node:assert/strict";
import { request } from "node:http";
import type { EmbeddingModel, PreparedInput } from "../../src/embed/embedder.js";
import { loadModel } from "../../src/node.js";
import type { ServedModel } from "../../src/server/context.js";
import { gemmaFixture } from "./fixtures.js";

export const FIXTURE = { nLayer: 6, weightType: "Q8_0", dense: true } as const;

export async function fixtureModel(): Promise<{ path: string; model: EmbeddingModel }> {
  const path = await gemmaFixture(FIXTURE);
  return { path, model: await loadModel(path) };
}

export interface Res {
  status: number;
  headers: Headers;
  body: any; // parsed JSON, shape under test
  text: string;
}

export async function call(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Res> {
  const hasBody = init.body !== undefined || init.raw !== undefined;
  const res = await fetch(base + path, {
    method: init.method ?? (hasBody ? "POST" : "GET"),
    headers: { ...(hasBody ? { "content-type": "application/json" } : {}), ...init.headers },
    body: init.raw ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** Bit-exact equality of float32 vectors (numbers from JSON are widened f32 values, so fround is exact). */
export function assertSameVector(actual: ArrayLike<number>, expected: Float32Array, label = "vector"): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(Math.fround(actual[i]), expected[i])) assert.fail(`${label}: component ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

export function fromBase64F32(s: string): Float32Array {
  const b = Buffer.from(s, "base64");
  const out = new Float32Array(b.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}

/** Prometheus sample value of `name{labels}` (labels as written), or 0 when absent. */
export function metric(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/**
 * The model with forward calls that can be held: while `hold()` is in effect, each embedPrepared
 * call is recorded and waits for `release()`. Lets tests queue requests behind a running batch.
 */
export function pacedModel(model: EmbeddingModel): {
  served: ServedModel;
  calls: PreparedInput[][];
  hold(): void;
  release(): void;
  failWith?: (p: readonly PreparedInput[]) => Error | undefined;
} {
  let gate: Promise<void> | undefined;
  let open: () => void = () => {};
  const calls: PreparedInput[][] = [];
  const paced = {
    calls,
    failWith: undefined as ((p: readonly PreparedInput[]) => Error | undefined) | undefined,
    hold() {
      gate = new Promise((r) => (open = r));
    },
    release() {
      gate = undefined;
      open();
    },
    served: {
      info: model.info,
      tokenizer: model.tokenizer,
      file: model.file,
      prepare: (inputs, opts) => model.prepare(inputs, opts),
      embedPrepared: async (prepared, opts) => {
        calls.push([...prepared]);
        if (gate) await gate;
        const err = paced.failWith?.(prepared);
        if (err) throw err;
        return model.embedPrepared(prepared, opts);
      },
    } as ServedModel,
  };
  return paced;
}

/** Wait until `cond()` holds, polling every 10 ms, or fail after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw POST whose body is written by the caller (for slow-client and chunked-body tests). */
export function rawPost(base: string, path: string, headers: Record<string, string | number>) {
  const u = new URL(base + path);
  const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers });
  const response = new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
    req.on("response", (res) => {
      let text = "";
      res
        .setEncoding("utf8")
        .on("data", (c: string) => (text += c))
        .on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
  });
  return { req, response };
}
