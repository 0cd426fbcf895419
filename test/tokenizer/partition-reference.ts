/**
 * The previous special-token partition (one indexOf pass per candidate present in the input), kept
 * as a reference for src/tokenizer/partition.ts: it reproduced llama.cpp on every parity test, but
 * costs ~ the square of the input on text made of many different special texts.
 *
 * It produces llama.cpp's tokenizer_st_partition fragments with two changes that do not alter the result:
 *  1. A trie scan first finds which candidates occur in the input at all; only those get a pass.
 *  2. A pass scans the whole input once with indexOf and accepts an occurrence only if it lies
 *     entirely inside a raw region (not inside or across an earlier cut), resuming after each
 *     accepted one. Within one raw fragment that is the same leftmost, non-overlapping sequence
 *     llama.cpp's per-fragment find() loop yields.
 */
import { LlamaTokenAttr, type Vocabulary } from "../../src/tokenizer/vocab.js";
import type { Fragment } from "../../src/tokenizer/partition.js";

/** Trie over the candidate texts allowed in one parse_special mode. */
interface Trie {
  /** Candidate ids in priority order (cache_special_tokens order, filtered by mode). */
  ids: Int32Array;
  rootChild: Int32Array; // byte -> node, -1 if none
  edges: Map<number, number>; // node * 256 + byte -> node
  terminal: Int32Array; // node -> rank into ids, -1 if none
  /** Terminals in each node's subtree: lets the scan stop once everything below is already found. */
  subtreeCount: Int32Array;
}

const tries = new WeakMap<Vocabulary, [Trie | undefined, Trie | undefined]>();

function buildTrie(vocab: Vocabulary, parseSpecial: boolean): Trie {
  const ids: number[] = [];
  for (const id of vocab.specialCandidates) {
    // ref: "Ignore control and unknown tokens when parse_special == false"; USER_DEFINED always apply.
    if (!parseSpecial && vocab.attrs[id] & (LlamaTokenAttr.CONTROL | LlamaTokenAttr.UNKNOWN)) continue;
    ids.push(id);
  }
  const rootChild = new Int32Array(256).fill(-1);
  const edges = new Map<number, number>();
  const terminal: number[] = [-1]; // node 0 is the root
  const count: number[] = [0];
  for (let rank = 0; rank < ids.length; rank++) {
    const t = vocab.tokenBytes[ids[rank]];
    let node = 0;
    for (let i = 0; i < t.length; i++) {
      const c = t.charCodeAt(i);
      let next = node === 0 ? rootChild[c] : (edges.get(node * 256 + c) ?? -1);
      if (next < 0) {
        next = terminal.length;
        terminal.push(-1);
        count.push(0);
        if (node === 0) rootChild[c] = next;
        else edges.set(node * 256 + c, next);
      }
      count[next]++;
      node = next;
    }
    terminal[node] = rank;
  }
  return { ids: Int32Array.from(ids), rootChild, edges, terminal: Int32Array.from(terminal), subtreeCount: Int32Array.from(count) };
}

function getTrie(vocab: Vocabulary, parseSpecial: boolean): Trie {
  let pair = tries.get(vocab);
  if (!pair) tries.set(vocab, (pair = [undefined, undefined]));
  const k = parseSpecial ? 1 : 0;
  return (pair[k] ??= buildTrie(vocab, parseSpecial));
}

/** Ranks (into trie.ids) of the candidates that occur somewhere in `s`, ascending. */
function presentRanks(trie: Trie, s: string): number[] {
  const found: number[] = [];
  const isFound = new Set<number>();
  // Terminals found so far below each node: a walk stops where everything below is already found.
  const foundBelow = new Map<number, number>();
  const path: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let node = trie.rootChild[s.charCodeAt(i)];
    if (node < 0) continue;
    path.length = 0;
    for (let j = i + 1; ; j++) {
      if (trie.subtreeCount[node] === (foundBelow.get(node) ?? 0)) break;
      path.push(node);
      const rank = trie.terminal[node];
      if (rank >= 0 && !isFound.has(rank)) {
        found.push(rank);
        isFound.add(rank);
        for (const p of path) foundBelow.set(p, (foundBelow.get(p) ?? 0) + 1);
      }
      if (j >= s.length) break;
      const next = trie.edges.get(node * 256 + s.charCodeAt(j));
      if (next === undefined) break;
      node = next;
    }
  }
  return found.sort((a, b) => a - b);
}

/** C isspace() in the "C" locale: space, \t, \n, \v, \f, \r. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Partition byte string `s` into raw and token fragments, in order. */
export function partitionReference(vocab: Vocabulary, s: string, parseSpecial: boolean): Fragment[] {
  if (s.length === 0) return [];
  const trie = getTrie(vocab, parseSpecial);
  // Cuts so far, sorted and disjoint: [cutStart, cutEnd) covers a token and any spaces stripped next to it.
  let cutStart: number[] = [];
  let cutEnd: number[] = [];
  let cutId: number[] = [];
  for (const rank of presentRanks(trie, s)) {
    const id = trie.ids[rank];
    const text = vocab.tokenBytes[id];
    const len = text.length;
    const lstrip = (vocab.attrs[id] & LlamaTokenAttr.LSTRIP) !== 0;
    const rstrip = (vocab.attrs[id] & LlamaTokenAttr.RSTRIP) !== 0;
    const newStart: number[] = [];
    const newEnd: number[] = [];
    let j = 0; // first earlier cut that ends after p
    let rawStart = 0; // where the raw fragment holding p starts, as far as this pass's cuts go (for LSTRIP)
    for (let p = s.indexOf(text); p >= 0; p = s.indexOf(text, p)) {
      while (j < cutStart.length && cutEnd[j] <= p) j++;
      if (j < cutStart.length && cutStart[j] < p + len) {
        // Inside or across an earlier cut; every later start before that cut's end overlaps it too.
        p = cutEnd[j];
        continue;
      }
      let start = p;
      let end = p + len;
      // ref: LSTRIP trims isspace() from the end of the left remainder, RSTRIP from the start of the right one.
      if (lstrip)
        for (const from = Math.max(rawStart, j > 0 ? cutEnd[j - 1] : 0); start > from && isSpace(s.charCodeAt(start - 1)); ) start--;
      if (rstrip) for (const to = j < cutStart.length ? cutStart[j] : s.length; end < to && isSpace(s.charCodeAt(end)); ) end++;
      newStart.push(start);
      newEnd.push(end);
      rawStart = p = end;
    }
    if (newStart.length === 0) continue;
    // Merge this pass's cuts (all with this id) into the earlier ones; both lists are sorted and disjoint.
    const ms: number[] = [],
      me: number[] = [],
      mi: number[] = [];
    let a = 0;
    for (let b = 0; b <= newStart.length; b++) {
      const until = b < newStart.length ? newStart[b] : Infinity;
      for (; a < cutStart.length && cutStart[a] < until; a++) ms.push(cutStart[a]), me.push(cutEnd[a]), mi.push(cutId[a]);
      if (b < newStart.length) ms.push(newStart[b]), me.push(newEnd[b]), mi.push(id);
    }
    cutStart = ms;
    cutEnd = me;
    cutId = mi;
  }
  const out: Fragment[] = [];
  let at = 0;
  for (let k = 0; k < cutStart.length; k++) {
    if (cutStart[k] > at) out.push({ id: -1, start: at, end: cutStart[k] });
    out.push({ id: cutId[k], start: cutStart[k], end: cutEnd[k] });
    at = cutEnd[k];
  }
  if (at < s.length) out.push({ id: -1, start: at, end: s.length });
  return out;
}
