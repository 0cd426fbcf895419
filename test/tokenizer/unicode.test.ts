/**
 * Our Unicode 15.1 tables (src/tokenizer/unicode-data.ts) against llama.cpp's own
 * src/unicode-data.cpp, extracted from node-llama-cpp's llama.cpp bundle at test time:
 *  (a) the generator reproduces the committed module byte for byte;
 *  (b) every flags range, the whitespace set, both case maps and every NFD range equal llama.cpp's,
 *      and the accessors (flags with helper bits, tolower, NFD) agree with llama.cpp's lookups,
 *      re-implemented here over the parsed C++ tables, on all 1,114,112 code points;
 *  (c) spot checks where Unicode 15.1 and the JavaScript engine's Unicode (17 in Node 24) differ.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { buildUnicodeTables, renderUnicodeData, UNICODE_DATA_PATH } from "../../scripts/gen/unicode-tables.js";
import {
  CptFlag,
  MAX_CODEPOINTS,
  unicode_cpt_flags_from_cpt,
  unicode_cpt_nfd,
  unicode_cpts_from_utf8,
  unicode_tolower,
  unicodeTables,
  type UnicodeTables,
} from "../../src/tokenizer/unicode.js";
import { llamaSourceFile } from "../helpers/llama-src.js";

/** The five tables of llama.cpp's unicode-data.cpp, parsed from its C++ initializers. */
function parseLlamaUnicodeData(): UnicodeTables {
  const src = readFileSync(llamaSourceFile("src/unicode-data.cpp"), "utf8");
  const body = (name: string) => {
    const at = src.indexOf(` ${name} = {`);
    assert.ok(at >= 0, `${name} not found in unicode-data.cpp`);
    return src.slice(src.indexOf("\n", at), src.indexOf("};", at));
  };
  const nums = (line: string) => [...line.matchAll(/0x([0-9A-Fa-f]+)/g)].map((m) => parseInt(m[1], 16));
  const rows = (name: string) =>
    body(name)
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("{") || l.startsWith("0x"))
      .map(nums);
  return {
    rangesFlags: rows("unicode_ranges_flags") as [number, number][],
    whitespace: rows("unicode_set_whitespace").map((r) => r[0]),
    lowercase: rows("unicode_map_lowercase") as [number, number][],
    uppercase: rows("unicode_map_uppercase") as [number, number][],
    rangesNfd: rows("unicode_ranges_nfd") as [number, number, number][],
  };
}

test("(a) scripts/gen/unicode-tables.ts regenerates the committed src/tokenizer/unicode-data.ts byte for byte", async () => {
  const committed = readFileSync(new URL(`../../../${UNICODE_DATA_PATH}`, import.meta.url), "utf8");
  const regenerated = renderUnicodeData(await buildUnicodeTables());
  assert.ok(regenerated === committed, `${UNICODE_DATA_PATH} is stale: run node dist/scripts/gen/unicode-tables.js`);
});

test("(b) every table equals llama.cpp's src/unicode-data.cpp, and every code point looks up the same", (t) => {
  const ref = parseLlamaUnicodeData();
  const ours = unicodeTables();
  t.diagnostic(
    `llama.cpp: ${ref.rangesFlags.length} flag ranges, ${ref.whitespace.length} whitespace, ` +
      `${ref.lowercase.length} lowercase, ` +
      `${ref.uppercase.length} uppercase, ${ref.rangesNfd.length} NFD ranges`,
  );
  assert.ok(ref.rangesFlags.length > 2000 && ref.lowercase.length > 1400 && ref.uppercase.length > 1400 && ref.rangesNfd.length > 1500);
  for (const k of ["rangesFlags", "whitespace", "lowercase", "uppercase", "rangesNfd"] as const) {
    const a = ref[k] as unknown[];
    const b = ours[k] as unknown[];
    const firstDiff = a.findIndex((x, i) => JSON.stringify(x) !== JSON.stringify(b[i]));
    assert.equal(b.length, a.length, `${k}: ${b.length} entries, llama.cpp has ${a.length}`);
    assert.equal(firstDiff, -1, `${k}[${firstDiff}]: ours ${JSON.stringify(b[firstDiff])}, llama.cpp ${JSON.stringify(a[firstDiff])}`);
  }

  // llama.cpp's lookups re-implemented over its parsed tables: unicode_cpt_flags_array, unicode_tolower
  // (lower_bound over the map), unicode_cpts_normalize_nfd (upper_bound over the ranges, minus one).
  const flags = new Uint16Array(MAX_CODEPOINTS).fill(CptFlag.UNDEFINED);
  for (let i = 1; i < ref.rangesFlags.length; i++) flags.fill(ref.rangesFlags[i - 1][1], ref.rangesFlags[i - 1][0], ref.rangesFlags[i][0]);
  for (const c of ref.whitespace) flags[c] |= CptFlag.WHITESPACE;
  for (const [, c] of ref.lowercase) flags[c] |= CptFlag.LOWERCASE;
  for (const [, c] of ref.uppercase) flags[c] |= CptFlag.UPPERCASE;
  for (const [, , c] of ref.rangesNfd) flags[c] |= CptFlag.NFD;
  const lower = new Map(ref.lowercase);
  let r = 0;
  const bad: string[] = [];
  for (let cpt = 0; cpt < MAX_CODEPOINTS && bad.length < 5; cpt++) {
    while (r + 1 < ref.rangesNfd.length && ref.rangesNfd[r + 1][0] <= cpt) r++;
    const nfd = cpt <= ref.rangesNfd[r][1] ? ref.rangesNfd[r][2] : cpt;
    const want = [flags[cpt], lower.get(cpt) ?? cpt, nfd];
    const got = [unicode_cpt_flags_from_cpt(cpt), unicode_tolower(cpt), unicode_cpt_nfd(cpt)];
    if (want.join() !== got.join()) bad.push(`U+${cpt.toString(16)}: llama.cpp [flags, lower, nfd] ${want}, ours ${got}`);
  }
  assert.deepEqual(bad, []);
  assert.equal(unicode_cpt_flags_from_cpt(MAX_CODEPOINTS), CptFlag.UNDEFINED);
  assert.equal(unicode_cpt_flags_from_cpt(0x1fffff), CptFlag.UNDEFINED);
});

