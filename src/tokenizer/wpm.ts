/**
 * WordPiece as llama.cpp runs it for `tokenizer.ggml.model = "bert"` (BERT, nomic-bert, bge, ...).
 * ref: llama.cpp src/llama-vocab.cpp llm_tokenizer_wpm_session (tokenize, preprocess,
 * is_chinese_char) and llama_vocab::impl::tokenize's WPM case; docs/tokenizers/wpm.md.
 *
 * Per raw fragment of the special-token partition:
 *  1. preprocess: decode UTF-8 as llama.cpp does (unicode_cpts_from_utf8); if strip_accents, map each
 *     code point to the first code point of its NFD form (llama.cpp's table, so "é" -> "e" and the
 *     combining marks of a decomposed input are then dropped as ACCENT_MARK); whitespace (llama.cpp's
 *     set) ends a word; NUL, U+FFFD and CONTROL (\p{C}, incl. format characters and surrogates) are
 *     dropped; the rest is lowercased (simple mapping) if `lowercase`, and punctuation, ASCII symbols
 *     and CJK ideographs (is_chinese_char, with its 0x2B920 quirk) become one-character words.
 *     Every table is llama.cpp's Unicode 15.1 (unicode.ts), not the JS engine's.
 *  2. each word gets the phantom-space prefix "▁" (E2 96 81), then greedy longest-match-first over
 *     the whole vocabulary (any token type); if some position matches nothing, the word's tokens are
 *     discarded and the word becomes one UNK.
 * add_special wraps the result in BOS ([CLS]) ... SEP ([SEP]) regardless of add_bos/add_sep (the WPM
 * case does not consult them). Detokenize: token_to_piece turns "▁" back into a space, then
 * clean_spaces (tokenizer.ts).
 *
 * Differences from llama.cpp that do not change the result: words are streamed into a reused byte
 * buffer instead of a vector of strings, and the longest match is one walk down a ByteTrie of all
 * token texts instead of trying every length from max_token_len + 1 down with a map lookup each
 * (test/tokenizer/wpm.test.ts checks both against each other). Complexity: O(bytes · longest token).
 */
import type { Fragment } from "./partition.js";
import { LlamaTokenizer } from "./tokenizer.js";
import { ByteTrie } from "./trie.js";
import { CptFlag, unicode_cpt_flags_from_cpt, unicode_cpt_nfd, unicode_cpt_to_utf8, unicode_tolower } from "./unicode.js";
import type { Vocabulary } from "./vocab.js";

const tries = new WeakMap<Vocabulary, ByteTrie>();

/** is_chinese_char (the 0x2B920 bound is llama.cpp's, copied from HF's Rust code; 0x2B820 would be right). */
export function is_chinese_char(cpt: number): boolean {
  return (
    (cpt >= 0x04e00 && cpt <= 0x09fff) ||
    (cpt >= 0x03400 && cpt <= 0x04dbf) ||
    (cpt >= 0x20000 && cpt <= 0x2a6df) ||
    (cpt >= 0x2a700 && cpt <= 0x2b73f) ||
    (cpt >= 0x2b740 && cpt <= 0x2b81f) ||
    (cpt >= 0x2b920 && cpt <= 0x2ceaf) ||
    (cpt >= 0x0f900 && cpt <= 0x0faff) ||
    (cpt >= 0x2f800 && cpt <= 0x2fa1f)
  );
}

export class WpmTokenizer extends LlamaTokenizer {
  private readonly trie: ByteTrie;
  private word = new Uint8Array(256); // "▁" + the current word's bytes
  private wordLen = 3;
  readonly specialPrefix: readonly number[];
  readonly specialSuffix: readonly number[];

  constructor(vocab: Vocabulary) {
    super(vocab);
    let trie = tries.get(vocab);
    if (!trie) tries.set(vocab, (trie = new ByteTrie(vocab.tokenBytes, Int32Array.from(vocab.tokenBytes.keys()))));
    this.trie = trie;
    this.specialPrefix = [vocab.special.bos];
    this.specialSuffix = [vocab.special.sep];
    this.word.set([0xe2, 0x96, 0x81]);
  }

  protected encodeFragments(s: string, frags: Fragment[], maxTokens: number, out: number[]): void {
    for (const f of frags) {
      if (out.length > maxTokens) return;
      if (f.id >= 0) out.push(f.id);
      else this.tokenizeFragment(s, f.start, f.end, maxTokens, out);
    }
  }

