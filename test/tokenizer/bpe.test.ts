/**
 * Byte-level BPE (src/tokenizer/bpe.ts) on hostile vocabularies and hostile text:
 *  - a synthetic vocabulary whose merges reference texts the vocab lacks (llama.cpp then falls back to
 *    one-byte tokens and drops bytes without one), repeat merges (the first rank wins), entries with no
 *    space or several, against llama.cpp on the same GGUF;
 *  - refused files: no merges, merges of the wrong type, unknown or unimplemented pre-tokenizers ->
 *    EmbedError, never a crash; an out-of-range BOS id falls back to the default as in llama.cpp;
 *  - a huge merge list (2M entries, chains up to 1,000 characters) builds and tokenizes in bounded time;
 *  - raw bytes: invalid UTF-8 is U+FFFD as in llama.cpp; a code point beyond U+10FFFF is BAD_INPUT;
 *  - on the real Qwen2 vocabulary: 3,000 fast-check strings never throw, give in-range ids and agree
 *    with the plain reference path (bpe-reference.ts); 300 of them equal llama.cpp's ids;
 *  - 1 MB of corpus text and a 100 KB single word tokenize in near-linear CPU time (200 KB costs at most
 *    3x 100 KB), and maxTokens returns a prefix of the full encoding.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { QWEN3_HPARAMS } from "../../scripts/gen/qwen3-vocab.js";
import { EmbedError } from "../../src/errors.js";
import { kv, type GGUFMetadata, type GGUFValue } from "../../src/gguf/keys.js";
import { BYTE_TO_CPT } from "../../src/tokenizer/bpe.js";
import { createTokenizer, LlamaTokenType, type Tokenizer } from "../../src/tokenizer/index.js";
import { cpuMs } from "../helpers/cpu-time.js";
import { llamaSourceFile } from "../helpers/llama-src.js";
import { vocabFixture } from "../helpers/synthetic-vocab.js";
import { BPE_EDGE, CORPUS, openBpe, type BpeCheck } from "./bpe-check.js";
import { bpeReference } from "./bpe-reference.js";

const ALPHABET = Array.from(BYTE_TO_CPT, (c) => String.fromCharCode(c)); // the 256 GPT-2 byte characters
const enc = (s: string) => Array.from(new TextEncoder().encode(s), (b) => ALPHABET[b]).join("");

/** A small "gpt2" vocab: the 256 byte characters, `extra` tokens, then `merges`, pre `pre`. */
function bpeMeta(extra: string[], merges: string[], more: [string, GGUFValue][] = []): [string, GGUFValue][] {
  const tokens = [...ALPHABET, ...extra, "<|endoftext|>"];
  const types = Int32Array.from(tokens, (_, i) => (i === tokens.length - 1 ? LlamaTokenType.CONTROL : LlamaTokenType.NORMAL));
  const base: [string, GGUFValue][] = [
    ["general.architecture", kv.str("qwen3")],
    ["general.name", kv.str("synthetic-bpe")],
    ...QWEN3_HPARAMS,
    ["tokenizer.ggml.model", kv.str("gpt2")],
    ["tokenizer.ggml.pre", kv.str("qwen2")],
    ["tokenizer.ggml.tokens", kv.strs(tokens)],
    ["tokenizer.ggml.token_type", kv.i32s(types)],
    ["tokenizer.ggml.merges", kv.strs(merges)],
    ["tokenizer.ggml.eos_token_id", kv.u32(tokens.length - 1)],
    ["tokenizer.ggml.bos_token_id", kv.u32(tokens.length - 1)],
  ];
  const keys = new Set(more.map(([k]) => k));
  return [...base.filter(([k]) => !keys.has(k)), ...more];
}

