/**
 * WordPiece details beyond the parity suite: llama.cpp's "bert" defaults, the BertNormalizer keys
 * (variants of the real bge vocab with tokenizer.ggml.normalizer.lowercase / strip_accents set,
 * against llama.cpp), vocab validation, clean_spaces on decode, and raw bytes llama.cpp cannot encode.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { isEmbedError } from "../../src/errors.js";
import { kv, type GGUFMetadata, type GGUFValue } from "../../src/gguf/keys.js";
import { readGGUF } from "../../src/gguf/reader.js";
import { FileSource } from "../../src/node/fs-source.js";
import { createTokenizer, loadTokenizer, LlamaTokenType, type Tokenizer } from "../../src/tokenizer/index.js";
import { disposeModel, llamaModel } from "../helpers/llama.js";
import { llamaSourceFile } from "../helpers/llama-src.js";
import { vocabFixture } from "../helpers/synthetic-vocab.js";
import { WPM_EDGE } from "./wpm-strings.js";

let bge: GGUFMetadata;
let tok: Tokenizer;
before(async () => {
  const src = await FileSource.open(llamaSourceFile("models/ggml-vocab-bert-bge.gguf"));
  bge = (await readGGUF(src)).metadata;
  await src.close();
  tok = createTokenizer(bge);
});
const opened: string[] = [];
after(async () => {
  for (const p of opened) await disposeModel(p);
});

test("bert defaults: [CLS] 101 ... [SEP] 102, [UNK] 100, add_bos, add_sep, clean_spaces, lowercase + strip accents", () => {
  const v = tok.vocab;
  assert.deepEqual(
    [v.special.bos, v.special.eos, v.special.unk, v.special.sep, v.special.pad, v.special.mask],
    [101, -1, 100, 102, 0, 103],
  );
  assert.deepEqual(
    [v.addBos, v.addEos, v.addSep, v.addSpacePrefix, v.cleanSpaces, v.normalizerLowercase, v.normalizerStripAccents],
    [true, false, true, false, true, true, true],
  );
  assert.deepEqual(tok.encode("Hello World"), [101, 7592, 2088, 102]);
  assert.deepEqual(tok.encode("Héllo, WORLD!", { addSpecial: false }), [7592, 1010, 2088, 999]);
  // decode: "▁" pieces become spaces, clean_spaces glues the punctuation back
  assert.equal(tok.decode(tok.encode("hello , world . it ' s")), " hello, world. it's");
  assert.equal(tok.decode(tok.encode("x"), { unparseSpecial: true }), "[CLS] x[SEP]");
});

test("tokenizer.ggml.normalizer.lowercase / strip_accents variants of the bge vocab equal llama.cpp", async (t) => {
  const strings = [...WPM_EDGE, "Ünïcödé ÀÉÎÕÜ", "İIıi", "MiXeD CaSe 123", "Ǆemal ǅungla"];
  for (const [name, keys] of [
    ["lowercase=false", [["tokenizer.ggml.normalizer.lowercase", kv.bool(false)]]],
    ["strip_accents=false", [["tokenizer.ggml.normalizer.strip_accents", kv.bool(false)]]],
    [
      "lowercase=false, strip_accents=true",
      [
        ["tokenizer.ggml.normalizer.lowercase", kv.bool(false)],
        ["tokenizer.ggml.normalizer.strip_accents", kv.bool(true)],
      ],
    ],
  ] as [string, [string, GGUFValue][]][]) {
    const meta = new Map(bge);
    for (const [k, v] of keys) meta.set(k, v);
    const path = await vocabFixture(`bge-${name.replace(/[^a-z]+/g, "-")}`, [...meta]);
    const src = await FileSource.open(path);
    const ours = await loadTokenizer(src);
    await src.close();
    const ref = await llamaModel(path, true);
    opened.push(path);
    const bad = strings.filter((s) => ours.encode(s, { addSpecial: false }).join() !== Array.from(ref.tokenize(s, true)).join());
    const differs = strings.filter((s) => ours.encode(s).join() !== tok.encode(s).join()).length;
    t.diagnostic(
      `${name}: ${strings.length} strings, ${differs} tokenized differently from the default vocab, ` +
        `${bad.length} mismatches with llama.cpp`,
    );
    assert.ok(differs > 5, `${name} should change something`);
    assert.deepEqual(
      bad.map((s) => s.slice(0, 60)),
      [],
    );
  }
});

/** A small bert vocab: [PAD], the 99 [unusedN], [UNK], [CLS], [SEP], [MASK], then `extra`. */
function miniBert(extra: [string, LlamaTokenType][], more: [string, GGUFValue][] = []): GGUFMetadata {
  const tokens = [
    "[PAD]",
    ...Array.from({ length: 99 }, (_, i) => `[unused${i}]`),
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    ...extra.map((e) => e[0]),
  ];
  const types = tokens.map((_tk, i) =>
    i < 104 ? (i === 0 || i >= 100 ? LlamaTokenType.CONTROL : LlamaTokenType.NORMAL) : extra[i - 104][1],
  );
  return new Map<string, GGUFValue>([
    ["tokenizer.ggml.model", kv.str("bert")],
    ["tokenizer.ggml.tokens", kv.strs(tokens)],
    ["tokenizer.ggml.token_type", kv.i32s(Int32Array.from(types))],
    ...more,
  ]);
}

