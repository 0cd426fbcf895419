/**
 * The BERT-family parity matrix (slow; `npm run test:parity`): synthetic bert (MiniLM-L6 shape,
 * mean and CLS pooling) and nomic-bert (v1.5 shape, full 12 layers) of every weight type, and bert
 * with the XLM-R unigram vocabulary at width 1024 (4 layers; token_embd Q8_0) in F16, Q8_0 and Q4_K
 * on explicit ids spread over the vocabulary (assertUgmParity; its text pipeline is in
 * test/models/bert.test.ts), against llama.cpp (node-llama-cpp, flash attention off), same token
 * ids, 1 - cos <= 1e-6, in the numerics profile of the CPU variant node-llama-cpp loaded here.
 * K-quant rows that are not whole 256-blocks fall back as llama-quantize does (scripts/gen/bert.ts).
 * Narrow it with BERT_TYPES=Q8_0,F16 BERT_LENGTHS=10,500 BERT_SHAPES=minilm,nomic,xlmr.
 */
import { test } from "node:test";
import { loadModel } from "../src/node.js";
import { assertUgmParity, bertFixture, type BertFixtureOptions } from "../test/helpers/bert-fixtures.js";
import { disposeModel } from "../test/helpers/llama.js";
import { assertParity } from "../test/helpers/parity.js";
import { llamaVariant } from "../test/helpers/variants.js";

const env = (k: string, d: string) => (process.env[k] ?? d).split(",").filter(Boolean);
const TYPES = env("BERT_TYPES", "F32,F16,Q8_0,Q4_0,Q4_1,Q5_0,Q5_1,Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,IQ4_NL,IQ4_XS");
const fmt = (r: { length: number; oneMinusCos: number }) => `${r.length}t ${r.oneMinusCos.toExponential(1)}`;
const LENGTHS = env("BERT_LENGTHS", "2,10,100,500").map(Number);
const SHAPES = env("BERT_SHAPES", "minilm,nomic,xlmr");
const TEXT =
  "The quick brown fox jumps over the lazy dog. Café naïve résumé — 東京は日本の首都です。 Москва 🦙 emoji, function add(a, b) { return a + b; } ";
const NOMIC = { arch: "nomic-bert", nLayer: 12, nEmbd: 768, nFf: 3072, nHead: 12, contextLength: 2048, ropeFreqBase: 1000 } as const;
const K_EMBD = new Set(["Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"]); // token_embd Q8_0 (JS K-quantization of 30522 x 768 is slow)

const cases: { label: string; o: BertFixtureOptions }[] = [];
for (const type of TYPES) {
  if (SHAPES.includes("minilm")) {
    cases.push({ label: `bert MiniLM-L6 ${type} mean`, o: { weightType: type } });
    cases.push({ label: `bert MiniLM-L6 ${type} CLS fused-qkv`, o: { weightType: type, pooling: 2, fusedQkv: true } });
  }
  if (SHAPES.includes("nomic"))
    cases.push({
      label: `nomic-bert v1.5 (12 layers) ${type}`,
      o: { ...NOMIC, weightType: type, ...(K_EMBD.has(type) ? { embdType: "Q8_0" } : {}) },
    });
}

for (const c of cases) {
  test(`${c.label}: 1 - cos <= 1e-6 at ${LENGTHS.join("/")} tokens`, async () => {
    const path = await bertFixture(c.o);
    const { numerics } = await llamaVariant();
    const model = await loadModel(path, { threads: 2, numerics: numerics.name });
    try {
      const tok = model.tokenizer;
      let body: number[] = [];
      while (body.length < Math.max(...LENGTHS)) body = body.concat(tok.encode(TEXT, { addSpecial: false }));
      const ids = LENGTHS.map((n) => [...tok.specialPrefix, ...body.slice(0, n - 2), ...tok.specialSuffix]);
      const res = await assertParity(path, model, ids, 1e-6);
      console.log(`# ${c.label} [${model.info.backend}, ${numerics.name}]: ${res.map(fmt).join(", ")}`);
    } finally {
      await model.close();
      await disposeModel(path);
    }
  });
}

for (const type of SHAPES.includes("xlmr") ? TYPES.filter((t) => ["F16", "Q8_0", "Q4_K"].includes(t)) : []) {
  test(`bert + XLM-R unigram vocab, 4 x 1024 ${type}: 1 - cos <= 1e-6 at ${LENGTHS.join("/")} tokens (ids <s> ... </s>)`, async () => {
    const path = await bertFixture({
      vocab: "ugm",
      nLayer: 4,
      nEmbd: 1024,
      nFf: 4096,
      nHead: 16,
      contextLength: 8192,
      normEps: 1e-5,
      weightType: type,
      embdType: "Q8_0",
    });
    await assertUgmParity(path, LENGTHS, (await llamaVariant()).numerics, `bert + UGM 4 x 1024 ${type}`);
  });
}
