/**
 * TokenIndex: a byte range -> the token with exactly those bytes, without allocating a substring
 * (the SPM merge loop looks up every bigram). It holds the same texts as Vocabulary.tokenToId, so it
 * answers identically.
 *
 * Hash flooding. The first version hashed with plain FNV-1a and probed linearly: a vocabulary whose
 * tokens collide in the low bits of FNV-1a (easy to craft, see test/tokenizer/token-index.test.ts)
 * made the build quadratic (131,075 tokens: 12 s). Now:
 *  - the hash is seeded per index from crypto.getRandomValues (a random FNV basis, then a seeded
 *    murmur3-style finalizer, so the low bits depend on every bit), which a file cannot target;
 *  - the build bounds every key's probe distance (MAX_PROBE); a build that exceeds it retries with a
 *    new seed and a larger table, and after that falls back to a ByteTrie (no hashing: O(len · log 256)
 *    per lookup whatever the keys). So a lookup costs at most MAX_PROBE probes, or the trie walk.
 *  - a lookup stops after the longest probe distance seen at build time: every stored key lies within
 *    it of its home slot, so an absent key cannot walk a long cluster either.
 */
import { ByteTrie } from "./trie.js";

/** Longest allowed probe distance (slots past the home slot) before the index gives up on a seed. */
export const MAX_PROBE = 64;

/** A 32-bit hash of bytes[start, start + len). */
export type RangeHash = (bytes: Uint8Array, start: number, len: number) => number;

/** A fresh seeded hash (two random 32-bit words). */
export function seededHash(): RangeHash {
  const seed = new Uint32Array(2);
  globalThis.crypto.getRandomValues(seed);
  const basis = seed[0];
  const mix = seed[1] | 1;
  return (bytes, start, len) => {
    let h = basis ^ len;
    for (let i = start; i < start + len; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, mix);
    h ^= h >>> 13;
    h = Math.imul(h, 0x85ebca6b);
    return (h ^ (h >>> 16)) >>> 0;
  };
}

export class TokenIndex {
  private readonly pool: Uint8Array; // all token texts' bytes, back to back
  private readonly offsets: Int32Array; // token id -> start in pool; offsets[n] = pool length
  private table = new Int32Array(0);
  private mask = 0;
  private hash: RangeHash = seededHash();
  /** Longest probe distance of any stored key (lookups probe at most this + 1 slots). */
  maxProbe = 0;
  /** The worst-case structure, when hashing failed MAX_PROBE three times. */
  private trie: ByteTrie | undefined;

  /**
   * `texts`: token texts as byte strings (Vocabulary.tokenBytes). `hashes`: hash functions to try in
   * turn (tests inject bad ones); by default three fresh seeded hashes.
   */
  constructor(texts: readonly string[], hashes?: RangeHash[]) {
    const n = texts.length;
    this.offsets = new Int32Array(n + 1);
    for (let id = 0; id < n; id++) this.offsets[id + 1] = this.offsets[id] + texts[id].length;
    this.pool = new Uint8Array(this.offsets[n]);
    for (let id = 0; id < n; id++) {
      for (let i = 0, t = texts[id], o = this.offsets[id]; i < t.length; i++) this.pool[o + i] = t.charCodeAt(i);
    }
    const tries = hashes ?? [seededHash(), seededHash(), seededHash()];
    let size = 1;
    while (size < n * 2) size *= 2;
    for (let attempt = 0; attempt < tries.length; attempt++, size *= 2) {
      if (this.build(tries[attempt], size)) return;
    }
    this.table = new Int32Array(0);
    this.trie = new ByteTrie(texts, Int32Array.from(texts.keys()));
  }

  /** True when the index fell back to the trie (every seeded hash exceeded MAX_PROBE). */
  get usesTrie(): boolean {
    return this.trie !== undefined;
  }

  /** Fill a table of `size` slots with `hash`; false as soon as a key would probe past MAX_PROBE. */
  private build(hash: RangeHash, size: number): boolean {
    const table = new Int32Array(size).fill(-1);
    const mask = size - 1;
    let maxProbe = 0;
    for (let id = 0; id + 1 < this.offsets.length; id++) {
      const home = hash(this.pool, this.offsets[id], this.offsets[id + 1] - this.offsets[id]) & mask;
      let d = 0;
      while (table[(home + d) & mask] >= 0) if (++d > MAX_PROBE) return false;
      table[(home + d) & mask] = id;
      if (d > maxProbe) maxProbe = d;
    }
    this.table = table;
    this.mask = mask;
    this.hash = hash;
    this.maxProbe = maxProbe;
    return true;
  }

  /** Id of the token whose text is bytes[start, start + len), or -1. */
  get(bytes: Uint8Array, start: number, len: number): number {
    if (this.trie) return this.trie.get(bytes, start, len);
    const { table, mask, pool, offsets } = this;
    const home = this.hash(bytes, start, len) & mask;
    for (let d = 0; d <= this.maxProbe; d++) {
      const id = table[(home + d) & mask];
      if (id < 0) return -1;
      const o = offsets[id];
      if (offsets[id + 1] - o !== len) continue;
      let i = 0;
      while (i < len && pool[o + i] === bytes[start + i]) i++;
      if (i === len) return id;
    }
    return -1;
  }
}