test("hostile merges (unknown results, repeats, no space, several spaces) tokenize as llama.cpp", async () => {
  const extra = [enc("he"), enc("hell"), enc("ll"), enc(" w"), enc("lo")];
  const merges = [
    "h e",
    "l l",
    "he ll",
    "hell o", // "hello" is no token: falls back to one-byte tokens h e l l o
    `${enc(" ")} w`,
    `${enc(" w")} o`, // " wo" is no token: " " is 2 bytes (C4 A0) with no one-byte token -> dropped
    "l o",
    "h e",
    "ll o",
    "nospace",
    "a b c",
    " x y",
    "x  y",
    "",
    enc("é").split("").join(" "), // é -> "Ã©": no token
    `${enc("日")[0]} ${enc("日")[1]}`,
  ];
  const path = await vocabFixture("bpe-hostile", bpeMeta(extra, merges));
  const { ours, llama, close } = await openBpe(path);
  try {
    for (const text of ["hello world", "hell", "hello", " wo", "lol", "héllo é 日本", "ab c", "x y", ...BPE_EDGE.slice(0, 30)]) {
      for (const parseSpecial of [false, true]) {
        assert.deepEqual(ours.encode(text, { addSpecial: false, parseSpecial }), llama(text, parseSpecial), JSON.stringify(text));
      }
    }
  } finally {
    await close();
  }
});

test("refused vocabularies throw EmbedError with the key or value named", () => {
  const expect = (meta: [string, GGUFValue][], code: string, re: RegExp) =>
    assert.throws(
      () => createTokenizer(new Map(meta) as GGUFMetadata),
      (e: unknown) => e instanceof EmbedError && e.code === code && re.test(e.message),
    );
  expect(
    bpeMeta([], []).filter(([k]) => k !== "tokenizer.ggml.merges"),
    "BAD_VOCAB",
    /tokenizer\.ggml\.merges/,
  );
  expect(bpeMeta([], [], [["tokenizer.ggml.merges", kv.i32s(new Int32Array(3))]]), "GGUF_KEY_TYPE", /tokenizer\.ggml\.merges/);
  for (const pre of ["default", "deepseek-llm", "__proto__", "constructor", "tekken"]) {
    expect(bpeMeta([], [], [["tokenizer.ggml.pre", kv.str(pre)]]), "UNSUPPORTED_TOKENIZER", new RegExp(`"${pre}"`));
  }
  // an out-of-range BOS id falls back to the "gpt2" default 11, with llama.cpp's warning
  const tok = createTokenizer(
    new Map(
      bpeMeta(
        [],
        [],
        [
          ["tokenizer.ggml.pre", kv.str("llama-bpe")],
          ["tokenizer.ggml.bos_token_id", kv.u32(1e6)],
        ],
      ),
    ) as GGUFMetadata,
  );
  assert.deepEqual(tok.specialPrefix, [11]);
  assert.ok(tok.vocab.warnings.some((w) => /bad special token: 'tokenizer\.ggml\.bos_token_id' = 1000000, using default id 11/.test(w)));
});

test("a huge merge list builds and tokenizes in bounded time", () => {
  // a chain "b a", "ba a", "baa a", ...: a word "baa...a" merges one character at a time, each lookup up to 1,000 characters
  const merges: string[] = [];
  for (let n = 1; n < 1000; n++) merges.push(`b${"a".repeat(n - 1)} a`);
  for (let i = 0; merges.length < 2_000_000; i++) merges.push(`${i.toString(36)} ${(i * 7).toString(36)}`);
  const c0 = process.cpuUsage();
  const tok = createTokenizer(new Map(bpeMeta([], merges)) as GGUFMetadata);
  const word = "b" + "a".repeat(999);
  const ids = tok.encode(word + ` ${word}`.repeat(99), { addSpecial: false });
  const c = process.cpuUsage(c0);
  // "baa...a" (1,000 characters) is no token: one-byte fallback, 1,000 ids; "Ġ" stays a symbol of its own
  assert.equal(ids.length, 1000 + 99 * 1001);
  assert.ok((c.user + c.system) / 1e6 < 60, `${(c.user + c.system) / 1e6} s CPU`);
});

let qwen2: BpeCheck & { meta: GGUFMetadata };
before(async () => {
  qwen2 = await openBpe(llamaSourceFile("models/ggml-vocab-qwen2.gguf"));
});
after(async () => {
  await qwen2?.close();
});

