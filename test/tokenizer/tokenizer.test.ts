/**
 * Tokenizer unit tests. Expected ids come from the worked examples of shared/spec/tokenizer-spm.md
 * §7 (real Gemma 3 vocab, converter-style types; confirmed there against llama.cpp, SentencePiece
 * and HF) or are derived by hand from the algorithm's rules on tiny synthetic vocabularies.
 * Exact equality with llama.cpp on thousands of strings is in parity.test.ts.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PassThrough, Readable } from "node:stream";
import { before, describe, it } from "node:test";
import { checkScoreDerivation, gemma3VocabFixture } from "../../scripts/gen/gemma3-vocab.js";
import { runTokenize } from "../../src/cli/tokenize.js";
import { isEmbedError } from "../../src/errors.js";
import { kv, type GGUFMetadata, type GGUFValue } from "../../src/gguf/keys.js";
import { FileSource } from "../../src/node/fs-source.js";
import { createTokenizer, LlamaTokenType, loadTokenizer, type Tokenizer } from "../../src/tokenizer/index.js";

/** spec §7: [input, ids with parse_special = false, ids with parse_special = true if different]. */
const SPEC_EXAMPLES: [string, number[], number[]?][] = [
  ["Hello world", [9259, 1902]],
  [" Hello world", [26352, 1902]],
  ["Hello  world", [9259, 138, 12392]],
  ["Hello   world", [9259, 139, 12392]],
  ["a\n\nb", [236746, 108, 236763]],
  ["line1\nline2", [1257, 236770, 107, 1257, 236778]],
  ["tab\there", [4823, 255968, 8472]],
  [
    "<start_of_turn>user\nhi<end_of_turn>",
    [236820, 3041, 236779, 1340, 236779, 887, 236813, 2364, 107, 2202, 236820, 643, 236779, 1340, 236779, 887, 236813],
    [105, 2364, 107, 2202, 106],
  ],
  ["<bos>text", [236820, 46757, 236813, 1005], [2, 1005]],
  ["x<unused0>y", [236781, 236820, 63634, 236771, 236813, 236762], [236781, 6, 236762]],
  ["<mask> [multimodal]", [236820, 1080, 236813, 236743, 5], [4, 236743, 5]],
  ["<table><tr><td>1</td></tr></table>", [168, 173, 175, 236770, 183, 181, 176]],
  ["naïve café", [1789, 238527, 560, 33443]],
  ["emoji 🦙🦙 test", [67906, 236743, 478, 397, 404, 391, 478, 397, 404, 391, 1594]],
  ["a\r\nb", [236746, 251, 107, 236763]],
  ["   leading spaces", [139, 26016, 9952]],
  ["trailing spaces   ", [136697, 9952, 139]],
  [" ", [236743]],
  [
    "1234567890 3.14159",
    [
      236770, 236778, 236800, 236812, 236810, 236825, 236832, 236828, 236819, 236771, 236743, 236800, 236761, 236770, 236812, 236770,
      236810, 236819,
    ],
  ],
  ["task: search result | query: What is RAG?", [8071, 236787, 3927, 1354, 1109, 7609, 236787, 2900, 563, 630, 2807, 236881]],
  [
    "title: none | text: The Eiffel Tower is in Paris.",
    [3250, 236787, 7293, 1109, 1816, 236787, 669, 94648, 25822, 563, 528, 9079, 236761],
  ],
];

let gemma: Tokenizer;
let gemmaPath: string;
before(async () => {
  gemmaPath = await gemma3VocabFixture("converter");
  const src = await FileSource.open(gemmaPath);
  try {
    gemma = await loadTokenizer(src);
  } finally {
    await src.close();
  }
});

