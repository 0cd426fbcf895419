/**
 * Hostile text for the WordPiece tokenizer, on llama.cpp's BERT test vocabulary (ggml-vocab-bert-bge.gguf):
 *  - 20,000 fast-check strings built from what WordPiece treats specially (CJK incl. the Extension B
 *    and the 0x2B820-0x2B91F range llama.cpp leaves out, accents and lone combining marks, Hangul,
 *    ASCII and Unicode punctuation and symbols, format characters, NUL, lone surrogates, whitespace
 *    runs of 14 kinds, [CLS]-style texts, long words, code points from every plane): encode never
 *    throws, ids are in range and framed by [CLS] ... [SEP], the plain reference path agrees, within a
 *    CPU budget;
 *  - 2,000 of them (fixed seed) give exactly llama.cpp's ids, parse_special on and off;
 *  - 1 MB worst cases (one huge word, a huge word that fails at its end, CJK, marks, ...) within the
 *    same CPU budget;
 *  - maxTokens: the result is a prefix of the full encoding, longer than maxTokens, and costs far less.
 * CPU time (process.cpuUsage), not wall time, so a busy machine does not fail the budget.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { LlamaModel } from "node-llama-cpp";
import { gemma3VocabFixture } from "../../scripts/gen/gemma3-vocab.js";
import { FileSource } from "../../src/node/fs-source.js";
import { loadTokenizer } from "../../src/tokenizer/index.js";
import { hostileText, lcg, ODD, planeChar, range, run, WORDS } from "../helpers/fuzz-text.js";
import { llamaModel } from "../helpers/llama.js";
import { cpuMs, cpuMsWithin } from "../helpers/cpu-time.js";
import { checkMaxTokens, idMismatches, llamaVocab } from "../helpers/vocab-oracle.js";
import { wpmReference } from "./wpm-reference.js";

const SPECIAL = ["[CLS]", "[SEP]", "[MASK]", "[UNK]", "[PAD]", "[unused0]", "[", "]", "##", "▁", "[cls]"];
const textArb = hostileText({
  words: WORDS,
  special: SPECIAL,
  odd: [...ODD, "\u{20000}", "\u{2B820}", "\u{2B91F}", "\u{2B920}", "\uF900", "\u1C89", "İ", "ẞ", "Σ", "ǅ", "ﬁ", "Å"],
  units: ["a", "b", "q", "z", "ing", "\u0000"],
  runs: [
    run(range(0x4e00, 0x9fff), range(0x3400, 0x4dbf), range(0x20000, 0x2ebef), range(0xac00, 0xd7a3)),
    run(range(0x21, 0x2f), range(0x3a, 0x40), range(0x2000, 0x206f), range(0x3000, 0x303f), range(0xff00, 0xffef)),
    run(range(0x300, 0x36f), range(0xc0, 0x24f), range(0x1e00, 0x1eff)),
    fc.array(planeChar, { maxLength: 6 }).map((a) => a.join("")), // not run(): its extra oneof would change the fixed-seed samples
  ],
});

const budgetMs = (text: string) => 50 + text.length * 0.004;

const v = llamaVocab("ggml-vocab-bert-bge.gguf", false);

function checkEncoding(text: string, withReference: boolean): void {
  const [ids, ms] = cpuMsWithin(() => v.ours.encode(text), budgetMs(text));
  assert.ok(ms <= budgetMs(text), `${ms.toFixed(0)} ms of CPU for ${text.length} UTF-16 units (budget ${budgetMs(text).toFixed(0)})`);
  assert.equal(ids[0], 101);
  assert.equal(ids[ids.length - 1], 102);
  for (const id of ids) assert.ok(Number.isInteger(id) && id >= 0 && id < v.ours.nVocab, `id ${id}`);
  if (withReference) assert.deepEqual(ids, wpmReference(v.ours.vocab, text, true, true), JSON.stringify(text));
}

test("20,000 generated strings encode without throwing, to in-range [CLS] .. [SEP] ids, as the reference path does", () => {
  let units = 0;
  fc.assert(
    fc.property(textArb, (text) => {
      units += text.length;
      checkEncoding(text, true);
    }),
    { numRuns: 20_000, seed: 0x77706d },
  );
  assert.ok(units > 20_000 * 20, `the generator is too tame: ${units} UTF-16 units in all`);
});

test("2,000 generated strings (fixed seed) tokenize exactly as llama.cpp does, parse_special on and off", async (t) => {
  const ref: LlamaModel = await llamaModel(v.path, true);
  const texts = fc.sample(textArb, { seed: 2025, numRuns: 2000 });
  const bad = idMismatches(v.ours, ref, texts);
  const cjk = texts.filter((s) => /[\u4e00-\u9fff\u{20000}-\u{2ebef}]/u.test(s)).length;
  const surrogates = texts.filter((s) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)).length;
  const specials = texts.filter((s) => SPECIAL.slice(0, 5).some((x) => s.includes(x))).length;
  t.diagnostic(
    `${texts.length} strings x 2 modes (${cjk} with CJK, ${surrogates} with lone surrogates, ` +
      `${specials} with [CLS]-style texts), ${bad.length} mismatches`,
  );
  assert.ok(cjk > 200 && surrogates > 30 && specials > 200, "the sample must contain CJK, lone surrogates and special texts");
  assert.deepEqual(bad, []);
});

test("1 MB inputs (a huge word, a huge word failing at its end, CJK, marks, punctuation) stay within the CPU budget", (t) => {
  const MB = 1 << 20;
  const rnd = lcg();
  const fill = (make: () => string) => {
    const parts: string[] = [];
    for (let n = 0; n < MB; ) {
      const p = make();
      parts.push(p);
      n += p.length;
    }
    return parts.join("").slice(0, MB);
  };
  const inputs: Record<string, string> = {
    "one letter, one word": "a".repeat(MB),
    "random letters, one word": fill(() => String.fromCharCode(0x61 + Math.floor(rnd() * 26))),
    "one word that fails at its end": "ab".repeat(MB / 2 - 1) + "\u0c80",
    "CJK (one word per character)": fill(() => String.fromCharCode(0x4e00 + Math.floor(rnd() * 20000))),
    "combining marks (all dropped)": fill(() => String.fromCharCode(0x300 + Math.floor(rnd() * 0x70))),
    punctuation: fill(() => String.fromCharCode(0x21 + Math.floor(rnd() * 15))),
    spaces: " ".repeat(MB),
    words: fill(() => WORDS[Math.floor(rnd() * WORDS.length)] + " "),
    "random code points incl. lone surrogates": fill(() => String.fromCodePoint(Math.floor(rnd() * 0x110000))),
    "[CLS] texts back to back": fill(() => SPECIAL[Math.floor(rnd() * 5)]),
  };
  const report: string[] = [];
  for (const [what, text] of Object.entries(inputs)) {
    const [ids, ms] = cpuMs(() => v.ours.encode(text));
    report.push(`${what} ${ms.toFixed(0)} ms`);
    assert.ok(ms <= budgetMs(text), `${what}: ${ms.toFixed(0)} ms of CPU for ${text.length} units (budget ${budgetMs(text).toFixed(0)})`);
    assert.ok(ids.length >= 2 && ids.every((id) => id >= 0 && id < v.ours.nVocab), what);
  }
  t.diagnostic(`CPU per 1 MB input: ${report.join(", ")}`);
});

test("maxTokens: a prefix of the full ids, longer than maxTokens, and cheap on 2 MB (WPM and SPM)", async (t) => {
  const src = await FileSource.open(await gemma3VocabFixture("converter"));
  const spm = await loadTokenizer(src);
  await src.close();
  const texts = fc.sample(textArb, { seed: 7, numRuns: 300 });
  for (const tk of [v.ours, spm]) {
    for (const text of texts) checkMaxTokens(tk, text);
    // 2 MB of prose on one line (one raw fragment for SPM): refusing it at 512 tokens costs little
    const big = "The quick brown fox jumps over the lazy dog, again and again. ".repeat(33_000);
    // best of 3: one sample of the cheap call could carry a GC pause or a busy CI's scheduling
    const [full, tFull] = cpuMs(() => tk.encode(big), 3);
    const [part, tPart] = cpuMs(() => tk.encode(big, { maxTokens: 512 }), 3);
    t.diagnostic(
      `${tk.vocab.type}: 2 MB, ${full.length} ids in ${tFull.toFixed(0)} ms; ` +
        `maxTokens 512: ${part.length} ids in ${tPart.toFixed(0)} ms`,
    );
    assert.ok(part.length > 512 && part.length < 600 && tPart * 5 < tFull);
    assert.deepEqual(part, full.slice(0, part.length));
  }
  assert.throws(() => v.ours.encode("x", { maxTokens: -1 }), /maxTokens/);
});
