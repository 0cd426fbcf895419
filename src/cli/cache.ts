/**
 * `gguf-embed list [--json]`: cached models with their sizes; `gguf-embed rm <name>...`: remove
 * them (src/node/cache-list.ts). The cache is $GGUF_EMBED_CACHE, else ~/.cache/gguf-embed.
 */
import { parseArgs } from "node:util";
import { cacheDir } from "../node/cache.js";
import { listCache, removeCached } from "../node/cache-list.js";
import type { CliIO } from "./io.js";
import { formatBytes } from "./progress.js";

export const LIST_USAGE = `usage: gguf-embed list [--json]
  Models in the cache, with their sizes ("partial": a download that has not finished; pull resumes it).
usage: gguf-embed rm <name>...
  Remove a cached model: a name as "list" prints it, or a model spec (embeddinggemma, hf:owner/repo:Q8_0).
`;

export async function runList(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    io.stdout.write(LIST_USAGE);
    return 0;
  }
  const root = cacheDir();
  const models = await listCache(root);
  if (values.json) {
    io.stdout.write(JSON.stringify({ cacheDir: root, models }, null, 2) + "\n");
    return 0;
  }
  if (models.length === 0) {
    io.stderr.write(`gguf-embed: the cache (${root}) holds no models; "gguf-embed pull embeddinggemma" fetches one\n`);
    return 0;
  }
  for (const m of models) io.stdout.write(`${formatBytes(m.nBytes).padStart(9)}  ${m.name}${m.partial ? "  (partial)" : ""}\n`);
  const total = models.reduce((s, m) => s + m.nBytes, 0);
  io.stdout.write(`${formatBytes(total).padStart(9)}  total in ${root}\n`);
  return 0;
}

export async function runRm(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { help: { type: "boolean", short: "h" } } });
  if (values.help) {
    io.stdout.write(LIST_USAGE);
    return 0;
  }
  if (positionals.length === 0) {
    io.stderr.write(`gguf-embed rm: name a model to remove\n${LIST_USAGE}`);
    return 2;
  }
  const root = cacheDir();
  for (const name of positionals) {
    const m = await removeCached(root, name);
    io.stderr.write(`gguf-embed: removed ${m.name} (${formatBytes(m.nBytes)}${m.partial ? ", partial" : ""})\n`);
  }
  return 0;
}