test("longest match first, [UNK] for a word that cannot be split, phantom-space prefix", () => {
  const N = LlamaTokenType.NORMAL;
  const t = createTokenizer(
    miniBert([
      ["▁un", N],
      ["▁unaff", N],
      ["aff", N],
      ["able", N],
      ["▁a", N],
      ["b", N],
      ["▁", N],
    ]),
  );
  // "unaffable": ▁unaff + able (longest first), not ▁un + aff + able
  assert.deepEqual(t.encode("unaffable", { addSpecial: false }), [105, 107]);
  // "unaffablez": z matches nothing -> the whole word is [UNK]; the next word is unaffected
  assert.deepEqual(t.encode("unaffablez ab", { addSpecial: false }), [100, 108, 109]);
  // punctuation is a word of its own: "▁," is not in the vocab -> [UNK]
  assert.deepEqual(t.encode("a,b", { addSpecial: false }), [108, 100, 110, 109]);
});

test("vocab validation: BYTE tokens, [UNK]/[CLS]/[SEP] out of range, bad normalizer key types", () => {
  const bad = (meta: GGUFMetadata, code: "BAD_VOCAB" | "GGUF_KEY_TYPE", text: string) =>
    assert.throws(
      () => createTokenizer(meta),
      (e) => isEmbedError(e, code) && e.message.includes(text),
      text,
    );
  bad(miniBert([["<0x41>", LlamaTokenType.BYTE]]), "BAD_VOCAB", "BYTE");
  const small = new Map<string, GGUFValue>([
    ["tokenizer.ggml.model", kv.str("bert")],
    ["tokenizer.ggml.tokens", kv.strs(["a", "b", "c"])],
  ]);
  bad(small, "BAD_VOCAB", "tokenizer.ggml.bos_token_id");
  small.set("tokenizer.ggml.bos_token_id", kv.u32(0));
  bad(small, "BAD_VOCAB", "tokenizer.ggml.seperator_token_id");
  small.set("tokenizer.ggml.seperator_token_id", kv.u32(1));
  bad(small, "BAD_VOCAB", "tokenizer.ggml.unknown_token_id");
  small.set("tokenizer.ggml.unknown_token_id", kv.u32(2));
  assert.deepEqual(createTokenizer(small).encode("zz"), [0, 2, 1]);
  bad(miniBert([], [["tokenizer.ggml.normalizer.lowercase", kv.u32(1)]]), "GGUF_KEY_TYPE", "tokenizer.ggml.normalizer.lowercase");
});

test("raw bytes: invalid UTF-8 is U+FFFD (dropped), a code point beyond U+10FFFF is BAD_INPUT (llama.cpp throws)", () => {
  assert.deepEqual(
    tok.encode(Uint8Array.of(0x68, 0x69, 0xff, 0x80, 0x20, 0x68, 0x69), { addSpecial: false }),
    tok.encode("hi hi", { addSpecial: false }),
  );
  assert.deepEqual(tok.encode(Uint8Array.of(0xed, 0xa0, 0x80), { addSpecial: false }), []); // a surrogate is \p{C}: dropped
  assert.throws(
    () => tok.encode(Uint8Array.of(0x61, 0xf7, 0xbf, 0xbf, 0xbf)),
    (e) => isEmbedError(e, "BAD_INPUT") && /U\+10FFFF/.test(e.message),
  );
});
