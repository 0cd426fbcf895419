/**
 * Generates src/tokenizer/unicode-data.ts: the Unicode 15.1 tables llama.cpp's tokenizers use
 * (llama.cpp src/unicode-data.cpp, written by its scripts/gen-unicode-data.py), rebuilt from the npm
 * package @unicode/unicode-15.1.0 (a devDependency; nothing is read at run time).
 *
 * What llama.cpp's generator does, and what we do to get the same tables:
 *  - flags: one category flag per code point from UnicodeData.txt's General_Category (Cn, i.e. code
 *    points absent from UnicodeData.txt, is UNDEFINED), grouped into ranges of equal flags, closed by
 *    a (0x110000, 0) sentinel. We read General_Category from the package ("Unassigned" = Cn).
 *  - whitespace: a hand-written list equal to PropList's White_Space; we read White_Space.
 *  - lowercase / uppercase: UnicodeData's simple mappings (fields 13 and 12); we read
 *    Simple_Case_Mapping/{Lowercase,Uppercase}.
 *  - nfd: for every assigned code point, the *first* code point of its NFD form when that differs
 *    from itself, grouped into [first, last] ranges mapping to one value; the list starts with a dummy
 *    {0, 0, 0} entry (kept: llama.cpp marks code point 0 with the NFD helper flag because of it). The
 *    package has no decomposition data, so we take NFD from String.prototype.normalize, restricted to
 *    code points assigned in 15.1: canonical decompositions of assigned characters never change
 *    (Unicode's normalization stability policy), so a newer ICU gives the 15.1 answer for them.
 * test/tokenizer/unicode.test.ts checks every table against llama.cpp's unicode-data.cpp.
 *
 * Output encoding (compact, ~30 KB): each table is a string of base-36 integers separated by ",",
 * delta-coded; signed values are zig-zag coded. src/tokenizer/unicode.ts decodes them once.
 *
 *   npx tsc -p tsconfig.json && node dist/scripts/gen/unicode-tables.js [--check]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const MAX_CODEPOINTS = 0x110000;

/** llama.cpp unicode.h unicode_cpt_flags category bits. */
const CATEGORY_FLAG: Record<string, number> = {
  Unassigned: 0x01,
  Decimal_Number: 0x02,
  Letter_Number: 0x02,
  Other_Number: 0x02,
  Uppercase_Letter: 0x04,
  Lowercase_Letter: 0x04,
  Titlecase_Letter: 0x04,
  Modifier_Letter: 0x04,
  Other_Letter: 0x04,
  Space_Separator: 0x08,
  Line_Separator: 0x08,
  Paragraph_Separator: 0x08,
  Nonspacing_Mark: 0x10,
  Spacing_Mark: 0x10,
  Enclosing_Mark: 0x10,
  Connector_Punctuation: 0x20,
  Dash_Punctuation: 0x20,
  Open_Punctuation: 0x20,
  Close_Punctuation: 0x20,
  Initial_Punctuation: 0x20,
  Final_Punctuation: 0x20,
  Other_Punctuation: 0x20,
  Math_Symbol: 0x40,
  Currency_Symbol: 0x40,
  Modifier_Symbol: 0x40,
  Other_Symbol: 0x40,
  Control: 0x80,
  Format: 0x80,
  Surrogate: 0x80,
  Private_Use: 0x80,
};

/** The tables in llama.cpp's shapes (what the test compares with unicode-data.cpp). */
export interface UnicodeTables {
  /** unicode_ranges_flags: [start, flags], sorted, ending with [0x110000, 0]. */
  rangesFlags: [number, number][];
  /** unicode_set_whitespace, sorted. */
  whitespace: number[];
  /** unicode_map_lowercase / unicode_map_uppercase: [cpt, mapped], sorted by cpt. */
  lowercase: [number, number][];
  uppercase: [number, number][];
  /** unicode_ranges_nfd: [first, last, nfd], sorted. */
  rangesNfd: [number, number, number][];
}

const pkg = (path: string) => `@unicode/unicode-15.1.0/${path}`;

