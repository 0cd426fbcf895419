// The npm registry reachable here does not serve node-llama-cpp's Windows, macOS and RISC-V
// binaries, so `npm install` leaves them out of package-lock.json and `npm ci` then refuses the
// lock as out of sync. This adds lock entries for them with their os/cpu fields: npm ci checks
// the tree against them and skips them on this platform, so nothing is fetched.
// Run after any `npm install`: node scripts/lock-platforms.mjs
import { readFileSync, writeFileSync } from "node:fs";
const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
const nlc = lock.packages["node_modules/node-llama-cpp"];
const platforms = {
  "linux-riscv64": [["linux"], ["riscv64"]],
  "mac-arm64-metal": [["darwin"], ["arm64"]],
  "mac-x64": [["darwin"], ["x64"]],
  "win-arm64": [["win32"], ["arm64"]],
  "win-x64": [["win32"], ["x64"]],
  "win-x64-cuda": [["win32"], ["x64"]],
  "win-x64-cuda-ext": [["win32"], ["x64"]],
  "win-x64-vulkan": [["win32"], ["x64"]],
};
let added = 0;
for (const [name, [os, cpu]] of Object.entries(platforms)) {
  const key = `node_modules/@node-llama-cpp/${name}`;
  const version = nlc.optionalDependencies?.[`@node-llama-cpp/${name}`];
  if (!version || lock.packages[key]) continue;
  lock.packages[key] = {
    version,
    resolved: `https://registry.npmjs.org/@node-llama-cpp/${name}/-/${name}-${version}.tgz`,
    optional: true,
    os,
    cpu,
    license: "MIT",
    engines: { node: ">=20.0.0" },
  };
  added++;
}
writeFileSync("package-lock.json", JSON.stringify(lock, null, 2) + "\n");
console.log(`package-lock.json: added ${added} platform entries`);
