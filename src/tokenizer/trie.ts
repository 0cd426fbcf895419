/**
 * A byte trie in flat arrays, with an optional Aho–Corasick failure function. Nodes are numbered in
 * breadth-first order, so the children of a node are consecutive nodes, sorted by edge byte: a child
 * is found by a binary search over at most 256 labels (nodes with 16 or more children also get a
 * dense 256-entry row). No hashing anywhere, so no input and no file can make a lookup slower than
 * O(len · log 256). Built from the keys sorted, breadth-first.
 *
 * Used by the special-token partition (Aho–Corasick over the reversed candidate texts), WordPiece
 * (longest token at a position) and TokenIndex (its worst-case fallback).
 */

const DENSE_MIN_CHILDREN = 16;
const DENSE_ROWS = 4096;

export class ByteTrie {
  /** Edge byte into each node (node 0 is the root). */
  readonly label: Uint8Array;
  /** Children of node u are the nodes childStart[u] .. childStart[u + 1] - 1. */
  readonly childStart: Int32Array;
  /** Value of the key ending at each node, or -1. */
  readonly value: Int32Array;
  /** Depth of each node (the length of its key prefix). */
  readonly depth: Int32Array;
  /** Child of the root per byte, or -1. */
  readonly rootChild: Int32Array;
  /** Nodes with many children get a dense 256-entry row of children: denseRow[node] * 256 + byte, or -1. */
  readonly denseRow: Int32Array;
  readonly dense: Int32Array;
  /** Aho–Corasick failure link per node (root: 0); only after withFailureLinks(). */
  fail: Int32Array | undefined;
  /** Nearest node on the failure chain, the node itself included, that holds a value; -1 if none. */
  out: Int32Array | undefined;

  /** `unsorted`: distinct byte strings; `values[i]` (>= 0) is stored for unsorted[i]. */
  constructor(unsorted: readonly string[], values: ArrayLike<number>) {
    // The default sort compares UTF-16 code units, which for byte strings is byte order (and is much
    // faster than a comparator); the values follow through a map.
    const valueByKey = new Map<string, number>();
    unsorted.forEach((k, i) => valueByKey.set(k, values[i]));
    const keys = unsorted.slice().sort();
    let total = 1;
    for (const k of keys) total += k.length; // an upper bound on the node count
    const label = new Uint8Array(total);
    const childStart = new Int32Array(total + 1);
    const value = new Int32Array(total).fill(-1);
    const depth = new Int32Array(total);
    // Breadth-first: node u covers the sorted keys[lo[u] .. hi[u]) sharing its depth[u]-byte prefix.
    const lo = new Int32Array(total);
    const hi = new Int32Array(total);
    hi[0] = keys.length;
    let count = 1;
    for (let u = 0; u < count; u++) {
      childStart[u] = count;
      let i = lo[u];
      const d = depth[u];
      if (i < hi[u] && keys[i].length === d) value[u] = valueByKey.get(keys[i++])!; // a prefix sorts first
      while (i < hi[u]) {
        const c = keys[i].charCodeAt(d);
        const v = count++;
        label[v] = c;
        depth[v] = d + 1;
        lo[v] = i;
        while (i < hi[u] && keys[i].charCodeAt(d) === c) i++;
        hi[v] = i;
      }
    }
    childStart[count] = count;
    this.label = label.slice(0, count);
    this.childStart = childStart.slice(0, count + 1);
    this.value = value.slice(0, count);
    this.depth = depth.slice(0, count);
    this.rootChild = new Int32Array(256).fill(-1);
    for (let v = this.childStart[0]; v < this.childStart[1]; v++) this.rootChild[this.label[v]] = v;
    // dense rows for wide nodes (at most DENSE_ROWS of them: 1 KiB each), in node order
    this.denseRow = new Int32Array(count).fill(-1);
    let rows = 0;
    for (let u = 1; u < count && rows < DENSE_ROWS; u++) {
      if (this.childStart[u + 1] - this.childStart[u] >= DENSE_MIN_CHILDREN) this.denseRow[u] = rows++;
    }
    this.dense = new Int32Array(rows * 256).fill(-1);
    for (let u = 1; u < count; u++) {
      const r = this.denseRow[u];
      if (r >= 0) for (let v = this.childStart[u]; v < this.childStart[u + 1]; v++) this.dense[r * 256 + this.label[v]] = v;
    }
  }

  get nodeCount(): number {
    return this.value.length;
  }

  /** Child of `node` along byte `c`, or -1. */
  child(node: number, c: number): number {
    if (node === 0) return this.rootChild[c];
    const row = this.denseRow[node];
    if (row >= 0) return this.dense[row * 256 + c];
    const { label, childStart } = this;
    let lo = childStart[node];
    let hi = childStart[node + 1];
    while (hi - lo > 8) {
      const mid = (lo + hi) >>> 1;
      const m = label[mid];
      if (m === c) return mid;
      if (m < c) lo = mid + 1;
      else hi = mid;
    }
    for (; lo < hi; lo++) if (label[lo] === c) return lo;
    return -1;
  }

  /** Value of the key equal to bytes[start, start + len), or -1. */
  get(bytes: Uint8Array, start: number, len: number): number {
    let node = 0;
    for (let i = start; i < start + len; i++) if ((node = this.child(node, bytes[i])) < 0) return -1;
    return this.value[node];
  }

  /** Add the Aho–Corasick failure links and output links (breadth-first order makes one pass enough). */
  withFailureLinks(): this {
    const n = this.nodeCount;
    const fail = new Int32Array(n);
    const out = new Int32Array(n).fill(-1);
    const { childStart, label, value } = this;
    for (let u = 0; u < n; u++) {
      // children of u: their failure link extends u's failure chain by their byte
      for (let v = childStart[u]; v < childStart[u + 1]; v++) {
        let f = -1;
        for (let w = u; u !== 0; w = fail[w]) {
          f = this.child(fail[w], label[v]);
          if (f >= 0 || fail[w] === 0) break;
        }
        fail[v] = f >= 0 ? f : 0;
        out[v] = value[v] >= 0 ? v : out[fail[v]];
      }
    }
    this.fail = fail;
    this.out = out;
    return this;
  }
}
