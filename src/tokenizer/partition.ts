/**
 * Special-token partition: cut CONTROL / USER_DEFINED / UNKNOWN token texts out of the raw input
 * before any model-specific tokenization, with exactly llama.cpp's result, in time linear in the input.
 * ref: llama.cpp src/llama-vocab.cpp llama_vocab::impl::tokenizer_st_partition; docs/tokenizers/partition.md.
 *
 * llama.cpp takes every candidate in cache_special_tokens order (longest text first, ties in
 * libstdc++ std::sort order) and, in each raw fragment, cuts out its leftmost byte-exact occurrences
 * left to right; LSTRIP/RSTRIP cuts also swallow the isspace() bytes next to them inside the fragment.
 * That is the same as: take all occurrences of all candidates in (rank, position) order and accept
 * one when its text lies entirely in bytes no earlier accepted cut covers; an accepted cut then
 * extends over the free whitespace to its left (LSTRIP) / right (RSTRIP). We compute exactly that:
 *  1. One right-to-left pass of an Aho–Corasick automaton over the *reversed* candidate texts gives,
 *     at every position p, the longest candidate starting at p; the shorter ones starting at p are
 *     its output-link chain (ByteTrie.out over fail). O(n); only positions with a candidate are kept.
 *  2. Those positions are bucketed by the rank of their longest candidate (a counting sort).
 *  3. Occurrences are taken in (rank, position) order. One whose start is already covered drops its
 *     position for good (every candidate there starts inside a cut). One blocked by a cut starting at
 *     a later byte q is replaced by the longest candidate at the same position that ends by q, which
 *     has a larger rank and goes to a small heap merged into the bucket order.
 * Every position is dropped or accepted once, and re-queued at most once per shorter candidate it has.
 * Inputs and candidate texts are byte strings (one char per UTF-8 byte), so matching is byte-exact.
 */
import { ByteTrie } from "./trie.js";
import { LlamaTokenAttr, type Vocabulary } from "./vocab.js";

/** A partition fragment: raw text [start, end) when id < 0, else a token (its span, incl. stripped spaces). */
export interface Fragment {
  id: number;
  start: number;
  end: number;
}

/** Aho–Corasick automaton over the reversed texts of the candidates allowed in one parse_special mode; values are ranks. */
const automata = new WeakMap<Vocabulary, [ByteTrie | undefined, ByteTrie | undefined]>();

function buildAutomaton(vocab: Vocabulary, parseSpecial: boolean): ByteTrie {
  const keys: string[] = [];
  const ranks: number[] = [];
  vocab.specialCandidates.forEach((id, rank) => {
    // ref: "Ignore control and unknown tokens when parse_special == false"; USER_DEFINED always apply.
    if (!parseSpecial && vocab.attrs[id] & (LlamaTokenAttr.CONTROL | LlamaTokenAttr.UNKNOWN)) return;
    const t = vocab.tokenBytes[id];
    let r = "";
    for (let i = t.length - 1; i >= 0; i--) r += t[i];
    keys.push(r);
    ranks.push(rank);
  });
  return new ByteTrie(keys, ranks).withFailureLinks();
}

/** The automaton of one parse_special mode, built on first use (LlamaTokenizer builds the default one up front). */
export function getAutomaton(vocab: Vocabulary, parseSpecial: boolean): ByteTrie {
  let pair = automata.get(vocab);
  if (!pair) automata.set(vocab, (pair = [undefined, undefined]));
  const k = parseSpecial ? 1 : 0;
  return (pair[k] ??= buildAutomaton(vocab, parseSpecial));
}

/** C isspace() in the "C" locale: space, \t, \n, \v, \f, \r. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Min-heap of re-queued occurrences ordered by (rank, position); `pos` holds entry indices, whose positions decrease. */
class OccurrenceHeap {
  rank: number[] = [];
  pos: number[] = [];
  node: number[] = [];
  get size(): number {
    return this.rank.length;
  }
  private less(i: number, j: number): boolean {
    return this.rank[i] < this.rank[j] || (this.rank[i] === this.rank[j] && this.pos[i] > this.pos[j]); // larger entry = smaller position
  }
  private swap(i: number, j: number): void {
    for (const a of [this.rank, this.pos, this.node]) [a[i], a[j]] = [a[j], a[i]];
  }
  push(rank: number, pos: number, node: number): void {
    this.rank.push(rank), this.pos.push(pos), this.node.push(node);
    for (let i = this.size - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }
  pop(): void {
    const last = this.size - 1;
    this.swap(0, last);
    this.rank.pop(), this.pos.pop(), this.node.pop();
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const best = l + 1 < last && this.less(l + 1, l) ? l + 1 : l;
      if (!this.less(best, i)) break;
      this.swap(i, best);
      i = best;
    }
  }
}

