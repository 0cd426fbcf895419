/**
 * Files of llama.cpp's source tree at exactly the version node-llama-cpp ships (its git bundle,
 * node_modules/node-llama-cpp/llama/gitRelease.bundle): test vocabularies under models/, and
 * sources such as src/unicode-data.cpp that tests parse as references. Extracted at test time into
 * .cache/llama-src/ (gitignored) with `git clone --no-checkout` + `git show HEAD:<path>`; nothing is
 * committed. A missing bundle or file throws: the test fails, it never skips.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const cacheDir = () => resolve(process.cwd(), ".cache", "llama-src");

function bundlePath(): string {
  // node-llama-cpp exports no package.json; walk up from its entry point to the package root.
  for (let dir = dirname(fileURLToPath(import.meta.resolve("node-llama-cpp"))); dir !== dirname(dir); dir = dirname(dir)) {
    const bundle = join(dir, "llama", "gitRelease.bundle");
    if (existsSync(bundle)) return bundle;
  }
  throw new Error("node-llama-cpp's llama/gitRelease.bundle was not found");
}

function repo(): string {
  const dir = join(cacheDir(), "repo.git");
  if (!existsSync(join(dir, "HEAD"))) {
    mkdirSync(cacheDir(), { recursive: true });
    const tmp = `${dir}.tmp-${process.pid}`;
    execFileSync("git", ["clone", "-q", "--bare", bundlePath(), tmp], { stdio: ["ignore", "ignore", "inherit"] });
    renameSync(tmp, dir);
  }
  return dir;
}

/** Path of `path` (relative to llama.cpp's root) extracted from the bundle; cached. */
export function llamaSourceFile(path: string): string {
  const out = join(cacheDir(), "files", path);
  if (existsSync(out)) return out;
  const bytes = execFileSync("git", ["--git-dir", repo(), "show", `HEAD:${path}`], { maxBuffer: 1 << 30 });
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, out);
  return out;
}

/**
 * The cases of a llama.cpp tokenizer test vocabulary, parsed as tests/test-tokenizer-0.cpp does:
 * `<vocab>.inp` split on "\n__ggml_vocab_test__\n", `<vocab>.out` one line of space-separated ids per
 * case (trimmed). Cases are kept in file order, duplicates included (test-tokenizer-0 keys a map by
 * input, which only drops repeats of the same input with the same ids).
 */
export function llamaVocabCases(vocab: string): { text: string; ids: number[] }[] {
  const inp = readFileSync(llamaSourceFile(`models/${vocab}.inp`));
  const out = readFileSync(llamaSourceFile(`models/${vocab}.out`), "utf8");
  const sep = Buffer.from("\n__ggml_vocab_test__\n");
  const texts: string[] = [];
  for (let pos = 0; pos < inp.length; ) {
    const next = inp.indexOf(sep, pos);
    const part = inp.subarray(pos, next < 0 ? inp.length : next);
    const text = part.toString("utf8");
    if (!Buffer.from(text).equals(part)) throw new Error(`${vocab}.inp case ${texts.length} is not valid UTF-8`);
    texts.push(text);
    if (next < 0) break;
    pos = next + sep.length;
  }
  const lines = out.split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop(); // getline: no empty line after the final newline
  if (lines.length !== texts.length) throw new Error(`${vocab}: ${texts.length} inputs but ${lines.length} outputs`);
  return texts.map((text, i) => {
    const o = lines[i].trim();
    return { text, ids: o === "" ? [] : o.split(" ").map((x) => Number.parseInt(x, 10)) };
  });
}
