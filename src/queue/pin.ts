/**
 * The model a queued job is embedded with. Every worker must run the same file: a different model,
 * or the same model in another quantization, gives other vectors, and a collected output mixing
 * them would be wrong without any error. The job records the model's sha256 (over the bytes of all
 * its parts, in order, for a split model) the first time one is given: by `queue add --model`, or
 * else by the first worker to start (an atomic HSETNX, so two workers starting together cannot both
 * win). A worker whose model has another digest is refused before it takes any chunk.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { basename, dirname, join } from "node:path";
import { EmbedError } from "../errors.js";
import { splitPartNames } from "../gguf/split.js";
import type { Redis as RedisClient } from "ioredis";
import { jobKeys } from "./spec.js";

export interface PinnedModel {
  sha256: string;
  /** File name (for messages only). */
  file: string;
  bytes: number;
}

/** sha256 of a model file (all parts of a split model, in order) and its size. */
export async function hashModel(path: string): Promise<PinnedModel> {
  const parts = splitPartNames(basename(path));
  const paths = parts ? parts.map((p) => join(dirname(path), p)) : [path];
  const h = createHash("sha256");
  let bytes = 0;
  for (const p of paths) {
    for await (const chunk of createReadStream(p, { highWaterMark: 1 << 22 })) {
      h.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  }
  return { sha256: h.digest("hex"), file: basename(path), bytes };
}

/**
 * Record `m` as the job's model if none is recorded yet, else check it is the recorded one.
 * Returns the recorded model; throws MODEL_MISMATCH on a different digest.
 */
export async function pinModel(redis: RedisClient, name: string, m: PinnedModel): Promise<{ model: PinnedModel; pinnedNow: boolean }> {
  const key = jobKeys(name).info;
  const pinnedNow = (await redis.hsetnx(key, "model", JSON.stringify(m))) === 1;
  const model = pinnedNow ? m : (JSON.parse((await redis.hget(key, "model")) ?? "null") as PinnedModel);
  if (model.sha256 !== m.sha256) {
    throw new EmbedError(
      "MODEL_MISMATCH",
      `queue "${name}" is embedded with ${model.file} (sha256 ${model.sha256.slice(0, 16)}…, ${model.bytes} bytes), but this model is ` +
        `${m.file} (sha256 ${m.sha256.slice(0, 16)}…, ${m.bytes} bytes): ` +
        "every worker must use the same model file; refusing to work on it",
      { name, expected: model.sha256, actual: m.sha256 },
    );
  }
  return { model, pinnedNow };
}

/** The pinned model, if any. */
export async function pinnedModel(redis: RedisClient, name: string): Promise<PinnedModel | undefined> {
  const v = await redis.hget(jobKeys(name).info, "model");
  return v ? (JSON.parse(v) as PinnedModel) : undefined;
}
