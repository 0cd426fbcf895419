/**
 * Connecting to Redis for the queue commands. ioredis retries an unreachable server forever (and
 * BullMQ waits for it), so the first connection is a probe that fails fast with a REDIS_ERROR naming
 * the URL; only then are the long-lived clients made, which do reconnect through short outages.
 */
import { EmbedError } from "../errors.js";
import type { QueueDeps } from "./deps.js";
import { jobKeys, parseSpec, redactUrl, type JobSpec } from "./spec.js";
import type { Redis as RedisClient } from "ioredis";

export const DEFAULT_REDIS = "redis://127.0.0.1:6379";

export interface Connection {
  url: string;
  /** Our client (info, stats, results). */
  redis: RedisClient;
  /** BullMQ's connection options (it makes its own clients from them). */
  bull: { url: string; maxRetriesPerRequest: null };
  close(): Promise<void>;
}

/** Connect to `url`, failing within `timeoutMs` with REDIS_ERROR if the server cannot be reached. */
export async function connect(deps: QueueDeps, url: string, timeoutMs = 5000): Promise<Connection> {
  if (!/^rediss?:\/\//.test(url))
    throw new EmbedError("BAD_OPTION", `--redis must be a redis:// or rediss:// URL, got "${redactUrl(url)}"`, { option: "redis" });
  const probe = new deps.Redis(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    enableOfflineQueue: false,
  });
  let lastError: Error | undefined;
  probe.on("error", (e: Error) => (lastError = e));
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    const why = (lastError ?? (e as Error)).message;
    throw new EmbedError("REDIS_ERROR", `cannot reach Redis at ${redactUrl(url)}: ${why}`, { url: redactUrl(url) }, { cause: e });
  } finally {
    probe.disconnect();
  }
  const redis = new deps.Redis(url, { maxRetriesPerRequest: 20 });
  redis.on("error", () => {}); // reported by the command that fails; ioredis reconnects meanwhile
  return {
    url,
    redis,
    bull: { url, maxRetriesPerRequest: null },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** The job's spec, or QUEUE_MISMATCH if there is no such queue. */
export async function readSpec(redis: RedisClient, name: string): Promise<JobSpec> {
  return parseSpec(await redis.hget(jobKeys(name).info, "spec"), name);
}
