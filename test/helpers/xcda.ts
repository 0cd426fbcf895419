/**
 * A tiny precompiled_charsmap writer for tests: key -> replacement rules as SentencePiece's XCDA
 * layout that llama.cpp's llm_tokenizer_ugm_session::normalize_prefix walks (docs/tokenizers/ugm.md).
 * Layout per trie node u at index idx(u): its children live in a 256-entry block starting at X(u)
 * (child c at X(u) + c, so X(u) ^ c = X(u) + c), its BASE is idx(u) ^ X(u), and when a key ends at u
 * the entry of u has the LEAF bit and slot X(u) + 0 holds the replacement offset (bit 31 set).
 * Simple, not compact: one block per node. Used to give llama.cpp and us the same crafted tables.
 */

/** Encode `rules` (UTF-8 key -> UTF-8 replacement) as the bytes of tokenizer.ggml.precompiled_charsmap. */
export function buildCharsmap(rules: [string, string][]): Uint8Array {
  const enc = new TextEncoder();
  interface Node {
    children: Map<number, Node>;
    value: number;
  }
  const root: Node = { children: new Map(), value: -1 };
  const repl: number[] = [];
  for (const [key, to] of rules) {
    let u = root;
    for (const c of enc.encode(key)) {
      let v = u.children.get(c);
      if (!v) u.children.set(c, (v = { children: new Map(), value: -1 }));
      u = v;
    }
    u.value = repl.length;
    repl.push(...enc.encode(to), 0);
  }
  const entries: number[] = [0];
  const place = (u: Node, idx: number) => {
    const x = entries.length + ((256 - (entries.length % 256)) % 256) || 256; // a fresh 256-aligned block
    while (entries.length < x + 256) entries.push(0);
    const base = idx ^ x;
    if (base >= 1 << 21) throw new Error("charsmap too large for this writer");
    entries[idx] = (entries[idx] & 0x1ff) | (base << 10);
    if (u.value >= 0) {
      entries[idx] |= 1 << 8; // LEAF: the replacement offset is at x ^ 0
      entries[x] = (0x80000000 | u.value) >>> 0;
    }
    for (const [c, v] of u.children) {
      entries[x + c] = c; // LCHECK; BASE and LEAF when v is placed
      place(v, x + c);
    }
  };
  place(root, 0);
  entries[0] &= ~(1 << 8); // the root is never a leaf (an empty key is not a rule)
  return assemble(Uint32Array.from(entries), Uint8Array.from(repl));
}

/** 4-byte LE blob size, the XCDA entries (LE), then the replacement bytes. */
export function assemble(xcda: Uint32Array, replacements: Uint8Array, blobSize = xcda.length * 4): Uint8Array {
  const out = new Uint8Array(4 + xcda.length * 4 + replacements.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, blobSize, true);
  for (let i = 0; i < xcda.length; i++) view.setUint32(4 + 4 * i, xcda[i], true);
  out.set(replacements, 4 + xcda.length * 4);
  return out;
}
