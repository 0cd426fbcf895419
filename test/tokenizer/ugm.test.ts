/**
 * The unigram tokenizer on crafted "t5" vocabularies, against llama.cpp (node-llama-cpp, vocab-only
 * load of the same GGUF): the parts the real XLM-R vocab cannot reach (it has no USER_DEFINED token
 * and sets both whitespace flags), and the charsmap's failure modes.
 *  - a vocab with score ties, USER_DEFINED tokens (incl. one whose text has a space), a CONTROL, an
 *    UNUSED and a BYTE token, and a crafted charsmap (test/helpers/xcda.ts: folding, deletion,
 *    expansion, a longer key over a shorter one, replacements with spaces), in five variants:
 *    add_space_prefix x remove_extra_whitespaces, and no charsmap at all. Ids equal to llama.cpp's
 *    for listed and 600 generated strings each, parse_special on and off, and decode equal; the plain
 *    reference path (ugm-reference.ts) gives the same ids;
 *  - bad charsmaps (wrong type, too small, blob past the end, an XCDA index, a replacement offset or
 *    an unterminated replacement out of bounds, a cycle, an expansion bomb, and 3,000 random tables):
 *    always an EmbedError (BAD_VOCAB), never another exception, a hang or an out-of-bounds read.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { Token } from "node-llama-cpp";
import { isEmbedError } from "../../src/errors.js";
import { GGUFValueType, kv, type GGUFValue } from "../../src/gguf/keys.js";
import { FileSource } from "../../src/node/fs-source.js";
import { createTokenizer, loadTokenizer, LlamaTokenType as T } from "../../src/tokenizer/index.js";
import type { UgmTokenizer } from "../../src/tokenizer/ugm.js";
import { llamaModel } from "../helpers/llama.js";
import { spmVocabMetadata, vocabFixture } from "../helpers/synthetic-vocab.js";
import { assemble, buildCharsmap } from "../helpers/xcda.js";
import { ugmReference } from "./ugm-reference.js";

const VOCAB: [string, T, number][] = [
  ["<pad>", T.CONTROL, 0],
  ["</s>", T.CONTROL, 0],
  ["<unk>", T.UNKNOWN, 0],
  ["<s>", T.CONTROL, 0],
  ["▁", T.NORMAL, -2],
  ["a", T.NORMAL, -3],
  ["b", T.NORMAL, -3],
  ["c", T.NORMAL, -4],
  ["ab", T.NORMAL, -4],
  ["▁a", T.NORMAL, -3.5],
  ["▁ab", T.NORMAL, -5],
  ["bc", T.NORMAL, -4.5],
  ["abc", T.NORMAL, -6],
  ["é", T.NORMAL, -5],
  ["▁hello", T.NORMAL, -8],
  ["hello", T.NORMAL, -9],
  ["x", T.NORMAL, -6],
  ["y", T.NORMAL, -6],
  ["Q", T.NORMAL, -5],
  ["QQ", T.NORMAL, -7],
  ["日", T.NORMAL, -6],
  ["本", T.NORMAL, -6],
  ["日本", T.NORMAL, -9],
  ["e", T.NORMAL, -2.5],
  ["f", T.NORMAL, -2.5],
  ["ef", T.NORMAL, -5],
  ["▁▁", T.NORMAL, -1],
  ["fi", T.NORMAL, -3],
  ["z", T.NORMAL, -7],
  ["<ud>", T.USER_DEFINED, 0],
  ["xyz", T.USER_DEFINED, 0],
  ["ﬁx", T.USER_DEFINED, 0],
  ["a b", T.USER_DEFINED, 0],
  ["<ctl>", T.CONTROL, 0],
  ["[UNUSED]", T.UNUSED, -1],
  ["<0x41>", T.BYTE, 0],
];
const RULES: [string, string][] = [
  ["A", "a"],
  ["B", ""],
  ["Q", "QQ"],
  ["\t", " "],
  ["ﬁ", "fi"],
  ["AB", "x y"],
  ["Z", "  z  "],
  ["é", "e"],
  ["\u3000", " "],
  ["日本語", "日本"],
];

function metadata(addSpacePrefix: boolean, removeExtra: boolean, charsmap: Uint8Array | undefined): [string, GGUFValue][] {
  const more: [string, GGUFValue][] = [
    ["general.name", kv.str("synthetic-ugm")],
    ["tokenizer.ggml.model", kv.str("t5")],
    ["tokenizer.ggml.tokens", kv.strs(VOCAB.map((v) => v[0]))],
    ["tokenizer.ggml.token_type", kv.i32s(Int32Array.from(VOCAB.map((v) => v[1])))],
    ["tokenizer.ggml.scores", kv.f32s(Float32Array.from(VOCAB.map((v) => v[2])))],
    ["tokenizer.ggml.bos_token_id", kv.u32(3)],
    ["tokenizer.ggml.add_bos_token", kv.bool(true)],
    ["tokenizer.ggml.add_space_prefix", kv.bool(addSpacePrefix)],
    ["tokenizer.ggml.remove_extra_whitespaces", kv.bool(removeExtra)],
  ];
  if (charsmap) more.push(["tokenizer.ggml.precompiled_charsmap", u8s(charsmap)]);
  return spmVocabMetadata([], more);
}
const u8s = (value: Uint8Array): GGUFValue => ({ type: GGUFValueType.ARRAY, itemType: GGUFValueType.UINT8, value });

const LISTED = [
  "",
  " ",
  "a",
  " a",
  "ab",
  "abc",
  "a bc",
  "ef",
  "eff e f",
  "  ab  ab  ",
  "\tab\t\tc",
  "AB",
  "ABA",
  "A B",
  "BBB",
  "QQ Q",
  "Z",
  "aZb",
  "ﬁ",
  "ﬁx",
  "ﬁxy",
  "ﬁ x",
  "xyz",
  "xy",
  "x yz",
  "<ud>",
  "<ud",
  "a<ud>b",
  "a b",
  "a  b",
  "a bb",
  "<ctl>",
  "<ctl> a",
  "[UNUSED]",
  "[UNUSED",
  "é",
  "e\u0301",
  "日本語",
  "日本",
  "日本人",
  "\u3000日\u3000",
  "hello",
  " hello",
  "hello  hello",
  "🦙",
  "a🦙b",
  "\0",
  "a\0b",
  "\uD800",
  "<0x41>",
  "<s>",
  "</s>",
  "<unk>",
  "xyz<ud>ﬁx",
  "▁",
  "▁▁a",
  "a▁b",
  "ABAB  QZ\t\té",
];
const ALPHABET = [
  "a",
  "b",
  "c",
  "e",
  "f",
  "ab",
  " ",
  "  ",
  "\t",
  "A",
  "B",
  "Q",
  "Z",
  "ﬁ",
  "ﬁx",
  "xyz",
  "xy",
  "<ud>",
  "<ctl>",
  "日",
  "本",
  "語",
  "é",
  "[UNUSED]",
  "\0",
  "🦙",
  "\uD800",
  "a b",
  "▁",
  "hello",
  "\u3000",
  "<s>",
  "x",
];
const GENERATED = fc.sample(
  fc.array(fc.constantFrom(...ALPHABET), { maxLength: 12 }).map((a) => a.join("")),
  { seed: 13, numRuns: 600 },
);

const VARIANTS: [string, boolean, boolean, boolean][] = [
  ["add_space_prefix, remove_extra_whitespaces", true, true, true],
  ["add_space_prefix only", true, false, true],
  ["remove_extra_whitespaces only", false, true, true],
  ["neither", false, false, true],
  ["no charsmap", true, true, false],
];

for (const [name, prefix, merge, withCharsmap] of VARIANTS) {
  test(`crafted vocab (${name}): ids and decode equal llama.cpp's`, async (t) => {
    const path = await vocabFixture("ugm", metadata(prefix, merge, withCharsmap ? buildCharsmap(RULES) : undefined));
    const ref = await llamaModel(path, true);
    const src = await FileSource.open(path);
    const ours = await loadTokenizer(src);
    await src.close();
    const bad: string[] = [];
    let unk = 0;
    for (const parseSpecial of [false, true]) {
      for (const text of [...LISTED, ...GENERATED]) {
        const want = Array.from(ref.tokenize(text, parseSpecial)) as number[];
        const got = ours.encode(text, { addSpecial: false, parseSpecial });
        if (got.includes(2)) unk++;
        if (got.join() !== want.join()) bad.push(`${JSON.stringify(text)} (parse_special ${parseSpecial}): llama.cpp ${want} ours ${got}`);
        const plain = ugmReference(ours.vocab, (ours as UgmTokenizer).charsmap, text, false, parseSpecial);
        if (plain.join() !== got.join()) bad.push(`reference path ${JSON.stringify(text)} (parse_special ${parseSpecial}): ${plain}`);
        const wrapped = [3, ...want, 1];
        assert.deepEqual(ours.encode(text, { parseSpecial }), wrapped);
        for (const special of [false, true]) {
          const d = ref.detokenize(wrapped as Token[], special);
          if (ours.decode(wrapped, { unparseSpecial: special }) !== d) bad.push(`decode ${JSON.stringify(text)} special ${special}`);
        }
      }
    }
    t.diagnostic(`${2 * (LISTED.length + GENERATED.length)} encodings, ${unk} with <unk>, ${bad.length} mismatches`);
    assert.ok(unk > 50);
    assert.deepEqual(bad.slice(0, 8), []);
  });
}

const tokenizerWith = (charsmap: GGUFValue) => {
  const meta = new Map(metadata(true, true, undefined));
  meta.set("tokenizer.ggml.precompiled_charsmap", charsmap);
  return createTokenizer(meta);
};
const badVocab = (e: unknown) => isEmbedError(e, "BAD_VOCAB") && e.message.includes("precompiled_charsmap");

test("bad charsmaps at load: wrong type, too small, blob size past the end", () => {
  assert.throws(() => tokenizerWith(kv.str("abc")), badVocab);
  assert.throws(() => tokenizerWith(kv.i32s(new Int32Array(8))), badVocab);
  assert.throws(() => tokenizerWith(u8s(new Uint8Array(3))), badVocab);
  assert.throws(() => tokenizerWith(u8s(assemble(new Uint32Array(2), new Uint8Array(0)))), badVocab); // nothing after the blob
  assert.throws(() => tokenizerWith(u8s(assemble(new Uint32Array(2), new Uint8Array(4), 12))), badVocab); // blob size says 12 of 8
  const i8 = new Int8Array(buildCharsmap(RULES).buffer);
  assert.deepEqual(
    tokenizerWith({ type: GGUFValueType.ARRAY, itemType: GGUFValueType.INT8, value: i8 }).encode("AB"),
    tokenizerWith(u8s(buildCharsmap(RULES))).encode("AB"),
    "INT8 and UINT8 arrays are the same bytes",
  );
});

test("bad charsmaps at encode: XCDA index, replacement offset, unterminated replacement, cycle, expansion bomb", () => {
  const good = buildCharsmap([["c", "b"]]);
  const entries = () => new Uint32Array(good.buffer.slice(4, 4 + new DataView(good.buffer).getUint32(0, true)));
  const replacements = good.slice(4 + new DataView(good.buffer).getUint32(0, true));
  // the root's BASE points past the array
  const far = entries();
  far[0] = (far.length + 5) << 10;
  assert.throws(() => tokenizerWith(u8s(assemble(far, replacements))).encode("c"), badVocab);
  // the value of "c" points past the replacement strings
  const off = entries();
  const x = 256 + 0x63; // "c": its entry; its value slot is in its own block
  off[(off[x] >>> 10) ^ x] = (0x80000000 | 999) >>> 0;
  assert.throws(() => tokenizerWith(u8s(assemble(off, replacements))).encode("c"), badVocab);
  // the replacement has no NUL
  assert.throws(() => tokenizerWith(u8s(assemble(entries(), Uint8Array.of(0x62, 0x62)))).encode("xc"), badVocab);
  // a cycle: "c" leads back to the root's block, and is not a leaf; 1 MB of "c" must not walk quadratically
  const cyc = entries();
  cyc[x] = 0x63 | ((x ^ 256) << 10);
  const t0 = process.cpuUsage();
  assert.throws(() => tokenizerWith(u8s(assemble(cyc, replacements))).encode("c".repeat(1 << 20)), badVocab);
  const ms = (process.cpuUsage(t0).user + process.cpuUsage(t0).system) / 1000;
  assert.ok(ms < 5000, `${ms} ms`);
  // an expansion bomb: "c" -> 500 bytes; one "c" fits the limit (64 x input + 1024 bytes), 1000 do not
  // ("a" would not do: the USER_DEFINED "a b" makes normalize copy an "a" as is, before the charsmap)
  const bomb = buildCharsmap([["c", "b".repeat(500)]]);
  assert.equal(tokenizerWith(u8s(bomb)).encode("c").length, 1 + 1 + 500 + 1, "<s> ▁ b x 500 </s>");
  assert.throws(() => tokenizerWith(u8s(bomb)).encode("c".repeat(1000)), badVocab);
});

test("3,000 random charsmaps and texts: a result or an EmbedError, never another exception", () => {
  const table = fc.tuple(
    fc.uint8Array({ minLength: 0, maxLength: 64 }),
    fc.array(
      fc.oneof(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0x3ff }),
        fc.integer({ min: 0, max: 40 }).map((b) => (b << 10) | 0x62 | 0x100),
      ),
      { maxLength: 40 },
    ),
    fc.integer({ min: -8, max: 8 }),
  );
  let ok = 0;
  let refused = 0;
  fc.assert(
    fc.property(table, fc.string({ unit: fc.constantFrom("a", "b", "é", " ", "\0", "Q"), maxLength: 20 }), ([repl, ents, skew], text) => {
      const xcda = Uint32Array.from(ents, (e) => e >>> 0);
      const bytes = assemble(xcda, repl, Math.max(0, xcda.length * 4 + skew));
      try {
        const ids = tokenizerWith(u8s(bytes)).encode(text);
        assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < VOCAB.length));
        ok++;
      } catch (e) {
        if (!isEmbedError(e, "BAD_VOCAB")) throw e;
        refused++;
      }
    }),
    { numRuns: 3000, seed: 0x75676d },
  );
  assert.ok(ok > 300 && refused > 300, `${ok} tokenized, ${refused} refused`);
});
