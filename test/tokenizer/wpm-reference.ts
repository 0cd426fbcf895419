/**
 * A literal port of llama.cpp's WordPiece path (llama.cpp src/llama-vocab.cpp llm_tokenizer_wpm_session
 * and the WPM case of llama_vocab::impl::tokenize), kept as the plain reference for src/tokenizer/wpm.ts:
 * preprocess() builds the vector of words as strings, and the longest match tries every length from
 * max_token_len + 1 down with a map lookup each. It uses the previous partition (partition-reference.ts)
 * and the same Unicode tables (checked against llama.cpp's in unicode.test.ts).
 */
import { toByteString } from "../../src/tokenizer/bytes.js";
import {
  CptFlag,
  unicode_cpt_flags_from_cpt,
  unicode_cpt_to_utf8,
  unicode_cpts_from_utf8,
  unicode_cpts_normalize_nfd,
  unicode_tolower,
} from "../../src/tokenizer/unicode.js";
import type { Vocabulary } from "../../src/tokenizer/vocab.js";
import { is_chinese_char } from "../../src/tokenizer/wpm.js";
import { partitionReference } from "./partition-reference.js";

function preprocess(vocab: Vocabulary, text: string): string[] {
  let cpts = unicode_cpts_from_utf8(text, 0, text.length, []);
  if (vocab.normalizerStripAccents) cpts = unicode_cpts_normalize_nfd(cpts);
  const words = [""];
  for (const cpt of cpts) {
    const flags = unicode_cpt_flags_from_cpt(cpt);
    if (flags & CptFlag.WHITESPACE) {
      if (words[words.length - 1].length) words.push("");
      continue;
    }
    if (cpt === 0 || cpt === 0xfffd || flags & CptFlag.CONTROL) continue;
    if (vocab.normalizerStripAccents && flags & CptFlag.ACCENT_MARK) continue;
    const s = unicode_cpt_to_utf8(vocab.normalizerLowercase ? unicode_tolower(cpt) : cpt);
    if (flags & CptFlag.PUNCTUATION || (cpt < 0x7f && flags & CptFlag.SYMBOL) || is_chinese_char(cpt)) {
      if (words[words.length - 1].length) words.push("");
      words[words.length - 1] = s;
      words.push("");
    } else {
      words[words.length - 1] += s;
    }
  }
  if (!words[words.length - 1].length) words.pop();
  return words;
}

function tokenizeWords(vocab: Vocabulary, words: string[], output: number[]): void {
  for (const word of words) {
    if (word.length === 0) continue;
    const word1 = "\u00e2\u0096\u0081" + word;
    const n = word1.length;
    const current = output.length;
    for (let i = 0; i < n; ++i) {
      let match = false;
      for (let j = Math.min(n, i + vocab.maxTokenBytes + 1); j > i; j--) {
        const id = vocab.tokenToId.get(word1.slice(i, j));
        if (id !== undefined) {
          output.push(id);
          match = true;
          i = j - 1;
          break;
        }
      }
      if (!match) {
        output.length = current;
        break;
      }
    }
    if (current === output.length) output.push(vocab.special.unk);
  }
}

/** llama_vocab::impl::tokenize for a WPM vocab. */
export function wpmReference(vocab: Vocabulary, text: string, addSpecial: boolean, parseSpecial: boolean): number[] {
  const s = toByteString(text);
  const output: number[] = [];
  if (addSpecial) output.push(vocab.special.bos);
  for (const f of partitionReference(vocab, s, parseSpecial)) {
    if (f.id >= 0) output.push(f.id);
    else tokenizeWords(vocab, preprocess(vocab, s.slice(f.start, f.end)), output);
  }
  if (addSpecial) output.push(vocab.special.sep);
  return output;
}
