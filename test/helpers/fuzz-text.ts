/**
 * fast-check generators of hostile text shared by the WordPiece and unigram fuzz tests
 * (test/tokenizer/wpm-fuzz.test.ts, ugm-fuzz.test.ts): whitespace of 14 kinds, odd code units, words
 * in several scripts, code-point ranges, and the weighted mix of pieces a test string is joined from.
 * Changing the order or weights of the mix changes every fixed-seed sample the tests compare with llama.cpp.
 */
import fc from "fast-check";

/** 14 kinds of whitespace (ASCII, no-break, ideographic, line/paragraph separators, NEL, thin, zero-width). */
export const SPACES = [" ", "\t", "\n", "\r\n", "\v", "\f", "\u00a0", "\u3000", "\u2028", "\u2029", "\u0085", "\u2009", "\u202f", "\u200b"];

/** NUL, lone surrogates, BOM, non-characters, joiners, soft hyphen, a combining mark alone and composed, the last code point, DEL, ESC. */
export const ODD = [
  "\u0000",
  "\uD800",
  "\uDBFF",
  "\uDC00",
  "\uFEFF",
  "\uFFFD",
  "\uFFFE",
  "\u200D",
  "\u00AD",
  "e\u0301",
  "\u0301",
  "\u{10FFFF}",
  "\x7f",
  "\x1b[0m",
];

/** Words in Latin (accents, case), CJK, Hangul, Cyrillic, with apostrophes, dots, hyphens and digits. */
export const WORDS = [
  "hello",
  "World",
  "TOKENIZER",
  "naïve",
  "café",
  "東京",
  "한국어",
  "привет",
  "don't",
  "U.S.A.",
  "e-mail",
  "3.14",
  "ŒUVRE",
  "straße",
];

/** One code point in [lo, hi], as a string. */
export const range = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((cp) => String.fromCodePoint(cp));

/** One code point of a random plane (0-16), lone surrogates and non-characters included. */
export const planeChar = fc.integer({ min: 0, max: 16 }).chain((p) => range(p * 0x10000, p * 0x10000 + 0xffff));

/** Up to 6 characters, each drawn from one of `chars`, joined. */
export const run = (...chars: fc.Arbitrary<string>[]) => fc.array(fc.oneof(...chars), { maxLength: 6 }).map((a) => a.join(""));

/**
 * Up to 24 pieces joined -> one test string. Pieces by weight: words (3); graphemes, `special` texts,
 * whitespace runs, each of `runs` (2); each of `rare`, 8 binary code units, `odd`, 10-60 of `units` (1).
 */
export function hostileText(o: {
  words: string[];
  special: string[];
  odd: string[];
  units: string[];
  runs: fc.Arbitrary<string>[];
  rare?: fc.Arbitrary<string>[];
}): fc.Arbitrary<string> {
  const piece = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...o.words) },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme-composite", maxLength: 8 }) },
    { weight: 2, arbitrary: fc.constantFrom(...o.special) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...SPACES), fc.integer({ min: 1, max: 30 })).map(([s, n]) => s.repeat(n)) },
    ...o.runs.map((arbitrary) => ({ weight: 2, arbitrary })),
    ...(o.rare ?? []).map((arbitrary) => ({ weight: 1, arbitrary })),
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
    { weight: 1, arbitrary: fc.constantFrom(...o.odd) },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...o.units), minLength: 10, maxLength: 60 }) },
  );
  return fc.array(piece, { maxLength: 24 }).map((p) => p.join(""));
}

/** A deterministic generator of floats in [0, 1) (32-bit LCG from `seed`), for building large inputs. */
export function lcg(seed = 1): () => number {
  let s = seed;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}
