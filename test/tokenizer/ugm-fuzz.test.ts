/**
 * Hostile text for the unigram tokenizer, on the real XLM-R vocabulary (ggml-vocab-nomic-bert-moe.gguf,
 * real precompiled_charsmap):
 *  - 10,000 fast-check strings built from what UGM treats specially (characters the charsmap folds:
 *    full-width forms, ligatures, enclosed and compatibility characters; combining marks; CJK; 14
 *    kinds of whitespace runs; XLM-R special and UNUSED token texts; control characters, NUL, lone
 *    surrogates; code points from every plane; long words): encode never throws, ids are in range and
 *    framed by <s> ... </s>, within a CPU budget, and equal to the plain reference path (ugm-reference.ts);
 *  - 2,000 random byte arrays (invalid UTF-8 included) never throw either;
 *  - 2,000 of the strings (fixed seed) and 500 byte arrays decoded as UTF-8 give exactly llama.cpp's
 *    ids, parse_special on and off;
 *  - 1 MB inputs (prose, one long word, CJK, whitespace, random code points) within the CPU budget, and
 *    4x the input costs about 4x the time;
 *  - maxTokens: the result is a prefix of the full encoding and longer than maxTokens.
 * CPU time (process.cpuUsage), not wall time, so a busy machine does not fail the budget.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { UgmTokenizer } from "../../src/tokenizer/ugm.js";
import { lcg, ODD, planeChar, range, run, hostileText, WORDS } from "../helpers/fuzz-text.js";
import { llamaModel } from "../helpers/llama.js";
import { cpuMs, cpuMsWithin } from "../helpers/cpu-time.js";
import { checkMaxTokens, idMismatches, llamaVocab } from "../helpers/vocab-oracle.js";
import { ugmReference } from "./ugm-reference.js";

const SPECIAL = ["<s>", "</s>", "<pad>", "<unk>", "<mask>", "[PAD250040]", "▁", "<", "s>", "</", " <mask>"];
const UGM_WORDS = [...WORDS, "Donaudampfschifffahrt"];
const ODD_UGM = [...ODD, "\ufdfa", "ﬁ", "Å", "①", "㍿", "ｶﾞ", "½", "İ", "ẞ", "ǅ"];

const textArb = hostileText({
  words: UGM_WORDS,
  special: SPECIAL,
  odd: ODD_UGM,
  units: ["a", "b", "q", "z", "ing", "▁", "\u0000"],
  runs: [
    run(range(0xff00, 0xffef), range(0xfb00, 0xfb4f), range(0x2460, 0x24ff), range(0x3300, 0x33ff), range(0x2150, 0x218f)),
    run(range(0x4e00, 0x9fff), range(0xac00, 0xd7a3), range(0x3040, 0x30ff), range(0x0e00, 0x0e7f)),
    run(range(0x300, 0x36f), range(0xc0, 0x24f), range(0x1e00, 0x1eff), range(0x1100, 0x11ff)),
    run(planeChar),
  ],
  rare: [run(range(0, 0x1f), range(0x7f, 0x9f), range(0x2000, 0x206f))],
});
const bytesArb = fc.uint8Array({ maxLength: 64 });

const budgetMs = (units: number) => 50 + units * 0.006;

const v = llamaVocab("ggml-vocab-nomic-bert-moe.gguf", false);

function checkIds(ids: number[], what: string): void {
  const tok = v.ours;
  assert.equal(ids[0], 0, what);
  assert.equal(ids[ids.length - 1], 2, what);
  for (const id of ids) assert.ok(Number.isInteger(id) && id >= 0 && id < tok.nVocab, `${what}: id ${id}`);
}

test("10,000 generated strings and 2,000 random byte arrays encode without throwing, to in-range <s> .. </s> ids", () => {
  const tok = v.ours;
  let units = 0;
  fc.assert(
    fc.property(textArb, (text) => {
      units += text.length;
      const [ids, ms] = cpuMsWithin(() => tok.encode(text), budgetMs(text.length));
      assert.ok(ms <= budgetMs(text.length), `${ms.toFixed(0)} ms of CPU for ${text.length} UTF-16 units`);
      checkIds(ids, JSON.stringify(text));
      assert.deepEqual(ids, ugmReference(tok.vocab, (tok as UgmTokenizer).charsmap, text, true, true), JSON.stringify(text));
    }),
    { numRuns: 10_000, seed: 0x75676d },
  );
  assert.ok(units > 10_000 * 20, `the generator is too tame: ${units} UTF-16 units in all`);
  fc.assert(
    fc.property(bytesArb, (bytes) => checkIds(tok.encode(bytes), `bytes ${Array.from(bytes)}`)),
    { numRuns: 2000, seed: 5 },
  );
});

test("2,000 generated strings and 500 random byte arrays (as UTF-8) tokenize as llama.cpp does, parse_special on and off", async (t) => {
  const tok = v.ours;
  const ref = await llamaModel(v.path, true);
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  const texts = [
    ...fc.sample(textArb, { seed: 2025, numRuns: 2000 }),
    ...fc.sample(bytesArb, { seed: 9, numRuns: 500 }).map((b) => decoder.decode(b)),
  ];
  const bad = idMismatches(tok, ref, texts);
  const unk = texts.filter((s) => tok.encode(s).includes(3)).length;
  const specials = texts.filter((s) => SPECIAL.slice(0, 6).some((x) => s.includes(x))).length;
  t.diagnostic(`${texts.length} strings x 2 modes (${unk} with <unk>, ${specials} with special texts), ${bad.length} mismatches`);
  assert.ok(unk > 100 && specials > 200, "the sample must contain unknown characters and special texts");
  assert.deepEqual(bad, []);
});

test("1 MB inputs stay within the CPU budget, and 4x the input costs about 4x the time", (t) => {
  const tok = v.ours;
  const MB = 1 << 20;
  const rnd = lcg();
  // `size` pieces of at least one UTF-16 unit each, cut to `size` units
  const fill = (make: () => string, size: number) => Array.from({ length: size }, make).join("").slice(0, size);
  const inputs: Record<string, (size: number) => string> = {
    prose: (n) => "The quick brown fox jumps over the lazy dog, again and again. ".repeat(n / 60).slice(0, n),
    words: (n) => fill(() => UGM_WORDS[Math.floor(rnd() * UGM_WORDS.length)] + " ", n),
    "one letter, one word": (n) => "a".repeat(n),
    spaces: (n) => " ".repeat(n),
    CJK: (n) => fill(() => String.fromCharCode(0x4e00 + Math.floor(rnd() * 20000)), n),
    "full-width (folded)": (n) => fill(() => String.fromCharCode(0xff01 + Math.floor(rnd() * 90)), n),
    "random code points incl. lone surrogates": (n) => fill(() => String.fromCodePoint(Math.floor(rnd() * 0x110000)), n),
    "special texts back to back": (n) => fill(() => SPECIAL[Math.floor(rnd() * 6)], n),
  };
  const report: string[] = [];
  for (const [what, make] of Object.entries(inputs)) {
    const small = make(MB / 4);
    const big = make(MB);
    const [, msSmall] = cpuMs(() => tok.encode(small));
    const [ids, ms] = cpuMs(() => tok.encode(big));
    report.push(`${what} ${ms.toFixed(0)} ms (256 KB: ${msSmall.toFixed(0)} ms)`);
    assert.ok(ms <= budgetMs(big.length), `${what}: ${ms.toFixed(0)} ms of CPU for ${big.length} units`);
    assert.ok(ms < 10 * msSmall + 1000, `${what}: 1 MB ${ms.toFixed(0)} ms vs 256 KB ${msSmall.toFixed(0)} ms is not linear`);
    assert.ok(ids.length >= 2 && ids.every((id) => id >= 0 && id < tok.nVocab), what);
  }
  t.diagnostic(`CPU per 1 MB input: ${report.join(", ")}`);
});

test("maxTokens: a prefix of the full ids, longer than maxTokens", () => {
  for (const text of fc.sample(textArb, { seed: 7, numRuns: 300 })) checkMaxTokens(v.ours, text);
});
