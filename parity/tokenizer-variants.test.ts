/** Token parity with llama.cpp on vocab variants that make llama.cpp set its per-model strip attributes (slow; npm run test:parity). */
import { test } from "node:test";
import { checkParity } from "../test/helpers/tokenizer-parity.js";

test("llama.cpp parity: RSTRIP on every special token (general.name phi-3)", (t) => checkParity(t, "converter", "phi3", false));
test("llama.cpp parity: LSTRIP on <mask> (tokenizer.ggml.pre jina-v2-de)", (t) => checkParity(t, "converter", "jina", false));
