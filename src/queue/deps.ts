/**
 * The optional packages behind `gguf-embed queue`: BullMQ (the job queue) and ioredis (the Redis
 * client BullMQ 6 loads lazily and that we use for our own keys). The library has no runtime
 * dependency, so both are optional peer dependencies: they are imported here, dynamically, only when
 * a queue command runs, and a missing one is an EmbedError telling the user what to install.
 */
import { EmbedError } from "../errors.js";

export type BullMQ = typeof import("bullmq");
/** The ioredis client class (its default export). */
export type RedisClass = typeof import("ioredis").default;

export interface QueueDeps {
  bullmq: BullMQ;
  Redis: RedisClass;
}

/** Module specifiers to import (tests point one at a module that does not exist). */
export interface DepSpecifiers {
  bullmq?: string;
  ioredis?: string;
}

const INSTALL = "npm i bullmq ioredis";

/** Import a package, or throw MISSING_DEPENDENCY if it is not installed. */
async function importOptional<T>(specifier: string, pkg: string): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") throw e;
    throw new EmbedError(
      "MISSING_DEPENDENCY",
      `the optional package "${pkg}" is not installed (cannot import "${specifier}"); ` +
        `the queue commands need bullmq and ioredis: run \`${INSTALL}\``,
      { package: pkg, specifier },
      { cause: e },
    );
  }
}

/** Load BullMQ and ioredis; throws MISSING_DEPENDENCY naming the one that is missing. */
export async function loadQueueDeps(spec: DepSpecifiers = {}): Promise<QueueDeps> {
  const bullmq = await importOptional<BullMQ>(spec.bullmq ?? "bullmq", "bullmq");
  const ioredis = await importOptional<{ default?: RedisClass; Redis?: RedisClass }>(spec.ioredis ?? "ioredis", "ioredis");
  const Redis = ioredis.default ?? ioredis.Redis;
  if (typeof Redis !== "function")
    throw new EmbedError("MISSING_DEPENDENCY", `the installed "ioredis" has no Redis client class; run \`${INSTALL}\``, {
      package: "ioredis",
    });
  return { bullmq, Redis };
}
