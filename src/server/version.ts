/** The package's version (package.json), for `gguf-embed --version`, /api/version, /info and /props. */
import { readFileSync } from "node:fs";

let cached: string | undefined;

export function packageVersion(): string {
  // dist/src/server/version.js -> package.json at the package root
  cached ??= (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  return cached;
}
