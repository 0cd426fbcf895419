/**
 * TokenIndex against hash flooding. The first TokenIndex hashed with plain FNV-1a (fixed basis) and
 * probed linearly, so a vocabulary whose tokens share the low bits of that hash built in quadratic
 * time: 131,075 such tokens took 12.1 s against 0.84 s for random tokens of the same shape (a 1M-token
 * vocab ~12 min). Crafting them is cheap: FNV-1a's low k bits depend only on the state's low k bits,
 * so two 3-byte blocks that reach the same state mod 2^k from the same state (a birthday search over
 * printable blocks, ~900 tries) can be swapped freely; 18 such block positions give 2^18 54-byte strings
 * whose hashes all agree mod 2^19, the table size for 131,075 tokens.
 * Now the hash is seeded and every build is bounded (MAX_PROBE, then a trie): the crafted set must
 * build within 3x of random tokens of the same shape, and every token must be found.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { kv, type GGUFValue } from "../../src/gguf/keys.js";
import { createTokenizer } from "../../src/tokenizer/index.js";
import { MAX_PROBE, TokenIndex, type RangeHash } from "../../src/tokenizer/token-index.js";
import { cpuMs } from "../helpers/cpu-time.js";

const N_TOKENS = 131_075; // 2^17 + 3: the old code's table is 2^19 slots
const LOW_BITS = 19;

/** The old TokenIndex's hash: FNV-1a over bytes, fixed basis. */
function oldFnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** N_TOKENS printable 54-byte tokens whose old hashes are all equal mod 2^LOW_BITS. */
function craftCollisions(): string[] {
  const mask = (1 << LOW_BITS) - 1;
  const step = (h: number, blk: string) => {
    for (let i = 0; i < blk.length; i++) h = Math.imul(h ^ blk.charCodeAt(i), 0x01000193);
    return h;
  };
  const pairs: [string, string][] = [];
  let h = 0x811c9dc5;
  let s = 1;
  const printable = () => String.fromCharCode(0x21 + (((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % 94));
  while (2 ** pairs.length < N_TOKENS) {
    // birthday search over random 3-byte printable blocks: ~900 tries for a collision mod 2^19
    const seen = new Map<number, string>();
    for (;;) {
      const blk = printable() + printable() + printable();
      const k = step(h, blk) & mask;
      const other = seen.get(k);
      if (other !== undefined && other !== blk) {
        pairs.push([other, blk]);
        h = step(h, blk);
        break;
      }
      seen.set(k, blk);
    }
  }
  const out: string[] = [];
  for (let i = 0; i < N_TOKENS; i++) out.push(pairs.map((p, bit) => p[(i >> bit) & 1]).join(""));
  return out;
}

function randomTokens(): string[] {
  let s = 12345;
  const set = new Set<string>();
  while (set.size < N_TOKENS) {
    let t = "";
    for (let i = 0; i < 54; i++) t += String.fromCharCode(0x21 + (((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % 94));
    set.add(t);
  }
  return [...set];
}

function checkAll(index: TokenIndex, texts: string[]): void {
  const buf = new Uint8Array(128);
  texts.forEach((t, id) => {
    for (let i = 0; i < t.length; i++) buf[i + 1] = t.charCodeAt(i);
    if (index.get(buf, 1, t.length) !== id) assert.fail(`token ${id} not found`);
    buf[t.length] ^= 1; // a near miss
    if (index.get(buf, 1, t.length) === id) assert.fail(`token ${id} found for a different text`);
  });
}

test("a crafted FNV-1a collision set builds within 3x of random tokens, with bounded probes", (t) => {
  const crafted = craftCollisions();
  const random = randomTokens();
  assert.equal(new Set(crafted).size, N_TOKENS);
  // the set is adversarial for the old hash: every token has the same home slot in the old 2^19 table
  const home = new Set(crafted.map((s) => oldFnv1a(s) & ((1 << LOW_BITS) - 1)));
  assert.equal(home.size, 1, "the crafted tokens must all collide under the old hash");

  const tRandom = cpuMs(() => new TokenIndex(random), 3)[1];
  const tCrafted = cpuMs(() => new TokenIndex(crafted), 3)[1];
  const index = new TokenIndex(crafted);
  t.diagnostic(
    `TokenIndex build, ${N_TOKENS} tokens of 54 bytes: random ${tRandom.toFixed(0)} ms, ` +
      `crafted ${tCrafted.toFixed(0)} ms CPU; ` +
      `crafted max probe ${index.maxProbe}`,
  );
  assert.ok(!index.usesTrie && index.maxProbe <= MAX_PROBE);
  assert.ok(tCrafted <= 3 * tRandom + 20, `crafted ${tCrafted.toFixed(0)} ms vs random ${tRandom.toFixed(0)} ms`);
  checkAll(index, crafted);

  // the whole vocabulary load (what a server does with an uploaded file), crafted vs random
  const meta = (tokens: string[]) =>
    new Map<string, GGUFValue>([
      ["tokenizer.ggml.model", kv.str("llama")],
      ["tokenizer.ggml.tokens", kv.strs(["<unk>", "<s>", "</s>", ...tokens])],
    ]);
  const lRandom = cpuMs(() => createTokenizer(meta(random)))[1];
  const lCrafted = cpuMs(() => createTokenizer(meta(crafted)))[1];
  t.diagnostic(`createTokenizer: random ${lRandom.toFixed(0)} ms, crafted ${lCrafted.toFixed(0)} ms CPU`);
  assert.ok(lCrafted <= 3 * lRandom + 50, `crafted ${lCrafted.toFixed(0)} ms vs random ${lRandom.toFixed(0)} ms`);
});

test("when every hash floods, the index falls back to the trie and still answers exactly", () => {
  const texts = randomTokens().slice(0, 5000);
  const constant: RangeHash = () => 7;
  const index = new TokenIndex(texts, [constant, constant]);
  assert.ok(index.usesTrie);
  checkAll(index, texts);
  // a bad first hash is replaced by the next one
  let calls = 0;
  const fnv: RangeHash = (b, s, l) => {
    calls++;
    let h = 0x811c9dc5;
    for (let i = s; i < s + l; i++) h = Math.imul(h ^ b[i], 0x01000193);
    return h >>> 0;
  };
  const second = new TokenIndex(texts, [constant, fnv]);
  assert.ok(!second.usesTrie && calls > 0 && second.maxProbe <= MAX_PROBE);
  checkAll(second, texts);
});
