/**
 * The CPU's feature flags as Linux reports them (/proc/cpuinfo "flags"), for numerics "auto"
 * (src/kernels/numerics.ts chooseNumerics). Undefined where they cannot be read: not Linux, not
 * x86-64, or no /proc. GGUF_EMBED_CPU_FLAGS (space-separated) overrides them, for tests and for
 * matching another machine without naming its profile.
 */
import { readFile } from "node:fs/promises";

export async function readCpuFlags(): Promise<ReadonlySet<string> | undefined> {
  const env = process.env.GGUF_EMBED_CPU_FLAGS;
  if (env !== undefined) return new Set(env.split(/\s+/).filter(Boolean));
  if (process.platform !== "linux" || process.arch !== "x64") return undefined;
  try {
    const text = await readFile("/proc/cpuinfo", "utf8");
    const line = /^flags\s*:(.*)$/m.exec(text);
    return line ? new Set(line[1]!.trim().split(/\s+/)) : undefined;
  } catch {
    return undefined;
  }
}
