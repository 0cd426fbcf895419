/**
 * Vocabulary-level comparisons with llama.cpp (node-llama-cpp, vocab-only load) shared by the
 * tokenizer parity tests (wpm-parity, ugm-parity): token attribute flags, the EOG set, every
 * token's piece; the CPU-time measure the tokenizer fuzz tests budget with; hooks that load one of
 * llama.cpp's test vocabularies on both sides; the maxTokens prefix property.
 */
import assert from "node:assert/strict";
import { after, before } from "node:test";
import type { LlamaModel, Token } from "node-llama-cpp";
import { FileSource } from "../../src/node/fs-source.js";
import { loadTokenizer, type Tokenizer } from "../../src/tokenizer/index.js";
import { disposeModel, llamaModel } from "./llama.js";
import { llamaSourceFile } from "./llama-src.js";

/** Shared with the SPM/BPE parity checks. */
export { vocabStateMismatches } from "./tokenizer-parity.js";

/** Ids whose single-token detokenize (token_to_piece) differs from llama.cpp's, special off or on. */
export function pieceMismatches(ours: Tokenizer, ref: LlamaModel): number[] {
  const bad: number[] = [];
  for (let id = 0; id < ours.nVocab; id++) {
    for (const special of [false, true]) {
      if (ours.decode([id], { unparseSpecial: special }) !== ref.detokenize([id as Token], special)) bad.push(id);
    }
  }
  return bad;
}

/**
 * node:test hooks that load llama.cpp's test vocabulary models/`file` (from node-llama-cpp's bundle)
 * into our tokenizer and, if `withRef`, into llama.cpp (vocab only); the fields are set in before().
 */
export function llamaVocab(file: string, withRef: boolean): { path: string; ours: Tokenizer; ref: LlamaModel } {
  const v = { path: "", ours: undefined as unknown as Tokenizer, ref: undefined as unknown as LlamaModel };
  before(async () => {
    v.path = llamaSourceFile(`models/${file}`);
    const src = await FileSource.open(v.path);
    v.ours = await loadTokenizer(src);
    await src.close();
    if (withRef) v.ref = await llamaModel(v.path, true);
  });
  after(async () => {
    if (v.path) await disposeModel(v.path);
  });
  return v;
}

/** encode(text, { maxTokens }) is the full encoding when that fits, else a prefix of it longer than maxTokens. */
export function checkMaxTokens(tok: Tokenizer, text: string): void {
  const full = tok.encode(text);
  for (const max of [0, 1, 2, 5, 17, full.length - 1, full.length, full.length + 3]) {
    if (max < 0) continue;
    const part = tok.encode(text, { maxTokens: max });
    if (full.length <= max) assert.deepEqual(part, full, `${JSON.stringify(text)} max ${max}`);
    else {
      assert.ok(part.length > max, `${JSON.stringify(text)} max ${max}: ${part.length} ids`);
      assert.deepEqual(part, full.slice(0, part.length), `${JSON.stringify(text)} max ${max}`);
    }
  }
}

/** Failure lines of idMismatches / textParity: the first few in full, then just what differed. */
type Fail = (what: string, text: string, want: unknown, got: unknown) => void;

/** Texts whose ids (add_special off) differ from llama.cpp's, parse_special on then off; stops at `max`. */
export function idMismatches(ours: Tokenizer, ref: LlamaModel, texts: readonly string[], max = 5): string[] {
  const bad: string[] = [];
  for (const parseSpecial of [true, false]) {
    for (const text of texts) {
      const want = Array.from(ref.tokenize(text, parseSpecial));
      const got = ours.encode(text, { addSpecial: false, parseSpecial });
      const diff = `${JSON.stringify(text)} (parse_special ${parseSpecial})\n  llama.cpp ${want.join(" ")}\n  ours      ${got.join(" ")}`;
      if (got.join() !== want.join() && bad.push(diff) >= max) return bad;
    }
  }
  return bad;
}

/**
 * For each text, parse_special on then off: ids (add_special off) equal llama.cpp's; add_special on
 * equals `wrap` of llama.cpp's ids (node-llama-cpp cannot tokenize with add_special); decode of those
 * ids equals llama.cpp's detokenize, unparse_special off and on; `extra` adds checks of its own.
 * Returns the counts and the failures.
 */
export function textParity(
  ours: Tokenizer,
  ref: LlamaModel,
  texts: readonly string[],
  wrap: (ids: number[]) => number[],
  extra?: (text: string, parseSpecial: boolean, got: number[], fail: Fail) => void,
): { compared: number; withUnk: number; bad: string[] } {
  const bad: string[] = [];
  const fail: Fail = (what, text, want, got) => {
    const show = (x: unknown) => JSON.stringify(x).slice(0, 300);
    if (bad.length < 5) bad.push(`${what} ${JSON.stringify(text.slice(0, 100))}\n  llama.cpp: ${show(want)}\n  ours:      ${show(got)}`);
    else bad.push(what);
  };
  let compared = 0;
  let withUnk = 0;
  for (const parseSpecial of [true, false]) {
    for (const text of texts) {
      const want = Array.from(ref.tokenize(text, parseSpecial)) as number[];
      const got = ours.encode(text, { addSpecial: false, parseSpecial });
      compared++;
      if (got.join() !== want.join()) fail(`encode(parseSpecial=${parseSpecial})`, text, want, got);
      if (got.includes(ours.special.unk)) withUnk++;
      extra?.(text, parseSpecial, got, fail);
      const wrapped = wrap(want);
      const gotWrapped = ours.encode(text, { parseSpecial });
      if (gotWrapped.join() !== wrapped.join()) fail(`encode(addSpecial, parseSpecial=${parseSpecial})`, text, wrapped, gotWrapped);
      for (const special of [false, true]) {
        const d = ref.detokenize(wrapped as Token[], special);
        const ourD = ours.decode(wrapped, { unparseSpecial: special });
        if (ourD !== d) fail(`decode(unparseSpecial=${special})`, text, d, ourD);
      }
    }
  }
  return { compared, withUnk, bad };
}
