/**
 * SpmSession splits a raw fragment before each "▁" that no token can span (spm.ts, "Words"); the
 * plain path (`whole`) runs the merge loop over the whole fragment as llama.cpp does. They must give
 * the same ids:
 *  - on the Gemma 3 vocab (one token, ">▁</", spans a word start) over the corpus, llama.cpp's test
 *    strings, "> </" patterns and raw bytes whose invalid lead bytes swallow a "▁";
 *  - on a synthetic vocab full of tokens with interior "▁" ("a▁", "a▁b", "▁▁x", ...), over random
 *    strings, against llama.cpp too.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, test } from "node:test";
import { gemma3VocabFixture } from "../../scripts/gen/gemma3-vocab.js";
import { FileSource } from "../../src/node/fs-source.js";
import { bytesToByteString, toByteString } from "../../src/tokenizer/bytes.js";
import { loadTokenizer, LlamaTokenType, type Tokenizer } from "../../src/tokenizer/index.js";
import { partition } from "../../src/tokenizer/partition.js";
import { SpmSession } from "../../src/tokenizer/spm.js";
import { disposeModel, llamaModel } from "../helpers/llama.js";
import { spmVocabMetadata, vocabFixture } from "../helpers/synthetic-vocab.js";

async function load(path: string): Promise<Tokenizer> {
  const src = await FileSource.open(path);
  try {
    return await loadTokenizer(src);
  } finally {
    await src.close();
  }
}

/** Ids of every raw fragment of `s`, split into words and whole; returns the first difference. */
function splitVsWhole(tok: Tokenizer, session: SpmSession, s: string): string | undefined {
  for (const f of partition(tok.vocab, s, true)) {
    if (f.id >= 0) continue;
    const words: number[] = [];
    const whole: number[] = [];
    session.tokenize(s, f.start, f.end, tok.vocab.addSpacePrefix, words);
    session.tokenize(s, f.start, f.end, tok.vocab.addSpacePrefix, whole, Infinity, true);
    if (words.join() !== whole.join()) return `${JSON.stringify(s.slice(f.start, f.end).slice(0, 80))}: whole ${whole} words ${words}`;
  }
  return undefined;
}

const opened: string[] = [];
after(async () => {
  for (const p of opened) await disposeModel(p);
});

test("Gemma 3 vocab: word-split ids equal whole-fragment ids (corpus, '> </' patterns, invalid UTF-8)", async (t) => {
  const tok = await load(await gemma3VocabFixture("converter"));
  const session = new SpmSession(tok.vocab);
  const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url), "utf8");
  const texts = [
    ...(JSON.parse(fixture("llama-tokenizer-tests.json")) as { tests: string[] }).tests,
    ...fixture("tokenizer-corpus.jsonl")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { text: string }).text),
    "<a> </a>",
    "x> </y",
    "> </",
    ">> <//",
    "a > </b> </c",
    " > </ ".repeat(50),
  ].map(toByteString);
  let s = 5;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const bytes = [0x20, 0x61, 0x3e, 0x3c, 0x2f, 0xe2, 0x96, 0x81, 0xf0, 0xe0, 0xc3, 0x80, 0xff];
  for (let i = 0; i < 2000; i++)
    texts.push(bytesToByteString(Uint8Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => bytes[Math.floor(rnd() * bytes.length)])));
  const bad = texts.map((x) => splitVsWhole(tok, session, x)).filter((x) => x !== undefined);
  t.diagnostic(`${texts.length} texts, ${bad.length} differences`);
  assert.deepEqual(bad.slice(0, 5), []);
});

test("synthetic vocab with many interior-▁ tokens: word-split = whole = llama.cpp", async (t) => {
  const N = LlamaTokenType.NORMAL;
  const pieces = ["a", "b", "x", "▁", "a▁", "▁b", "a▁b", "▁▁", "▁▁x", "x▁a", "ab", "b▁", "▁a▁b", "xa", "▁x"];
  const meta = spmVocabMetadata(pieces.map((p) => [p, N] as [string, LlamaTokenType]));
  // scores: later pieces merge first (score = index), so long interior-▁ tokens compete with short ones
  const scores = meta.find(([k]) => k === "tokenizer.ggml.scores")![1].value as Float32Array;
  pieces.forEach((_, i) => (scores[259 + i] = i));
  const path = await vocabFixture("spm-words", meta);
  const tok = await load(path);
  const session = new SpmSession(tok.vocab);
  const ref = await llamaModel(path, true);
  opened.push(path);
  let s = 9;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const bad: string[] = [];
  for (let i = 0; i < 3000; i++) {
    let text = "";
    for (let k = Math.floor(rnd() * 24); k > 0; k--) text += ["a", "b", "x", " ", "  ", "é"][Math.floor(rnd() * 6)];
    const diff = splitVsWhole(tok, session, toByteString(text));
    if (diff) bad.push(diff);
    const want = Array.from(ref.tokenize(text, true));
    const got = tok.encode(text, { addSpecial: false });
    if (got.join() !== want.join()) bad.push(`${JSON.stringify(text)}: llama.cpp ${want} ours ${got}`);
  }
  t.diagnostic(`3000 strings, ${bad.length} differences`);
  assert.deepEqual(bad.slice(0, 5), []);
});
