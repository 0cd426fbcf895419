/**
 * The linear special-token partition (src/tokenizer/partition.ts) gives exactly llama.cpp's
 * tokenizer_st_partition result, and in linear time:
 *  - synthetic vocabs built for overlaps: candidates that are prefixes, suffixes and infixes of each
 *    other, many equal-length ties (whose order is libstdc++'s std::sort), CONTROL/USER_DEFINED/
 *    UNKNOWN, and the strip variants llama.cpp sets by name (phi-3: RSTRIP on every candidate; jina:
 *    LSTRIP on <mask>): random strings vs the previous implementation (test/tokenizer/
 *    partition-reference.ts, fragment for fragment) and vs llama.cpp (node-llama-cpp, vocab-only
 *    load of the same file, token ids, parse_special on and off);
 *  - the real Gemma 3 vocab (6,414 CONTROL/USER_DEFINED texts) and its phi3/jina strip variants:
 *    all candidate texts concatenated in cache order and shuffled, glued with whitespace, with
 *    overlapping fragments of each other, and random mixes; vs the reference and vs llama.cpp;
 *  - tokenizing 1 MB of back-to-back special texts costs within 3x of 1 MB of plain text, and 1 MB
 *    within 8x of 256 KB, not the 16x of a quadratic cost (the previous implementation took 96 s on such 1 MB).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, test } from "node:test";
import { gemma3VocabFixture, type Gemma3Variant } from "../../scripts/gen/gemma3-vocab.js";
import { kv, type GGUFValue } from "../../src/gguf/keys.js";
import { FileSource } from "../../src/node/fs-source.js";
import { toByteString } from "../../src/tokenizer/bytes.js";
import { loadTokenizer, LlamaTokenType, type Tokenizer } from "../../src/tokenizer/index.js";
import { partition } from "../../src/tokenizer/partition.js";
import { cpuMs } from "../helpers/cpu-time.js";
import { disposeModel, llamaModel } from "../helpers/llama.js";
import { spmVocabMetadata, vocabFixture } from "../helpers/synthetic-vocab.js";
import { partitionReference } from "./partition-reference.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}
const pick = <T>(rnd: () => number, xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
function shuffle<T>(rnd: () => number, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

async function load(path: string): Promise<Tokenizer> {
  const src = await FileSource.open(path);
  try {
    return await loadTokenizer(src);
  } finally {
    await src.close();
  }
}

const opened: string[] = [];
after(async () => {
  for (const p of opened) await disposeModel(p);
});

/** Ours vs the reference (fragments) and vs llama.cpp (ids), both parse_special modes; returns mismatch descriptions. */
async function compare(path: string, texts: readonly string[], withLlama: boolean): Promise<{ bad: string[]; compared: number }> {
  const ours = await load(path);
  const ref = withLlama ? await llamaModel(path, true) : undefined;
  if (ref) opened.push(path);
  const bad: string[] = [];
  let compared = 0;
  for (const parseSpecial of [true, false]) {
    for (const text of texts) {
      const s = toByteString(text);
      const got = partition(ours.vocab, s, parseSpecial);
      const want = partitionReference(ours.vocab, s, parseSpecial);
      compared++;
      const shown = JSON.stringify(text.slice(0, 80));
      if (JSON.stringify(got) !== JSON.stringify(want) && bad.push(`partition(parseSpecial=${parseSpecial}) ${shown}`) > 5) break;
      if (!ref) continue;
      const ids = ours.encode(text, { addSpecial: false, parseSpecial });
      const refIds = Array.from(ref.tokenize(text, parseSpecial)) as number[];
      const diff = `ids(parseSpecial=${parseSpecial}) ${shown}\n  llama.cpp ${refIds.slice(0, 30)}\n  ours      ${ids.slice(0, 30)}`;
      if (ids.join() !== refIds.join() && bad.push(diff) > 5) break;
    }
  }
  return { bad, compared };
}

test("synthetic overlapping candidates, equal-length ties, LSTRIP/RSTRIP: ours = previous implementation = llama.cpp", async (t) => {
  const U = LlamaTokenType.USER_DEFINED;
  const C = LlamaTokenType.CONTROL;
  const extra: [string, LlamaTokenType][] = [
    ["ab", U],
    ["ba", U],
    ["abc", U],
    ["bca", U],
    ["cab", U],
    ["  ", U],
    ["\n\n", U],
    [" \n", U],
    ["xy", U],
    ["yz", U],
    ["zx", U],
    ["xyz", U],
    ["<x>", C],
    ["<x", C],
    ["x>", C],
    ["<<", C],
    [">>", C],
    ["b<x>", C],
    ["<mask>", U],
    ["<|endoftext|>", C],
    ["a", U],
    ["\n", U],
  ];
  const pieces = [
    "a",
    "b",
    "c",
    "x",
    "y",
    "z",
    "<",
    ">",
    " ",
    "\n",
    "\t",
    "<mask>",
    "<|endoftext|>",
    "<s>",
    "</s>",
    "<unk>",
    "ab",
    "<x>",
    "  ",
  ];
  const rnd = rng(7);
  const texts: string[] = [];
  for (let i = 0; i < 1500; i++) {
    let s = "";
    for (let k = Math.floor(rnd() * 30); k > 0; k--) s += pick(rnd, pieces);
    texts.push(s);
  }
  const variants: [string, [string, GGUFValue][]][] = [
    ["plain", []],
    ["phi3", [["general.name", kv.str("phi-3-synthetic")]]],
    ["jina", [["tokenizer.ggml.pre", kv.str("jina-v2-de")]]],
  ];
  for (const [variant, more] of variants) {
    const path = await vocabFixture(`partition-${variant}`, spmVocabMetadata(extra, more));
    const { bad, compared } = await compare(path, texts, true);
    t.diagnostic(`${variant}: ${compared} strings x (reference, llama.cpp), ${bad.length} mismatches`);
    assert.deepEqual(bad, [], variant);
  }
});