describe("Gemma 3 vocab: spec §7 worked examples", () => {
  it("parse_special = false and true, without BOS/EOS", () => {
    for (const [text, plain, special = plain] of SPEC_EXAMPLES) {
      assert.deepEqual(gemma.encode(text, { addSpecial: false, parseSpecial: false }), plain, JSON.stringify(text));
      assert.deepEqual(gemma.encode(text, { addSpecial: false, parseSpecial: true }), special, JSON.stringify(text));
    }
  });
  it("the generator's derived scores are safe on the real tokenizer.json (merge order = id order; see gemma3-vocab.ts)", () => {
    checkScoreDerivation();
  });
  it("add_special wraps in BOS (2) and EOS (1); the empty string gives [BOS, EOS]", () => {
    assert.deepEqual(gemma.encode("Hello world"), [2, 9259, 1902, 1]);
    assert.deepEqual(gemma.encode(""), [2, 1]);
    assert.deepEqual(gemma.encode("", { addSpecial: false }), []);
    assert.equal(gemma.bosId, 2);
    assert.equal(gemma.eosId, 1);
  });
  it("partition is longest first: 40 spaces are the 31-space token then the 9-space token (§5)", () => {
    // runs of k spaces are ids 136 + k (k = 2..31), runs of k newlines 106 + k (k = 1..31)
    assert.deepEqual(gemma.encode(" ".repeat(40), { addSpecial: false }), [167, 145]);
    assert.deepEqual(gemma.encode("\n".repeat(33), { addSpecial: false }), [137, 108]);
  });
  it("BPE, not Viterbi: 'embeddings' is one token (§8)", () => {
    const ids = gemma.encode("embeddings", { addSpecial: false });
    assert.equal(ids.length, 1);
    assert.equal(gemma.vocab.tokens[ids[0]], "embeddings");
  });
  it("byte fallback: NUL is <0x00> (id 238 + byte), 🦙 is four byte tokens", () => {
    assert.deepEqual(gemma.encode("a\0b", { addSpecial: false }), [236746, 238, 236763]);
    assert.deepEqual(gemma.encode("🦙", { addSpecial: false }), [238 + 0xf0, 238 + 0x9f, 238 + 0xa6, 238 + 0x99]);
  });
  it("raw bytes: an invalid lead byte swallows what its length nibble says, then falls back to bytes (§6.1)", () => {
    // 0xFF claims a 4-byte sequence; only 2 bytes remain, so "\xFF A" is one symbol, not a token
    assert.deepEqual(gemma.encode(Uint8Array.of(0xff, 0x41), { addSpecial: false }), [238 + 0xff, 238 + 0x41]);
    assert.deepEqual(gemma.encode(Uint8Array.of(0xe2, 0x96), { addSpecial: false }), [238 + 0xe2, 238 + 0x96]);
  });
  it("lone surrogates are encoded as U+FFFD, like TextEncoder", () => {
    assert.deepEqual(gemma.encode("a\uD800b\uDC00"), gemma.encode("a\uFFFDb\uFFFD"));
    assert.equal(gemma.decode(gemma.encode("x\uDBFFy")), "x\uFFFDy");
  });
  it("decode(encode(text)) is the text for every §7 example (§11)", () => {
    for (const [text] of SPEC_EXAMPLES) {
      assert.equal(gemma.decode(gemma.encode(text, { parseSpecial: false })), text);
      assert.equal(gemma.decode(gemma.encode(text), { unparseSpecial: true, removeSpecial: true }), text);
    }
    assert.equal(gemma.decode(gemma.encode("a\0b\u0001")), "a\0b\u0001");
  });
  it("decode options: CONTROL tokens need unparseSpecial; removeSpecial drops leading BOS and trailing EOS", () => {
    const ids = [2, 105, 2364, 106, 1];
    assert.equal(gemma.decode(ids), "user");
    assert.equal(gemma.decode(ids, { unparseSpecial: true }), "<bos><start_of_turn>user<end_of_turn><eos>");
    assert.equal(gemma.decode(ids, { unparseSpecial: true, removeSpecial: true }), "<start_of_turn>user<end_of_turn>");
    assert.throws(
      () => gemma.decode([9259, 262144]),
      (e) => isEmbedError(e, "TOKEN_OUT_OF_RANGE") && e.detail.index === 1,
    );
  });
  it("tokenToPiece: ▁ becomes a space, byte tokens are raw bytes, USER_DEFINED verbatim", () => {
    assert.equal(gemma.tokenToPiece(26352), " Hello");
    assert.equal(gemma.tokenToPiece(138), "  ");
    assert.equal(gemma.tokenToPiece(2), "<bos>");
    assert.equal(gemma.tokenToPiece(2, { special: false }), "");
    assert.deepEqual(gemma.tokenToPieceBytes(238 + 0xf0), Uint8Array.of(0xf0));
  });
  it("1 MB input is not quadratic (100 KB vs 1 MB, mixed text and one huge fragment)", () => {
    const corpus = readFileSync(new URL("../../../test/fixtures/tokenizer-corpus.jsonl", import.meta.url), "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { text: string }).text)
      .join("\n");
    const mixed = corpus.slice(0, 1 << 20);
    const oneFragment = mixed.replace(/\s+/g, " "); // single spaces only: no partition cuts at all
    for (const big of [mixed, oneFragment]) {
      const time = (s: string) => {
        const t0 = performance.now();
        gemma.encode(s);
        return performance.now() - t0;
      };
      time(big.slice(0, 1 << 17)); // warm up
      const small = Math.min(time(big.slice(0, big.length / 10)), time(big.slice(0, big.length / 10)));
      const large = time(big);
      assert.ok(large / small < 30, `1 MB took ${large.toFixed(0)} ms, 100 KB ${small.toFixed(0)} ms`);
      assert.ok(large < 10_000, `1 MB took ${large.toFixed(0)} ms`);
    }
  });
});

/** A tiny SPM vocab: <unk>, <s>, </s>, the 256 byte tokens (ids 3..258), then `extra` from id 259. */
function miniVocab(extra: [string, LlamaTokenType, number][], more: [string, GGUFValue][] = []): GGUFMetadata {
  const tokens = [
    "<unk>",
    "<s>",
    "</s>",
    ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`),
    ...extra.map((e) => e[0]),
  ];
  const types = [
    LlamaTokenType.UNKNOWN,
    LlamaTokenType.CONTROL,
    LlamaTokenType.CONTROL,
    ...new Array(256).fill(LlamaTokenType.BYTE),
    ...extra.map((e) => e[1]),
  ];
  const scores = [0, 0, 0, ...new Array(256).fill(0), ...extra.map((e) => e[2])];
  return new Map<string, GGUFValue>([
    ["tokenizer.ggml.model", kv.str("llama")],
    ["tokenizer.ggml.tokens", kv.strs(tokens)],
    ["tokenizer.ggml.scores", kv.f32s(Float32Array.from(scores))],
    ["tokenizer.ggml.token_type", kv.i32s(Int32Array.from(types))],
    ...more,
  ]);
}
const byte = (c: string) => 3 + c.charCodeAt(0);
const NORMAL = LlamaTokenType.NORMAL;
const noPrefix: [string, GGUFValue][] = [["tokenizer.ggml.add_space_prefix", kv.bool(false)]];

describe("SPM algorithm on synthetic vocabs (rules of spec §4-§6)", () => {
  it("the highest-score pair merges first", () => {
    // "abc": ab (-1) beats bc (-2), then ab+c -> abc
    const t = createTokenizer(
      miniVocab(
        [
          ["a", NORMAL, -9],
          ["b", NORMAL, -9],
          ["c", NORMAL, -9],
          ["ab", NORMAL, -1],
          ["bc", NORMAL, -2],
          ["abc", NORMAL, -3],
        ],
        noPrefix,
      ),
    );
    assert.deepEqual(t.encode("abc", { addSpecial: false }), [264]);
    // without "abc": [ab, c]; with bc scored higher: [a, bc]
    const u = createTokenizer(
      miniVocab(
        [
          ["a", NORMAL, -9],
          ["b", NORMAL, -9],
          ["c", NORMAL, -9],
          ["ab", NORMAL, -2],
          ["bc", NORMAL, -1],
        ],
        noPrefix,
      ),
    );
    assert.deepEqual(u.encode("abc", { addSpecial: false }), [259, 263]);
  });
  it("equal scores: the leftmost pair merges first", () => {
    const t = createTokenizer(
      miniVocab(
        [
          ["a", NORMAL, -9],
          ["aa", NORMAL, -1],
        ],
        noPrefix,
      ),
    );
    assert.deepEqual(t.encode("aaa", { addSpecial: false }), [260, 259]);
  });
  it("partition: longest first, USER_DEFINED always, CONTROL/UNKNOWN only with parse_special", () => {
    const t = createTokenizer(
      miniVocab(
        [
          ["ab", LlamaTokenType.USER_DEFINED, 0],
          ["abc", LlamaTokenType.USER_DEFINED, 0],
          ["<c>", LlamaTokenType.CONTROL, 0],
        ],
        noPrefix,
      ),
    );
    assert.deepEqual(t.encode("xabcab", { addSpecial: false }), [byte("x"), 260, 259]);
    assert.deepEqual(t.encode("<c><unk>", { addSpecial: false }), [261, 0]);
    assert.deepEqual(t.encode("<c>", { addSpecial: false, parseSpecial: false }), [byte("<"), byte("c"), byte(">")]);
  });
  it("SPM defaults: BOS 1, EOS 2, add_bos on, add_eos off, add_space_prefix on", () => {
    const t = createTokenizer(miniVocab([]));
    assert.deepEqual(t.encode("a"), [1, 3 + 0xe2, 3 + 0x96, 3 + 0x81, byte("a")]); // " a" -> "▁a"
    const u = createTokenizer(miniVocab([], [...noPrefix, ["tokenizer.ggml.add_eos_token", kv.bool(true)]]));
    assert.deepEqual(u.encode("a"), [1, byte("a"), 2]);
  });
  it("a bad special id keeps the default, with a warning", () => {
    const t = createTokenizer(miniVocab([], [["tokenizer.ggml.bos_token_id", kv.u32(999_999)]]));
    assert.equal(t.bosId, 1);
    assert.match(t.vocab.warnings.join("\n"), /bad special token: 'tokenizer.ggml.bos_token_id' = 999999/);
  });
});

describe("vocab validation", () => {
  const bad = (meta: GGUFMetadata, key: string, index?: number) =>
    assert.throws(
      () => createTokenizer(meta),
      (e) => isEmbedError(e, "BAD_VOCAB") && e.message.includes(key) && (index === undefined || e.detail.index === index),
    );
  it("missing or empty tokens", () => {
    const m = miniVocab([]);
    m.delete("tokenizer.ggml.tokens");
    bad(m, "tokenizer.ggml.tokens");
    bad(
      new Map([
        ["tokenizer.ggml.model", kv.str("llama")],
        ["tokenizer.ggml.tokens", kv.strs([])],
      ]),
      "tokenizer.ggml.tokens",
    );
  });
  it("scores / token_type of the wrong length or type", () => {
    bad(miniVocab([], [["tokenizer.ggml.scores", kv.f32s(new Float32Array(5))]]), "tokenizer.ggml.scores", 5);
    bad(miniVocab([], [["tokenizer.ggml.token_type", kv.i32s(new Int32Array(300))]]), "tokenizer.ggml.token_type", 259);
    bad(miniVocab([], [["tokenizer.ggml.scores", kv.i32s(new Int32Array(259))]]), "tokenizer.ggml.scores");
  });
  it("duplicate token texts", () =>
    bad(
      miniVocab([
        ["a", NORMAL, 0],
        ["a", NORMAL, 0],
      ]),
      "duplicate",
      260,
    ));
  it("BOS/EOS ids out of range when they would be emitted", () => {
    bad(
      new Map([
        ["tokenizer.ggml.model", kv.str("llama")],
        ["tokenizer.ggml.tokens", kv.strs(["a"])],
      ]),
      "tokenizer.ggml.bos_token_id",
      1,
    );
    const two = new Map([
      ["tokenizer.ggml.model", kv.str("llama")],
      ["tokenizer.ggml.tokens", kv.strs(["x", "y"])],
      ["tokenizer.ggml.add_eos_token", kv.bool(true)],
    ]);
    bad(two, "tokenizer.ggml.eos_token_id", 2); // SPM default EOS is 2
  });
  it("an empty token text is renamed [EMPTY_i], as llama.cpp does", () => {
    const t = createTokenizer(miniVocab([["", NORMAL, 0]]));
    assert.equal(t.vocab.tokens[259], "[EMPTY_259]");
  });
  it("other tokenizer models are refused, naming the model", () => {
    assert.throws(
      () => createTokenizer(miniVocab([]).set("tokenizer.ggml.model", kv.str("rwkv"))),
      (e) => isEmbedError(e, "UNSUPPORTED_TOKENIZER") && e.message.includes('"t5"'),
    );
  });
});

describe("gguf-embed tokenize", () => {
  async function run(args: string[], stdin = ""): Promise<{ code: number; out: string; err: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks: [Buffer[], Buffer[]] = [[], []];
    stdout.on("data", (c: Buffer) => chunks[0].push(c));
    stderr.on("data", (c: Buffer) => chunks[1].push(c));
    const code = await runTokenize(args, { stdin: Readable.from([Buffer.from(stdin)]), stdout, stderr });
    return { code, out: Buffer.concat(chunks[0]).toString(), err: Buffer.concat(chunks[1]).toString() };
  }
  it("texts from arguments: one JSON array per text, BOS/EOS and special tokens by default", async () => {
    assert.deepEqual(await run(["--model", gemmaPath, "Hello world", "<bos>text"]), {
      code: 0,
      out: "[2,9259,1902,1]\n[2,2,1005,1]\n",
      err: "",
    });
    assert.equal(
      (await run(["--model", gemmaPath, "--no-add-special", "--no-parse-special", "<bos>text"])).out,
      "[236820,46757,236813,1005]\n",
    );
  });
  it("stdin lines, --jsonl, --pieces", async () => {
    assert.equal((await run(["-m", gemmaPath, "--no-add-special"], "Hello world\r\n Hello world\n")).out, "[9259,1902]\n[26352,1902]\n");
    assert.equal(
      (await run(["-m", gemmaPath, "--jsonl", "--no-add-special"], '"a\\n\\nb"\n\n"tab\\there"\n')).out,
      "[236746,108,236763]\n[4823,255968,8472]\n",
    );
    assert.equal(
      (await run(["-m", gemmaPath, "--pieces", "Hello 🦙"])).out,
      '[[2,"<bos>"],[9259,"Hello"],[236743," "],[478,"<0xF0>"],[397,"<0x9F>"],[404,"<0xA6>"],[391,"<0x99>"],[1,"<eos>"]]\n',
    );
  });
  it("bad usage exits with 2 and a message on stderr", async () => {
    for (const args of [["Hello"], ["--model", gemmaPath, "--bogus", "x"], ["--model", gemmaPath, "--jsonl", "x"]]) {
      const r = await run(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.err, /usage: gguf-embed tokenize/);
      assert.equal(r.out, "");
    }
  });
});