/** Build the tables from @unicode/unicode-15.1.0 (about 1 s: it walks all 1.1M code points). */
export async function buildUnicodeTables(): Promise<UnicodeTables> {
  const load = async <T>(path: string): Promise<T> => ((await import(pkg(path))) as { default: T }).default;
  const category = await load<Map<number, string>>("General_Category/index.mjs");
  const white = await load<number[]>("Binary_Property/White_Space/code-points.mjs");
  const lower = await load<Map<number, number>>("Simple_Case_Mapping/Lowercase/code-points.mjs");
  const upper = await load<Map<number, number>>("Simple_Case_Mapping/Uppercase/code-points.mjs");

  const flags = new Uint16Array(MAX_CODEPOINTS);
  const nfd: [number, number][] = [];
  for (let cpt = 0; cpt < MAX_CODEPOINTS; cpt++) {
    const cat = category.get(cpt) ?? "Unassigned";
    const f = CATEGORY_FLAG[cat];
    if (f === undefined) throw new Error(`unknown General_Category ${cat} at U+${cpt.toString(16)}`);
    flags[cpt] = f;
    if (cat === "Unassigned" || cat === "Surrogate") continue; // not in UnicodeData.txt / NFD is itself
    const first = String.fromCodePoint(cpt).normalize("NFD").codePointAt(0)!;
    if (first !== cpt) nfd.push([cpt, first]);
  }

  const rangesFlags: [number, number][] = [[0, flags[0]]];
  for (let cpt = 0; cpt < MAX_CODEPOINTS; cpt++) {
    if (flags[cpt] !== rangesFlags[rangesFlags.length - 1][1]) rangesFlags.push([cpt, flags[cpt]]);
  }
  rangesFlags.push([MAX_CODEPOINTS, 0]);

  // gen-unicode-data.py: a range grows while the next code point maps to the same value.
  const rangesNfd: [number, number, number][] = [[0, 0, 0]];
  for (const [cpt, norm] of nfd) {
    const last = rangesNfd[rangesNfd.length - 1];
    if (last[1] === cpt - 1 && last[2] === norm) last[1] = cpt;
    else rangesNfd.push([cpt, cpt, norm]);
  }

  const pairs = (m: Map<number, number>) => [...m].filter(([a, b]) => a !== b).sort((x, y) => x[0] - y[0]);
  return { rangesFlags, whitespace: [...white].sort((a, b) => a - b), lowercase: pairs(lower), uppercase: pairs(upper), rangesNfd };
}

const zigzag = (v: number) => (v >= 0 ? 2 * v : -2 * v - 1);
const pack = (xs: number[]) => xs.map((x) => x.toString(36)).join(",");

/** The text of src/tokenizer/unicode-data.ts for `t` (deterministic: same tables, same bytes). */
export function renderUnicodeData(t: UnicodeTables): string {
  const flags: number[] = [];
  let prev = 0;
  for (const [start, f] of t.rangesFlags) flags.push(start - prev, f), (prev = start);
  const ws: number[] = [];
  prev = 0;
  for (const c of t.whitespace) ws.push(c - prev), (prev = c);
  const map = (m: [number, number][]) => {
    const out: number[] = [];
    let p = 0;
    for (const [a, b] of m) out.push(a - p, zigzag(b - a)), (p = a);
    return out;
  };
  const nfd: number[] = [];
  prev = 0;
  for (const [first, last, norm] of t.rangesNfd) nfd.push(first - prev, last - first, zigzag(norm - first)), (prev = first);
  const lines = [
    "// Generated by scripts/gen/unicode-tables.ts from @unicode/unicode-15.1.0. Do not edit.",
    "// The tables of llama.cpp src/unicode-data.cpp (Unicode 15.1), packed: base-36 integers, delta-coded,",
    "// signed values zig-zag coded. src/tokenizer/unicode.ts decodes them; docs/tokenizers/unicode.md explains them.",
    "",
    'export const UNICODE_VERSION = "15.1.0";',
    "",
    "/** unicode_ranges_flags: (start - previous start, flags) pairs; the last start is 0x110000. */",
    `export const RANGES_FLAGS = "${pack(flags)}";`,
    "",
    "/** unicode_set_whitespace: deltas. */",
    `export const WHITESPACE = "${pack(ws)}";`,
    "",
    "/** unicode_map_lowercase: (cpt - previous cpt, zigzag(lower - cpt)) pairs. */",
    `export const MAP_LOWERCASE = "${pack(map(t.lowercase))}";`,
    "",
    "/** unicode_map_uppercase: (cpt - previous cpt, zigzag(upper - cpt)) pairs. */",
    `export const MAP_UPPERCASE = "${pack(map(t.uppercase))}";`,
    "",
    "/** unicode_ranges_nfd: (first - previous first, last - first, zigzag(nfd - first)) triples. */",
    `export const RANGES_NFD = "${pack(nfd)}";`,
    "",
  ];
  return lines.join("\n");
}

export const UNICODE_DATA_PATH = "src/tokenizer/unicode-data.ts";

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = new URL(`../../../${UNICODE_DATA_PATH}`, import.meta.url);
  const text = renderUnicodeData(await buildUnicodeTables());
  if (process.argv.includes("--check")) {
    const same = readFileSync(target, "utf8") === text;
    console.log(same ? `${UNICODE_DATA_PATH} is up to date` : `${UNICODE_DATA_PATH} differs from the generator's output`);
    process.exit(same ? 0 : 1);
  }
  writeFileSync(target, text);
  console.log(`wrote ${UNICODE_DATA_PATH} (${text.length} bytes)`);
}