/** Adversarial texts over a vocab's special-token candidates. */
function adversarial(tok: Tokenizer, seed: number): string[] {
  const rnd = rng(seed);
  const cands = Array.from(tok.vocab.specialCandidates, (id) => tok.vocab.tokens[id]);
  const ws = [" ", "  ", "\n", "\n\n", "\t", " \n ", "\r\n"];
  const out = [
    cands.join(""),
    shuffle(rnd, cands.slice()).join(""),
    shuffle(rnd, cands.slice())
      .map((c) => c + pick(rnd, ws))
      .join(""),
  ];
  for (let i = 0; i < 300; i++) {
    let s = "";
    for (let k = 1 + Math.floor(rnd() * 20); k > 0; k--) {
      const a = pick(rnd, cands);
      const b = pick(rnd, cands);
      const r = rnd();
      if (r < 0.3) s += a;
      else if (r < 0.45)
        s += a.slice(0, 1 + Math.floor(rnd() * a.length)) + b; // a cut short, then b: overlapping candidates
      else if (r < 0.6) s += a + b.slice(Math.floor(rnd() * b.length));
      else if (r < 0.7)
        s += a.slice(0, -1) + a; // "<unused1<unused1>"
      else if (r < 0.8) s += pick(rnd, ws).repeat(1 + Math.floor(rnd() * 40));
      else if (r < 0.9) s += `<${a}>`;
      else s += pick(rnd, ["x", "hello", "▁", "<", ">", "</", "é", "🦙"]);
    }
    out.push(s);
  }
  return out;
}

test("Gemma 3 vocab and its strip variants: adversarial special-token text, ours = previous implementation = llama.cpp", async (t) => {
  for (const variant of ["plain", "phi3", "jina"] as Gemma3Variant[]) {
    const path = await gemma3VocabFixture("converter", variant);
    const tok = await load(path);
    const texts = adversarial(tok, variant.length);
    const { bad, compared } = await compare(path, texts, variant !== "jina"); // jina = plain for llama.cpp except <mask>'s LSTRIP: reference only
    const longest = Math.max(...texts.map((s) => s.length));
    t.diagnostic(`${variant}: ${compared} strings (the longest ${longest} chars), ${bad.length} mismatches`);
    assert.deepEqual(bad, [], variant);
    await disposeModel(path);
  }
});

test("1 MB of back-to-back special texts tokenizes within 3x of 1 MB of plain text, and linearly", async (t) => {
  {
    const tok = await load(await gemma3VocabFixture("converter"));
    const rnd = rng(3);
    const cands = Array.from(tok.vocab.specialCandidates, (id) => tok.vocab.tokens[id]);
    const fill = (n: number, make: () => string) => {
      const parts: string[] = [];
      for (let len = 0; len < n; ) {
        const p = make();
        parts.push(p);
        len += p.length;
      }
      return parts.join("").slice(0, n);
    };
    const MB = 1 << 20;
    let order = shuffle(rnd, cands.slice());
    let k = 0;
    const special = fill(MB, () => (k < order.length ? order[k++] : ((order = shuffle(rnd, order)), (k = 1), order[0])));
    const corpus = readFileSync(new URL("../../../test/fixtures/tokenizer-corpus.jsonl", import.meta.url), "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { text: string }).text)
      .join("\n");
    const plain = corpus.slice(0, MB);
    const cpu = (text: string) => cpuMs(() => tok.encode(text), 2)[1];
    cpu(special.slice(0, 1 << 16)); // warm up
    const tPlain = cpu(plain);
    const tSpecial = cpu(special);
    const tSpecial256 = cpu(special.slice(0, MB / 4));
    const c0 = process.cpuUsage();
    partitionReference(tok.vocab, toByteString(special.slice(0, 1 << 15)), true);
    const c = process.cpuUsage(c0);
    t.diagnostic(
      `CPU: 1 MB plain ${tPlain.toFixed(0)} ms; back-to-back special texts: 1 MB ${tSpecial.toFixed(0)} ms, 256 KB ` +
        `${tSpecial256.toFixed(0)} ms; previous implementation, partition of 32 KB: ${((c.user + c.system) / 1000).toFixed(0)} ms`,
    );
    assert.ok(tSpecial <= 3 * tPlain, `special ${tSpecial.toFixed(0)} ms vs plain ${tPlain.toFixed(0)} ms`);
    // linear: 4x the input, at most 8x the time (a quadratic cost would be 16x; caches make small inputs cheaper)
    assert.ok(tSpecial <= 8 * tSpecial256 + 20, `1 MB ${tSpecial.toFixed(0)} ms vs 256 KB ${tSpecial256.toFixed(0)} ms`);
    // the text really is cut into special tokens (not byte soup) and decodes back
    const head = special.slice(0, 1 << 16);
    const ids = tok.encode(head, { addSpecial: false });
    assert.ok(ids.length * 4 < head.length, `${ids.length} ids for ${head.length} chars`);
    assert.equal(tok.decode(ids, { unparseSpecial: true }), head);
  }
});