test("(c) where Unicode 15.1 and the engine's Unicode differ, we follow 15.1 (llama.cpp), not \\p{...}", (t) => {
  // Code points the engine knows as letters but 15.1 leaves unassigned: must be UNDEFINED for us.
  const newer: number[] = [];
  for (let cpt = 0; cpt < MAX_CODEPOINTS; cpt++) {
    if (unicode_cpt_flags_from_cpt(cpt) & CptFlag.UNDEFINED && /\p{L}/u.test(String.fromCodePoint(cpt))) newer.push(cpt);
  }
  const engine = process.versions.unicode ? `Unicode ${process.versions.unicode}` : "the engine";
  t.diagnostic(`${newer.length} code points are letters to ${engine} but unassigned in 15.1`);
  if (Number.parseFloat(process.versions.unicode ?? "0") > 15.1)
    assert.ok(newer.length > 100, "the engine's Unicode should assign letters that 15.1 lacks");
  // Fixed spot checks (true on any engine): U+1C89 CYRILLIC CAPITAL LETTER TJE and U+A7CB LATIN CAPITAL
  // LETTER RAMS HORN are Unicode 16.0; in 15.1 they are unassigned and have no lowercase mapping.
  const engine16 = Number.parseFloat(process.versions.unicode ?? "0") >= 16;
  for (const cpt of [0x1c89, 0xa7cb]) {
    assert.equal(unicode_cpt_flags_from_cpt(cpt), CptFlag.UNDEFINED, `U+${cpt.toString(16)}`);
    assert.equal(unicode_tolower(cpt), cpt, `U+${cpt.toString(16)}`);
    // ... while the engine (Unicode >= 16) calls them uppercase letters with a lowercase form
    const ch = String.fromCodePoint(cpt);
    if (engine16) assert.ok(/\p{Lu}/u.test(ch) && ch.toLowerCase() !== ch);
  }
  // Unicode 16.0's U+105C9 TODHRI LETTER EI decomposes canonically (to U+105D2 U+0307); not in 15.1.
  assert.equal(unicode_cpt_nfd(0x105c9), 0x105c9);
  if (engine16) assert.equal(String.fromCodePoint(0x105c9).normalize("NFD").codePointAt(0), 0x105d2);
  // Unchanged ones, for contrast: é -> e, Å (U+212B ANGSTROM SIGN) -> A, 가 (Hangul) -> ᄀ, İ -> i (simple mapping).
  assert.deepEqual(
    [unicode_cpt_nfd(0xe9), unicode_cpt_nfd(0x212b), unicode_cpt_nfd(0xac00), unicode_tolower(0x130)],
    [0x65, 0x41, 0x1100, 0x69],
  );
  assert.equal(unicode_cpt_flags_from_cpt(0x3000) & (CptFlag.WHITESPACE | CptFlag.SEPARATOR), CptFlag.WHITESPACE | CptFlag.SEPARATOR);
  assert.equal(unicode_cpt_flags_from_cpt(0x301) & CptFlag.MASK_CATEGORIES, CptFlag.ACCENT_MARK);
  assert.equal(unicode_cpt_flags_from_cpt(0x24) & CptFlag.MASK_CATEGORIES, CptFlag.SYMBOL); // $ is Sc
  assert.equal(unicode_cpt_flags_from_cpt(0xd800) & CptFlag.MASK_CATEGORIES, CptFlag.CONTROL); // Cs counts as \p{C}
});

test("unicode_cpts_from_utf8 decodes as llama.cpp does: bit patterns only, U+FFFD and one byte per invalid sequence", () => {
  const dec = (...b: number[]) => unicode_cpts_from_utf8(String.fromCharCode(...b), 0, b.length, []);
  assert.deepEqual(dec(0x41, 0xc3, 0xa9), [0x41, 0xe9]);
  assert.deepEqual(dec(0xc0, 0x80), [0]); // overlong NUL decodes to 0
  assert.deepEqual(dec(0xed, 0xa0, 0x80), [0xd800]); // a surrogate decodes as itself
  assert.deepEqual(dec(0xf7, 0xbf, 0xbf, 0xbf), [0x1fffff]); // beyond U+10FFFF
  assert.deepEqual(dec(0x80, 0x41), [0xfffd, 0x41]); // stray continuation byte
  assert.deepEqual(dec(0xe2, 0x82), [0xfffd, 0xfffd]); // truncated: each byte becomes U+FFFD
  assert.deepEqual(dec(0xf8, 0x80), [0xfffd, 0xfffd]);
  assert.deepEqual(dec(0xf0, 0x9f, 0xa6, 0x99), [0x1f999]);
});
