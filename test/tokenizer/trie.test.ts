/**
 * ByteTrie against plain references: exact lookups against a Map, and the Aho–Corasick output chain
 * ("every key ending at this position, longest first") against a brute-force scan. Keys are random
 * over a small alphabet (deep sharing, keys that are suffixes and prefixes of others) and over all
 * 256 bytes (nodes with hundreds of children, where the child search is a binary search).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ByteTrie } from "../../src/tokenizer/trie.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

function randomKeys(rnd: () => number, n: number, alphabet: number, maxLen: number): string[] {
  const set = new Set<string>();
  while (set.size < n) {
    const len = 1 + Math.floor(rnd() * maxLen);
    let k = "";
    for (let i = 0; i < len; i++) k += String.fromCharCode(Math.floor(rnd() * alphabet));
    set.add(k);
  }
  return [...set];
}

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

test("get() equals a Map on keys, prefixes and random strings (alphabets of 3 and 256 bytes)", () => {
  const rnd = rng(1);
  for (const [alphabet, n, maxLen] of [
    [3, 300, 8],
    [256, 3000, 4],
    [256, 200, 40],
  ]) {
    const keys = randomKeys(rnd, n, alphabet, maxLen);
    const map = new Map(keys.map((k, i) => [k, i * 7]));
    const trie = new ByteTrie(
      keys,
      keys.map((_, i) => i * 7),
    );
    const probes = [...keys, ...keys.map((k) => k.slice(0, -1)), ...randomKeys(rnd, 2000, alphabet, maxLen + 2)];
    for (const p of probes) assert.equal(trie.get(bytes(p), 0, p.length), map.get(p) ?? -1, JSON.stringify(p));
    const root = trie.childStart[1] - trie.childStart[0];
    if (alphabet === 256 && n === 3000) assert.ok(root > 200, `root has ${root} children`);
  }
});

test("Aho–Corasick output chain lists every key ending at each position, longest first", () => {
  const rnd = rng(2);
  for (const [alphabet, n, maxLen] of [
    [2, 40, 6],
    [4, 200, 5],
    [256, 500, 3],
  ]) {
    const keys = randomKeys(rnd, n, alphabet, maxLen);
    const trie = new ByteTrie(keys, Int32Array.from(keys.keys())).withFailureLinks();
    const fail = trie.fail!;
    const out = trie.out!;
    let text = "";
    for (let i = 0; i < 3000; i++) text += String.fromCharCode(Math.floor(rnd() * alphabet));
    let st = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      for (;;) {
        const next = trie.child(st, c);
        if (next >= 0) {
          st = next;
          break;
        }
        if (st === 0) break;
        st = fail[st];
      }
      const got: number[] = [];
      for (let m = out[st]; m >= 0; m = out[fail[m]]) got.push(trie.value[m]);
      const want = keys
        .map((k, id) => [k, id] as const)
        .filter(([k]) => text.slice(0, i + 1).endsWith(k))
        .sort((a, b) => b[0].length - a[0].length)
        .map(([, id]) => id);
      assert.deepEqual(got, want, `position ${i}`);
    }
  }
});
