/**
 * Shared by test/tokenizer/parity.test.ts and parity/tokenizer-variants.test.ts.
 * Exact token parity with llama.cpp (node-llama-cpp 3.22.1's prebuilt llama.cpp, vocab-only load of
 * the same GGUF) on llama.cpp's own tokenizer test strings, the committed real-text corpus and a list
 * of edge strings. node-llama-cpp tokenizes with add_special = false, so the add_special = true
 * expectation is llama.cpp's ids wrapped as llama.cpp's own BOS/EOS flags say. Detokenization is
 * compared too, and decode(encode(text)) == text wherever llama.cpp round-trips the text, and so are
 * the vocabulary's per-token attribute flags, EOG set and special ids.
 * A reference that fails to load throws, so the test fails; nothing is skipped.
 * (node-llama-cpp logs "missing tensor 'token_embd.weight'" while it sizes the model; the vocab-only
 * load itself succeeds.)
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { LlamaModel, Token } from "node-llama-cpp";
import { gemma3VocabFixture, type Gemma3Conversion, type Gemma3Variant } from "../../scripts/gen/gemma3-vocab.js";
import { FileSource } from "../../src/node/fs-source.js";
import { loadTokenizer, type Tokenizer } from "../../src/tokenizer/index.js";
import { disposeModel, llamaModel } from "./llama.js";

const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url), "utf8");
const LLAMA_TESTS = (JSON.parse(fixture("llama-tokenizer-tests.json")) as { tests: string[] }).tests;
const CORPUS = fixture("tokenizer-corpus.jsonl")
  .trim()
  .split("\n")
  .map((l) => (JSON.parse(l) as { text: string }).text);

/** Synthetic edge cases; their expected ids come from llama.cpp like everything else here. */
const EDGE = [
  "\0",
  "a\0b",
  "\0\0\0",
  "\x01\x02\x03\x1b[0m\x7f",
  "\t\v\f\r\n\x85",
  "\uD800",
  "a\uDC00b",
  "\uDC00\uD800",
  "x\uD83E",
  "\uFEFF",
  "\uFEFFhello",
  "a\uFEFF//b",
  "▁",
  "▁▁ ▁",
  "a ▁b",
  "  ▁  ",
  "\u00A0\u2009\u3000x",
  "e\u0301\u0327",
  "\u200F\u202Eabc",
  "<0x41>",
  "<0x4>",
  "<0xZZ>",
  "<<bos>>",
  "<bos><eos><pad><unk><mask>",
  "<start_of_turn<end_of_turn>>",
  "<unused6241><unused6242>",
  "<image_soft_token>",
  "[multimodal][multimodal]",
  "<s></s><s>x</s>",
  "</s>",
  " </s> ",
  "<table>\n  <tr>  <td>x</td>",
  "<start_of_image> <end_of_image>",
  " ".repeat(40),
  " ".repeat(31) + "x" + " ".repeat(32),
  "\n".repeat(100),
  "\t".repeat(33),
  "\r\n".repeat(20),
  " \t \n \r ",
  "a".repeat(5000),
  "ab".repeat(3000),
  "🦙".repeat(300),
  "👩‍👩‍👧‍👦🏳️‍🌈🇯🇵",
  "\uFFFF\u{10FFFF}\uE000",
  "Hello\u2028world\u2029!",
];

export const STRINGS = [...LLAMA_TESTS, ...EDGE, ...CORPUS];

/** node-llama-cpp's TokenAttributes getters, in llama_token_attr bit order (UNKNOWN = 1 << 0, ...). */
const ATTR_BITS = [
  "unknown",
  "unused",
  "normal",
  "control",
  "userDefined",
  "byte",
  "normalized",
  "lstrip",
  "rstrip",
  "singleWord",
] as const;

/** A list of mismatches: the first five in full (text, llama.cpp's value, ours), the rest by name. */
export function mismatchLog(): { bad: string[]; fail(what: string, text: string, want: unknown, got: unknown): void } {
  const bad: string[] = [];
  const show = (x: unknown) => JSON.stringify(x).slice(0, 300);
  return {
    bad,
    fail(what, text, want, got) {
      if (bad.length < 5) bad.push(`${what} ${JSON.stringify(text.slice(0, 100))}\n  llama.cpp: ${show(want)}\n  ours:      ${show(got)}`);
      else bad.push(what);
    },
  };
}

/** llama.cpp's attribute flags of token `id`, as our LlamaTokenAttr bits. */
export function llamaTokenAttrs(ref: LlamaModel, id: number): number {
  const a = ref.getTokenAttributes(id as Token);
  return ATTR_BITS.reduce((f, k, bit) => (a[k] ? f | (1 << bit) : f), 0);
}

