/** Node helpers to write generated GGUFs to disk, streaming, and to cache test fixtures. */
import { createWriteStream } from "node:fs";
import { mkdir, rename, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { once } from "node:events";
import { encodeGGUF, type GGUFToWrite } from "../../src/gguf/writer.js";

export async function writeGGUFFile(path: string, file: GGUFToWrite): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const out = createWriteStream(tmp);
  for (const chunk of encodeGGUF(file)) {
    if (!out.write(chunk)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  await rename(tmp, path);
}

/** The fixture cache directory (gitignored): <repo>/.cache/fixtures, or $GGUF_EMBED_FIXTURES. */
export function fixtureDir(): string {
  return process.env.GGUF_EMBED_FIXTURES ?? resolve(process.cwd(), ".cache", "fixtures");
}

/** Write `make()` to <fixtureDir>/<name> unless it already exists; returns the path. */
export async function cachedFixture(name: string, make: () => GGUFToWrite): Promise<string> {
  const path = join(fixtureDir(), name);
  try {
    await stat(path);
    return path;
  } catch {
    await writeGGUFFile(path, make());
    return path;
  }
}