/** Partition byte string `s` into raw and token fragments, in order. */
export function partition(vocab: Vocabulary, s: string, parseSpecial: boolean): Fragment[] {
  const n = s.length;
  if (n === 0) return [];
  const ac = getAutomaton(vocab, parseSpecial);
  const { depth, value, rootChild, label, childStart } = ac;
  const fail = ac.fail!;
  const out = ac.out!;

  // 1. Entries: every position p where a candidate starts, with the output node of the longest one,
  //    collected right to left (entry e has position entPos[e]; positions decrease with e).
  let entPos: Int32Array = new Int32Array(64);
  let entNode: Int32Array = new Int32Array(64);
  let found = 0;
  for (let p = n - 1, st = 0; p >= 0; p--) {
    const c = s.charCodeAt(p);
    for (;;) {
      let next = -1;
      if (st === 0) next = rootChild[c];
      else if (childStart[st + 1] - childStart[st] <= 8) {
        // ByteTrie.child, inlined for the common small fan-out
        for (let v = childStart[st], e = childStart[st + 1]; v < e; v++) if (label[v] === c) next = v;
      } else next = ac.child(st, c);
      if (next >= 0) {
        st = next;
        break;
      }
      if (st === 0) break;
      st = fail[st];
    }
    const o = out[st];
    if (o < 0) continue;
    if (found === entPos.length) [entPos, entNode] = [grow(entPos), grow(entNode)];
    entPos[found] = p;
    entNode[found++] = o;
  }
  if (found === 0) return [{ id: -1, start: 0, end: n }];

  // 2. Counting sort of the entries by rank; within a rank, by position (e descending).
  const nRanks = vocab.specialCandidates.length;
  const bucketStart = new Int32Array(nRanks + 1);
  for (let e = 0; e < found; e++) bucketStart[value[entNode[e]] + 1]++;
  for (let r = 0; r < nRanks; r++) bucketStart[r + 1] += bucketStart[r];
  // Entries in (rank, position) order, with node and rank alongside: the loop below reads them
  // sequentially and touches input-sized state only in `covered` (a bitset, n / 8 bytes).
  const sortedEnt = new Int32Array(found);
  const sortedRank = new Int32Array(found);
  for (let e = found - 1; e >= 0; e--) {
    const k = bucketStart[value[entNode[e]]]++;
    sortedEnt[k] = e;
    sortedRank[k] = value[entNode[e]];
  }

  // 3. Take occurrences in (rank, position) order; `covered` marks bytes inside accepted cuts.
  const covered = new Int32Array((n + 31) >>> 5);
  const isCovered = (i: number) => (covered[i >>> 5] >>> (i & 31)) & 1;
  const cutStart = new Int32Array(found); // the cut an entry made, if any (cutId >= 0)
  const cutEnd = new Int32Array(found);
  const cutId = new Int32Array(found).fill(-1);
  const heap = new OccurrenceHeap(); // entries re-queued with a shorter candidate; "pos" holds the entry
  for (let i = 0; i < found || heap.size > 0; ) {
    let e: number;
    let node: number;
    const fromHeap =
      heap.size > 0 &&
      (i >= found || sortedRank[i] > heap.rank[0] || (sortedRank[i] === heap.rank[0] && entPos[sortedEnt[i]] > entPos[heap.pos[0]]));
    if (fromHeap) {
      e = heap.pos[0];
      node = heap.node[0];
      heap.pop();
    } else {
      e = sortedEnt[i++];
      node = entNode[e];
    }
    const p = entPos[e];
    if (isCovered(p)) continue; // every candidate at p starts inside a cut
    const len = depth[node];
    let q = p + 1;
    while (q < p + len && !isCovered(q)) q++;
    if (q < p + len) {
      // blocked by a cut starting at q: the longest candidate at p that ends by q, if any
      let m = out[fail[node]];
      while (m >= 0 && depth[m] > q - p) m = out[fail[m]];
      if (m >= 0) heap.push(value[m], e, m);
      continue;
    }
    const id = vocab.specialCandidates[value[node]];
    let start = p;
    let end = p + len;
    // ref: LSTRIP trims isspace() from the end of the left remainder, RSTRIP from the start of the right one.
    if (vocab.attrs[id] & LlamaTokenAttr.LSTRIP) while (start > 0 && !isCovered(start - 1) && isSpace(s.charCodeAt(start - 1))) start--;
    if (vocab.attrs[id] & LlamaTokenAttr.RSTRIP) while (end < n && !isCovered(end) && isSpace(s.charCodeAt(end))) end++;
    for (let b = start; b < end; b++) covered[b >>> 5] |= 1 << (b & 31);
    cutStart[e] = start;
    cutEnd[e] = end;
    cutId[e] = id;
  }

  // Cuts are disjoint and each starts at or before its entry's position, so entry order is cut order.
  const frags: Fragment[] = [];
  let at = 0;
  for (let e = found - 1; e >= 0; e--) {
    if (cutId[e] < 0) continue;
    if (cutStart[e] > at) frags.push({ id: -1, start: at, end: cutStart[e] });
    frags.push({ id: cutId[e], start: cutStart[e], end: cutEnd[e] });
    at = cutEnd[e];
  }
  if (at < n) frags.push({ id: -1, start: at, end: n });
  return frags;
}

function grow(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
