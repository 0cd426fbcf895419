/**
 * Loading a tokenizer: loadTokenizer from the package entries (a path, a file: URL, bytes, a Blob),
 * createTokenizer's dispatch on tokenizer.ggml.model, and refusal of the models not implemented.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { isEmbedError } from "../../src/errors.js";
import { kv, type GGUFValue } from "../../src/gguf/keys.js";
import { loadTokenizer as loadFromBytes } from "../../src/index.js";
import { loadTokenizer } from "../../src/node.js";
import { createTokenizer } from "../../src/tokenizer/index.js";
import { llamaSourceFile } from "../helpers/llama-src.js";

test("loadTokenizer reads a vocab-only GGUF from a path, a file: URL, bytes and a Blob", async () => {
  const path = llamaSourceFile("models/ggml-vocab-bert-bge.gguf");
  const bytes = readFileSync(path);
  const want = [101, 7592, 2088, 102];
  for (const tok of [
    await loadTokenizer(path),
    await loadTokenizer(pathToFileURL(path)),
    await loadFromBytes(new Uint8Array(bytes)),
    await loadFromBytes(new Blob([bytes])),
  ]) {
    assert.equal(tok.vocab.model, "bert");
    assert.deepEqual(tok.encode("Hello World"), want);
  }
  await assert.rejects(loadTokenizer(`${path}.missing`), (e) => isEmbedError(e, "NOT_FOUND"));
});

test("createTokenizer dispatches on tokenizer.ggml.model and refuses the others by name", () => {
  const meta = (model: string) =>
    new Map<string, GGUFValue>([
      ["tokenizer.ggml.model", kv.str(model)],
      ["tokenizer.ggml.tokens", kv.strs(["a", "b"])],
    ]);
  // "gpt2" without tokenizer.ggml.pre (llama.cpp's 4-regex "default" pre-tokenizer) is refused too, naming both
  for (const model of ["gpt2", "hybriddna", "rwkv", "plamo2", "none", "whatever"]) {
    assert.throws(
      () => createTokenizer(meta(model)),
      (e) => isEmbedError(e, "UNSUPPORTED_TOKENIZER") && e.message.includes(`"${model}"`),
      model,
    );
  }
});