test("raw bytes: invalid UTF-8 becomes U+FFFD; beyond U+10FFFF is BAD_INPUT", () => {
  const { ours } = qwen2;
  assert.deepEqual(ours.encode(Uint8Array.of(0x61, 0x80, 0x62, 0xc3)), ours.encode("a\uFFFDb\uFFFD"));
  assert.deepEqual(ours.encode(Uint8Array.of(0xed, 0xa0, 0x80)).length > 0, true); // a surrogate decodes as is
  assert.throws(
    () => ours.encode(Uint8Array.of(0x20, 0xf5, 0x80, 0x80, 0x80)),
    (e: unknown) => e instanceof EmbedError && e.code === "BAD_INPUT",
  );
});

const piece = fc.oneof(
  fc.constantFrom(...BPE_EDGE.filter((s) => s.length < 100), "<|endoftext|>", "<|im_start|>", "'", "'S", "'ll", "\r\n", " "),
  fc.string({ unit: "grapheme-composite", maxLength: 8 }),
  fc.string({ unit: "binary", maxLength: 8 }),
  fc
    .array(
      fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
      { maxLength: 6 },
    )
    .map((a) => a.join("")),
  fc.tuple(fc.constantFrom(" ", "\n", "\t", "\u3000", "\r"), fc.integer({ min: 1, max: 20 })).map(([s, n]) => s.repeat(n)),
);
const textArb = fc.array(piece, { maxLength: 20 }).map((p) => p.join(""));

test("fast-check: 3,000 strings never throw, ids in range, equal to the reference path; 300 equal llama.cpp's", () => {
  const { ours, meta, llama } = qwen2;
  let i = 0;
  fc.assert(
    fc.property(textArb, fc.boolean(), (text, parseSpecial) => {
      const ids = ours.encode(text, { parseSpecial });
      assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < ours.nVocab));
      assert.deepEqual(ids, bpeReference(ours.vocab, meta, text, true, parseSpecial));
      if (i++ % 10 === 0) assert.deepEqual(ids, llama(text, parseSpecial));
      ours.decode(ids);
    }),
    { numRuns: 3000, seed: 18 },
  );
});

test("1 MB of text and a 100 KB single word tokenize in near-linear time; maxTokens gives a prefix", (t) => {
  const ours: Tokenizer = qwen2.ours;
  let mb = "";
  for (let i = 0; mb.length < 1 << 20; i++) mb += CORPUS[i % CORPUS.length] + "\n";
  const n = ours.encode(mb).length;
  const msMb = cpuMs(() => ours.encode(mb))[1];
  const letters = "abcdefghijklmnopqrstuvwxyzéàü";
  const word = (k: number) => Array.from({ length: k }, (_, i) => letters[(i * 7 + (i >> 3)) % letters.length]).join("");
  const w100 = word(100_000);
  const w200 = word(200_000);
  const ms100 = cpuMs(() => ours.encode(w100))[1];
  const ms200 = cpuMs(() => ours.encode(w200))[1];
  const msA = cpuMs(() => ours.encode("a".repeat(100_000)))[1];
  t.diagnostic(
    `1 MB: ${n} tokens in ${msMb.toFixed(0)} ms CPU; single word 100 KB ${ms100.toFixed(0)} ms, ` +
      `200 KB ${ms200.toFixed(0)} ms, ` +
      `"a" x 100k ${msA.toFixed(0)} ms`,
  );
  assert.ok(msMb < 20_000 && ms100 < 5_000 && msA < 5_000);
  assert.ok(ms200 < 3 * ms100 + 50, "the merge loop is not linear-ish in the word length");
  const full = ours.encode(mb, { addSpecial: false });
  const part = ours.encode(mb, { addSpecial: false, maxTokens: 1000 });
  assert.ok(part.length > 1000 && part.length < 1100);
  assert.deepEqual(part, full.slice(0, part.length));
});