/** How many tokens have other attribute flags or another EOG status in llama.cpp than in ours. */
export function vocabStateMismatches(ours: Tokenizer, ref: LlamaModel): number {
  let n = 0;
  for (let id = 0; id < ours.nVocab; id++) {
    if (llamaTokenAttrs(ref, id) !== ours.vocab.attrs[id]) n++;
    if (ref.isEogToken(id as Token) !== ours.vocab.eogIds.has(id)) n++;
  }
  return n;
}

export async function checkParity(
  t: { diagnostic(m: string): void },
  conversion: Gemma3Conversion,
  variant: Gemma3Variant,
  withSpecialAndDetok: boolean,
): Promise<void> {
  const path = await gemma3VocabFixture(conversion, variant);
  const ref = await llamaModel(path, true);
  const source = await FileSource.open(path);
  const ours = await loadTokenizer(source);
  await source.close();
  try {
    // Vocabulary state: every token's attribute flags, the EOG set and the special ids.
    let attrMismatches = 0;
    for (let id = 0; id < ours.nVocab; id++) {
      const flags = llamaTokenAttrs(ref, id);
      if (flags !== ours.vocab.attrs[id] && attrMismatches++ < 3)
        t.diagnostic(`token ${id} ${JSON.stringify(ours.vocab.tokens[id])}: llama.cpp attrs ${flags}, ours ${ours.vocab.attrs[id]}`);
      if (ref.isEogToken(id as Token) !== ours.vocab.eogIds.has(id)) attrMismatches++;
    }
    assert.equal(attrMismatches, 0, "token attributes / EOG flags differ from llama.cpp's");
    assert.deepEqual([ours.special.bos, ours.special.eos], [ref.tokens.bos, ref.tokens.eos]);
    // EOT is found by text. The phi3 variant has two EOT texts (<end_of_turn>, <|endoftext|>), and
    // llama.cpp takes whichever its unordered_map yields first; we take the lowest id. Both are EOG.
    if (variant === "phi3") assert.ok(ours.vocab.eogIds.has(ref.tokens.eot!) && ours.vocab.eogIds.has(ours.special.eot));
    else assert.equal(ours.special.eot, ref.tokens.eot);

    const bos = ref.tokens.shouldPrependBosToken ? [ref.tokens.bos!] : [];
    const eos = ref.tokens.shouldAppendEosToken ? [ref.tokens.eos!] : [];
    const failures: string[] = [];
    const fail = (what: string, text: string, want: unknown, got: unknown) => {
      if (failures.length < 5)
        failures.push(
          `${what} ${JSON.stringify(text.slice(0, 120))}\n  llama.cpp: ${JSON.stringify(want).slice(0, 400)}\n  ours:      ${JSON.stringify(got).slice(0, 400)}`,
        );
      else failures.push(what);
    };
    let compared = 0;
    let roundTrips = 0;
    for (const parseSpecial of [true, false]) {
      for (const text of STRINGS) {
        const want = Array.from(ref.tokenize(text, parseSpecial));
        const got = ours.encode(text, { addSpecial: false, parseSpecial });
        compared++;
        if (got.join() !== want.join()) fail(`encode(parseSpecial=${parseSpecial})`, text, want, got);
        if (ref.detokenize(want, parseSpecial) === text) {
          roundTrips++;
          const back = ours.decode(got, { unparseSpecial: parseSpecial });
          if (back !== text) fail("round trip", text, text, back);
        }
        if (!withSpecialAndDetok) continue;
        const wrapped = [...bos, ...want, ...eos];
        const gotWrapped = ours.encode(text, { addSpecial: true, parseSpecial });
        compared++;
        if (gotWrapped.join() !== wrapped.join()) fail(`encode(addSpecial, parseSpecial=${parseSpecial})`, text, wrapped, gotWrapped);
        for (const special of [false, true]) {
          const d = ref.detokenize(wrapped, special);
          const ourD = ours.decode(wrapped, { unparseSpecial: special });
          if (ourD !== d) fail(`decode(unparseSpecial=${special})`, text, d, ourD);
        }
      }
    }
    t.diagnostic(
      `${conversion}/${variant}: ${compared} encodings of ${STRINGS.length} strings compared (${LLAMA_TESTS.length} llama.cpp tests, ${EDGE.length} edge cases, ${CORPUS.length} corpus texts), ${roundTrips} round trips checked, ${failures.length} mismatches`,
    );
    assert.equal(failures.length, 0, `${failures.length} mismatches with llama.cpp:\n${failures.slice(0, 5).join("\n")}`);
  } finally {
    await disposeModel(path);
  }
}