  /** preprocess + tokenize of one raw fragment s[start, end), word by word. */
  private tokenizeFragment(s: string, start: number, end: number, maxTokens: number, out: number[]): void {
    const { normalizerLowercase: lowercase, normalizerStripAccents: stripAccents } = this.vocab;
    this.wordLen = 3;
    for (let i = start; i < end && out.length <= maxTokens; ) {
      // unicode_cpts_from_utf8, one code point at a time (a sequence may not run past `end`)
      let cpt = s.charCodeAt(i++);
      if (cpt >= 0x80) {
        const need = !(cpt & 0x40) ? 0 : !(cpt & 0x20) ? 1 : !(cpt & 0x10) ? 2 : !(cpt & 0x08) ? 3 : 0;
        let ok = need > 0 && i + need <= end;
        for (let k = 0; ok && k < need; k++) ok = (s.charCodeAt(i + k) & 0xc0) === 0x80;
        if (!ok) cpt = 0xfffd;
        else {
          cpt &= 0x7f >> (need + 1);
          for (let k = 0; k < need; k++) cpt = (cpt << 6) | (s.charCodeAt(i++) & 0x3f);
        }
      }
      if (stripAccents) cpt = unicode_cpt_nfd(cpt);
      const flags = unicode_cpt_flags_from_cpt(cpt);
      if (flags & CptFlag.WHITESPACE) {
        this.endWord(out);
        continue;
      }
      if (cpt === 0 || cpt === 0xfffd || flags & CptFlag.CONTROL) continue;
      if (stripAccents && flags & CptFlag.ACCENT_MARK) continue;
      const c = lowercase ? unicode_tolower(cpt) : cpt;
      if (flags & CptFlag.PUNCTUATION || (cpt < 0x7f && flags & CptFlag.SYMBOL) || is_chinese_char(cpt)) {
        this.endWord(out);
        this.append(c);
        this.endWord(out);
      } else {
        this.append(c);
      }
    }
    if (out.length <= maxTokens) this.endWord(out);
  }

  /** Append unicode_cpt_to_utf8(c) to the current word. */
  private append(c: number): void {
    if (this.wordLen + 4 > this.word.length) {
      const w = new Uint8Array(this.word.length * 2);
      w.set(this.word);
      this.word = w;
    }
    const w = this.word;
    if (c < 0x80) w[this.wordLen++] = c;
    else if (c < 0x800) (w[this.wordLen++] = 0xc0 | (c >> 6)), (w[this.wordLen++] = 0x80 | (c & 0x3f));
    else if (c < 0x10000) {
      w[this.wordLen++] = 0xe0 | (c >> 12);
      w[this.wordLen++] = 0x80 | ((c >> 6) & 0x3f);
      w[this.wordLen++] = 0x80 | (c & 0x3f);
    } else for (const b of unicode_cpt_to_utf8(c)) w[this.wordLen++] = b.charCodeAt(0); // throws above U+10FFFF, as llama.cpp does
  }

  /** llm_tokenizer_wpm_session::tokenize for the current word (skipped if empty), then start a new one. */
  private endWord(out: number[]): void {
    const n = this.wordLen;
    if (n === 3) return;
    this.wordLen = 3;
    const { word, trie } = this;
    const { value, rootChild, denseRow, dense, label, childStart } = trie;
    const first = out.length;
    for (let i = 0; i < n; ) {
      // the longest token that is a prefix of word[i, n): one walk down the trie (ByteTrie.child, inlined)
      let best = -1;
      let bestEnd = i;
      for (let j = i, node = 0; j < n; j++) {
        const c = word[j];
        if (node === 0) node = rootChild[c];
        else if (denseRow[node] >= 0) node = dense[denseRow[node] * 256 + c];
        else {
          let next = -1;
          for (let v = childStart[node], e = childStart[node + 1]; v < e; v++)
            if (label[v] === c) {
              next = v;
              break;
            }
          node = next;
        }
        if (node < 0) break;
        if (value[node] >= 0) (best = value[node]), (bestEnd = j + 1);
      }
      if (best < 0) {
        out.length = first; // discard the word's tokens
        break;
      }
      out.push(best);
      i = bestEnd;
    }
    if (out.length === first) out.push(this.vocab.special.unk);
  }
}
