/**
 * libstdc++'s std::sort (introsort: median-of-three quicksort, heapsort past the depth limit, final
 * insertion sort with threshold 16), ported so that elements the comparator calls equal end up in the
 * same order as in llama.cpp built with GCC (Linux, and the node-llama-cpp binaries).
 *
 * Why: llama.cpp sorts its special-token cache with std::sort by text length only, which is not
 * stable. The order of equal-length candidates decides the partition when two of them can overlap in
 * a text or when strip attributes are set (e.g. with RSTRIP, whether "\n\n" or "  " is cut first
 * decides whether the spaces after "\n\n" are stripped). Builds with libc++ (macOS) or MSVC order
 * ties differently, so llama.cpp itself differs there; Gemma's vocab never depends on it.
 * ref: gcc libstdc++-v3/include/bits/stl_algo.h (__introsort_loop, __unguarded_partition_pivot,
 * __final_insertion_sort) and bits/stl_heap.h (__adjust_heap, __push_heap).
 */

/** `less(a, b)`: a strictly before b. Sorts `a` in place. */
export function stdSort(a: Int32Array, less: (x: number, y: number) => boolean): void {
  const n = a.length;
  if (n < 2) return;
  introsortLoop(a, 0, n, 2 * (31 - Math.clz32(n)), less); // 2 * std::__lg(n)
  finalInsertionSort(a, 0, n, less);
}

const THRESHOLD = 16; // _S_threshold

function swap(a: Int32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

function introsortLoop(a: Int32Array, first: number, last: number, depth: number, less: (x: number, y: number) => boolean): void {
  while (last - first > THRESHOLD) {
    if (depth === 0) {
      heapSort(a, first, last, less); // std::__partial_sort(first, last, last)
      return;
    }
    depth--;
    // __unguarded_partition_pivot: median of (first + 1, mid, last - 1) moved to first, then partition.
    const mid = first + ((last - first) >> 1);
    moveMedianToFirst(a, first, first + 1, mid, last - 1, less);
    let lo = first + 1;
    let hi = last;
    for (;;) {
      while (less(a[lo], a[first])) lo++;
      hi--;
      while (less(a[first], a[hi])) hi--;
      if (!(lo < hi)) break;
      swap(a, lo, hi);
      lo++;
    }
    introsortLoop(a, lo, last, depth, less);
    last = lo;
  }
}

function moveMedianToFirst(a: Int32Array, result: number, x: number, y: number, z: number, less: (p: number, q: number) => boolean): void {
  if (less(a[x], a[y])) {
    if (less(a[y], a[z])) swap(a, result, y);
    else if (less(a[x], a[z])) swap(a, result, z);
    else swap(a, result, x);
  } else if (less(a[x], a[z])) swap(a, result, x);
  else if (less(a[y], a[z])) swap(a, result, z);
  else swap(a, result, y);
}

function finalInsertionSort(a: Int32Array, first: number, last: number, less: (x: number, y: number) => boolean): void {
  if (last - first > THRESHOLD) {
    insertionSort(a, first, first + THRESHOLD, less);
    for (let i = first + THRESHOLD; i < last; i++) unguardedLinearInsert(a, i, less);
  } else {
    insertionSort(a, first, last, less);
  }
}

function insertionSort(a: Int32Array, first: number, last: number, less: (x: number, y: number) => boolean): void {
  for (let i = first + 1; i < last; i++) {
    if (less(a[i], a[first])) {
      const v = a[i];
      a.copyWithin(first + 1, first, i);
      a[first] = v;
    } else {
      unguardedLinearInsert(a, i, less);
    }
  }
}

function unguardedLinearInsert(a: Int32Array, last: number, less: (x: number, y: number) => boolean): void {
  const v = a[last];
  let next = last - 1;
  while (less(v, a[next])) {
    a[last] = a[next];
    last = next--;
  }
  a[last] = v;
}

/** std::make_heap then std::sort_heap on [first, last). */
function heapSort(a: Int32Array, first: number, last: number, less: (x: number, y: number) => boolean): void {
  const len = last - first;
  for (let parent = (len - 2) >> 1; parent >= 0; parent--) adjustHeap(a, first, parent, len, a[first + parent], less);
  for (let end = last - 1; end - first > 0; end--) {
    // __pop_heap(first, end, end): move the top to `end`, re-heap [first, end) with the old a[end].
    const v = a[end];
    a[end] = a[first];
    adjustHeap(a, first, 0, end - first, v, less);
  }
}

/** std::__adjust_heap: sift the hole at `hole` down to a leaf, then push `value` up from there. */
function adjustHeap(a: Int32Array, first: number, hole: number, len: number, value: number, less: (x: number, y: number) => boolean): void {
  const top = hole;
  let child = hole;
  while (child < (len - 1) >> 1) {
    child = 2 * (child + 1);
    if (less(a[first + child], a[first + child - 1])) child--;
    a[first + hole] = a[first + child];
    hole = child;
  }
  if ((len & 1) === 0 && child === (len - 2) >> 1) {
    child = 2 * (child + 1);
    a[first + hole] = a[first + child - 1];
    hole = child - 1;
  }
  let parent = (hole - 1) >> 1;
  while (hole > top && less(a[first + parent], value)) {
    a[first + hole] = a[first + parent];
    hole = parent;
    parent = (hole - 1) >> 1;
  }
  a[first + hole] = value;
}
