/**
 * The published types work for browser users without @types/node: a tiny TypeScript app that
 * imports "gguf-embed" compiles with `types: []` and only the DOM lib, against a copy of the
 * package's .d.ts files where no @types/node can be found; under `moduleResolution: node` (node10,
 * no "exports") "gguf-embed/node" resolves through typesVersions. Minimum: TypeScript 5.7 (the
 * .d.ts files use Uint8Array<ArrayBuffer>).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const TSC = join(ROOT, "node_modules", "typescript", "lib", "tsc.js");

/** dist/src/**.d.ts and package.json into <dir>/node_modules/gguf-embed (no node_modules beside them). */
async function installTypes(dir: string): Promise<void> {
  const pkg = join(dir, "node_modules", "gguf-embed");
  async function copy(rel: string): Promise<void> {
    for (const e of await readdir(join(ROOT, rel), { withFileTypes: true })) {
      const r = join(rel, e.name);
      if (e.isDirectory()) await copy(r);
      else if (e.name.endsWith(".d.ts")) {
        await mkdir(dirname(join(pkg, r)), { recursive: true });
        await cp(join(ROOT, r), join(pkg, r));
      }
    }
  }
  await copy("dist/src");
  await cp(join(ROOT, "package.json"), join(pkg, "package.json"));
}

function tsconfig(compilerOptions: Record<string, unknown>): string {
  const cfg = {
    compilerOptions: { strict: true, noEmit: true, target: "ES2022", skipLibCheck: false, ...compilerOptions },
    files: ["app.ts"],
  };
  return JSON.stringify(cfg);
}

const APP = `import { loadModel, createTokenizer, loadTokenizer, type EmbeddingModel } from "gguf-embed";
export async function run(url: string): Promise<number> {
  const m: EmbeddingModel = await loadModel(url, { threads: 2 });
  const one: Float32Array = await m.embed("hello", { signal: new AbortController().signal });
  const many: Float32Array[] = await m.embed(["a", "b"], { task: "query" });
  const t = await loadTokenizer(url);
  void createTokenizer;
  return one.length + many.length + m.countTokens("hi") + t.encode("x").length;
}
`;

test("a browser app compiles against gguf-embed's .d.ts with types: [] and no @types/node anywhere", async () => {
  const dir = await mkdtemp(join(tmpdir(), "ge-types-"));
  try {
    await installTypes(dir);
    await writeFile(join(dir, "app.ts"), APP);
    for (const [label, opts] of [
      ["bundler", { module: "ESNext", moduleResolution: "Bundler", types: [], lib: ["ES2022", "DOM"] }],
      ["node10", { module: "CommonJS", moduleResolution: "Node", types: [], lib: ["ES2022", "DOM"] }],
    ] as const) {
      await writeFile(join(dir, "tsconfig.json"), tsconfig(opts));
      const r = spawnSync(process.execPath, [TSC, "-p", join(dir, "tsconfig.json")], { encoding: "utf8", cwd: dir });
      assert.equal(r.status, 0, `${label}: ${r.stdout}${r.stderr}`);
    }
    // moduleResolution node10 ignores "exports": the /node entry must come through typesVersions.
    await writeFile(join(dir, "app.ts"), `import type { ResolveOptions } from "gguf-embed/node";\nexport type R = ResolveOptions;\n`);
    await writeFile(
      join(dir, "tsconfig.json"),
      tsconfig({ module: "CommonJS", moduleResolution: "Node", types: [], lib: ["ES2022", "DOM"], noResolve: false }),
    );
    const r = spawnSync(process.execPath, [TSC, "-p", join(dir, "tsconfig.json")], { encoding: "utf8", cwd: dir });
    assert.doesNotMatch(r.stdout, /Cannot find module 'gguf-embed\/node'/, r.stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
