/**
 * Quantizers: bit-exactness against ggml itself (golden hashes), ggml's own error budgets
 * (tests/test-quantize-fns.cpp), and edge inputs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { EmbedError } from "../../src/errors.js";
import { quantizeRowBF16Act, quantizeRowF16Act, quantizeRowQ8_0, quantizeRowQ8_1, quantizeRowQ8_K } from "../../src/quant/activation.js";
import { cpuTraits, fromFloatFor } from "../../src/kernels/cpu-traits.js";
import { numericsByName } from "../../src/kernels/numerics.js";
import { quantizeRows, quantTraits } from "../../src/quant/index.js";
import type { QuantizeRowFn } from "../../src/quant/types.js";
import { bestIndexIQ4NL } from "../../src/quant/iq4.js";
import { GGMLType, rowBytes } from "../../src/tensor/ggml-type.js";
import { edgeData, gaussData, ggmlTestData, rareData, uniformData } from "../helpers/quant-data.js";

const WEIGHT_TYPES = [
  "F16",
  "BF16",
  "Q4_0",
  "Q4_1",
  "Q5_0",
  "Q5_1",
  "Q8_0",
  "Q2_K",
  "Q3_K",
  "Q4_K",
  "Q5_K",
  "Q6_K",
  "IQ4_NL",
  "IQ4_XS",
] as const;
type WeightType = (typeof WEIGHT_TYPES)[number];
const id = (t: string) => GGMLType[t as keyof typeof GGMLType];
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/**
 * sha256 of ggml's output on the datasets of test/helpers/quant-data.ts, recorded with
 * test/fixtures/gen/ggml-quant-golden.py from the ggml libraries node-llama-cpp 3.22.1 ships
 * (llama.cpp release "v0.5.0", linux-x64): weights via libggml-base ggml_quantize_chunk with no
 * imatrix (= llama-quantize); act_* via libggml-cpu-sapphirerapids quantize_row_q8_0/q8_1/q8_K and
 * ggml_cpu_fp32_to_fp16/bf16 (= what ggml-cpu does to activations before a matmul).
 */
const GOLDEN: Record<string, Record<string, string>> = {
  uniform: {
    F16: "2e57776239ced7db90b20461cd7ef7fd069daef6776dff617278153d1d575df8",
    BF16: "618d44bbb2eaecd6846a51b49117c70f1521bb26cf089465477c3e8a9cc04994",
    Q4_0: "dad316c306ee930c851bc3f60c91d9a7851ae4821081f16ba7fbf18871366196",
    Q4_1: "9fa57077d877c36ed86e9b4a0f869885a9ee90513d7f14ddc17f7a569abedd45",
    Q5_0: "50529421a20a688d505806be01d4044d4d7f7e2f4ea56b2deef393c9c8e684b1",
    Q5_1: "b0abb4b86c9fe56b7e03b53107bc3646f11cd036c7ce74d2fcaa8de7f4513220",
    Q8_0: "8f5c57b4c8b37dd7bd3f572d8bf7a10e10bdcf8686c132b4fd1b3bf8825d9970",
    Q2_K: "d225d78f26ad1f286eb44729c3f28f2b9ba807b652063e96a639b8ae17b8c284",
    Q3_K: "366424cff23fd5700ef39497760607d573e91a56b5e68aaf54af8a98ff02fc27",
    Q4_K: "a28ed367f310fd10f7dbfc47ca0cbdc587263ca4024143f60e89ad7501ac3e08",
    Q5_K: "35b37ab0a6a0cb8b3b24c50a8a7be1934962fcddde8d39684160f5c2c248d0ae",
    Q6_K: "a2ea28fcf8f0de66c8bd6e2467d7e1012c6bcebb3159b6054d62dfb1a2e73948",
    IQ4_NL: "dd4fb39a05f1d827a039047ea1fde3a1cbaf171a4a232c086b2851967da9599b",
    IQ4_XS: "32c3b251c8f8e17e2a9b06c0d5b8e859be75f192d7b3b0e2850096ca456754d9",
    act_Q8_0: "8f5c57b4c8b37dd7bd3f572d8bf7a10e10bdcf8686c132b4fd1b3bf8825d9970",
    act_Q8_1: "bf53d216b0a4a8edfac3c038519c526661ead739bca28f68b856f2d8c612ab57",
    act_Q8_K: "d548c034942c9c6395aee77945598f12f43939a63756a70db9f35ed2097125d9",
    act_F16: "2e57776239ced7db90b20461cd7ef7fd069daef6776dff617278153d1d575df8",
    act_BF16: "618d44bbb2eaecd6846a51b49117c70f1521bb26cf089465477c3e8a9cc04994",
  },
  gauss: {
    F16: "1f253b79ca1374ad8520744ad451ab65d1e7932f618906583e4db7bc6b7394ed",
    BF16: "e72f50c43959c62d711b6ac9d5fd5de895e92629f2f273b60a08e508a5684b77",
    Q4_0: "40b8d29d43d05bd317979268593daa7e800cfc04a8c6fefcba822b5dffe81f4f",
    Q4_1: "2e4d64153fefad23bd5ee5f8bd6984b2b0d652bedc940208f17724895030e58c",
    Q5_0: "0c07c7d8abc46da0c651875b0c175c8041dfba46771ad6c4aaa7d5f573759dd1",
    Q5_1: "4edcf50b824a6538ccdbbe7bcdc8411c3f56dd1513dc738b540475abe2e7d95a",
    Q8_0: "450168c3600caa7157b060a0bf888013c438af21c3ff712b1d534b4485ad81c5",
    Q2_K: "ce370bc583b803b7b5d39ba6357e7763071fb03ac0a3fc0c7fa06f16c84e31d6",
    Q3_K: "7ccbcc3fffefcc89dc624ac34d11d502f7916d1d73af67dac0e7c40af34b4eac",
    Q4_K: "34aaeec031e974a93f323c99645abf7588547269ee88096aa03bdab8bfd2a172",
    Q5_K: "d75341c236aadcdc40fb2c632d52030ec47a9cfa90fda61d6598a566852804c4",
    Q6_K: "a4d6634fef9b6560121b87e536d3970f1eebe077cd6093bce0873afd65d4f85b",
    IQ4_NL: "6341b3ed3860c33847acaeb600d2eb87c42e5fe6ee32fb36081cd72974d6ea6f",
    IQ4_XS: "856e26997c182c167b71c20838f9d01356bbfcd31c7116e9b2888c8571528641",
    act_Q8_0: "450168c3600caa7157b060a0bf888013c438af21c3ff712b1d534b4485ad81c5",
    act_Q8_1: "7382fb60436df05b680cd93e6f855de8bc9e6bdc221a6f66ee605625ac30c328",
    act_Q8_K: "fa9f4beca82c441d05f69c08fbaf21893637c6f298f6c2b03f32994355eae65d",
    act_F16: "1f253b79ca1374ad8520744ad451ab65d1e7932f618906583e4db7bc6b7394ed",
    act_BF16: "e72f50c43959c62d711b6ac9d5fd5de895e92629f2f273b60a08e508a5684b77",
  },
  edge: {
    F16: "23496d74039082764581467edc9f660a08c6d52a05e895e660a3c2aa976d7531",
    BF16: "548179988413453b4276c80d0a676f15dbcb02d754c79e5065a725f272de6ac7",
    Q4_0: "f6b6a23e3997d2639b37504b6f4427963896c67f281887449064ebf7e3852efa",
    Q4_1: "eee43f5fa054390ca96ba92fe3ae08bf7a533b39dcbf8612d3ff54a4219213ad",
    Q5_0: "bd9a6f8977f18f51071e65616c141020097056378d13eebbf3328ba9ea29a79e",
    Q5_1: "872f8599fa69b71b3b5903f70512d1131a408e64f42c401f6519f6afe1466425",
    Q8_0: "15f93d820e9f18f5c072ad454ef738ffeee16baf11316e7c1c24352e30595fbe",
    Q2_K: "90fac5a1988025d7692eb9cb3b0c892de7c8f2fe0bae4f181ea8a07c9e719e68",
    Q3_K: "954444f115ecd15d2b1bd59552cbf6f8d7312738be2224309720a44921b79b1d",
    Q4_K: "fb6a3b8032ab26568e7b1b832f468d563cde8a633737de1a50bf3a6c6490c93e",
    Q5_K: "4a1e88d84ea838053367b905522b1bca4783cae149d14ac84f4870c3202b82e3",
    Q6_K: "89eba23e098f9ceaab3e66132d7dea348789979df3fdb4645549b66afce6fde0",
    IQ4_NL: "e2e2c99ed31639313a0b86ed1c3bf779dfadd975c483b2300f0172936306bf78",
    IQ4_XS: "520de002398d723932eca04cb684fd3f8906897e6ac935ca1d31aa39bcea505f",
    act_Q8_0: "15f93d820e9f18f5c072ad454ef738ffeee16baf11316e7c1c24352e30595fbe",
    act_Q8_1: "0616a90bc26a6f04918c4155d1c2fdca1bf27921a48a74af9f15f0065e4ecde4",
    act_Q8_K: "64c14046bd35b8a1dff9bf5a1977787d18199e25d248b01f7c9d3dd709d2b244",
    act_F16: "23496d74039082764581467edc9f660a08c6d52a05e895e660a3c2aa976d7531",
    act_BF16: "548179988413453b4276c80d0a676f15dbcb02d754c79e5065a725f272de6ac7",
  },
  rare: {
    F16: "5cb7ab367b83f5ba2ffd6ee67958a458ddc8b3fa94fd9a7f4ccdf8c917e50f8c",
    BF16: "20e2ec9c3ab5d02ff0d734c7d4b5d8c28fe6fc9f9a84906a5adc783f85877741",
    Q4_0: "7c1f32b9f6304aa6adc4f3f719e1c9b88201feb6dad0ae197835d53c1a155347",
    Q4_1: "8cf3cc4726b62a3f8a85091e7cd52dc8ef30d11d46bee26930c834e6a2493218",
    Q5_0: "42455c55b8a5124a9863c28c30513d20a2ac2ac9ad01ab7c39c005a17354c5d5",
    Q5_1: "d448ac86ea67f38bb4225fdfe57ed8c5b7d33807353dad60c324001514c3a78e",
    Q8_0: "82192e430f46d94883bb350ec23b75c32ccfa2f0c677a448b74febe114113dbb",
    Q2_K: "999ff3a84b1282417b58f6255b08084f4f25ba28aa75c690135fed8c574e7cf4",
    Q3_K: "6baf9cbe0997198c64ca7b5d1e269e7a816e610523a53802ea6957c077eb97c0",
    Q4_K: "9e247632b936a312a5b246c7cafcbc2c675637f8308b69fa8ba7542c6456b335",
    Q5_K: "0b1b1059e7320baa3baf5793c0d9bdd5c887c01886b021d93ee0e9cbc7020694",
    Q6_K: "ac489289b64d7505f80935243fd87651f244d96e6126b6a5d11b5a12cb654083",
    IQ4_NL: "221dfef04605d4a9a1a80c7ab418961870bdd028a98aef869da7840f408a7e56",
    IQ4_XS: "321822664b98729d1f99014e65bb3abe99f4a6d6cb806ec6583e8be41e050f83",
    act_Q8_0: "82192e430f46d94883bb350ec23b75c32ccfa2f0c677a448b74febe114113dbb",
    act_Q8_1: "45cf606a632ae58ebe91f2f981afeb245f77cd66c0131fa83531e54f92809d5f",
    act_Q8_K: "113c58a4685c1e7c8203926940190f2516bbc2b858f571f18765a9ec01072089",
    act_F16: "5cb7ab367b83f5ba2ffd6ee67958a458ddc8b3fa94fd9a7f4ccdf8c917e50f8c",
    act_BF16: "20e2ec9c3ab5d02ff0d734c7d4b5d8c28fe6fc9f9a84906a5adc783f85877741",
  },
};
const DATASETS: Array<[string, Float32Array, number]> = [
  ["uniform", uniformData(8192, 1), 1024],
  ["gauss", gaussData(8192, 2), 1024],
  ["edge", edgeData(3), 256],
  ["rare", rareData(), 256],
];

test("weight quantizers are bit-exact with ggml_quantize_chunk (llama-quantize, no imatrix)", () => {
  for (const [name, x, ne0] of DATASETS) {
    for (const t of WEIGHT_TYPES) {
      assert.equal(sha256(quantizeRows(id(t), x, ne0)), GOLDEN[name]![t], `${t} on ${name}`);
    }
  }
});

test("activation conversions are bit-exact with ggml-cpu's x86 from_float", () => {
  const acts: Array<[string, QuantizeRowFn, GGMLType]> = [
    ["act_Q8_0", quantizeRowQ8_0, GGMLType.Q8_0],
    ["act_Q8_1", quantizeRowQ8_1, GGMLType.Q8_1],
    ["act_Q8_K", quantizeRowQ8_K, GGMLType.Q8_K],
    ["act_F16", quantizeRowF16Act, GGMLType.F16],
    ["act_BF16", quantizeRowBF16Act, GGMLType.BF16],
  ];
  for (const [name, x] of DATASETS) {
    for (const [key, fn, type] of acts) {
      const out = new Uint8Array(rowBytes(type, x.length));
      fn(x, 0, out, 0, x.length);
      assert.equal(sha256(out), GOLDEN[name]![key], `${key} on ${name}`);
    }
  }
});

// ggml tests/test-quantize-fns.cpp: MAX_QUANTIZATION_TOTAL_ERROR(_2BITS/_3BITS), MAX_DOT_PRODUCT_ERROR(_LOWBIT)
const MAX_TOTAL_ERROR: Record<WeightType, number> = {
  F16: 0.002,
  BF16: 0.002,
  Q4_0: 0.002,
  Q4_1: 0.002,
  Q5_0: 0.002,
  Q5_1: 0.002,
  Q8_0: 0.002,
  Q2_K: 0.0075,
  Q3_K: 0.004,
  Q4_K: 0.002,
  Q5_K: 0.002,
  Q6_K: 0.002,
  IQ4_NL: 0.002,
  IQ4_XS: 0.002,
};
const maxDotError = (t: WeightType) => (t === "Q2_K" ? 0.04 : 0.02);

test("round trip and dot product within ggml's test-quantize-fns budgets", () => {
  const n = 32 * 128; // ggml's test_size
  const data = ggmlTestData(n, 0),
    data2 = ggmlTestData(n, 1);
  let ref = 0;
  for (let i = 0; i < n; i++) ref += data[i]! * data2[i]!;
  for (const t of WEIGHT_TYPES) {
    const tr = quantTraits(id(t));
    const q = quantizeRows(id(t), data, n);
    assert.equal(q.length, rowBytes(id(t), n));
    const y = new Float32Array(n);
    tr.dequantizeRow(q, 0, y, 0, n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += (data[i]! - y[i]!) ** 2;
    const totalError = Math.sqrt(sum) / n; // ggml's array_rmse: sqrt(Σd²)/n
    assert.ok(totalError < MAX_TOTAL_ERROR[t], `${t} total error ${totalError}`);
    const ct = cpuTraits(id(t), numericsByName("avx512"));
    const a = new Uint8Array(rowBytes(ct.vecDotType, n));
    fromFloatFor(ct.vecDotType)(data2, 0, a, 0, n);
    const dotError = Math.abs(ct.vecDot!(n, q, 0, a, 0) - ref) / n;
    assert.ok(dotError < maxDotError(t), `${t} dot product error ${dotError}`);
  }
});

test("relative RMSE on bell-shaped data stays in each type's expected band", () => {
  // Bands are ~1.3x what ggml itself achieves here (the golden test pins exact equality).
  const band: Record<WeightType, number> = {
    F16: 3e-4,
    BF16: 2.5e-3,
    Q8_0: 7e-3,
    Q6_K: 0.025,
    Q5_0: 0.055,
    Q5_1: 0.05,
    Q5_K: 0.045,
    Q4_0: 0.11,
    Q4_1: 0.1,
    Q4_K: 0.09,
    IQ4_NL: 0.1,
    IQ4_XS: 0.1,
    Q3_K: 0.2,
    Q2_K: 0.37,
  };
  const x = gaussData(8192, 11);
  for (const t of WEIGHT_TYPES) {
    const y = new Float32Array(x.length);
    quantTraits(id(t)).dequantizeRow(quantizeRows(id(t), x, 1024), 0, y, 0, x.length);
    let se = 0,
      sx = 0;
    for (let i = 0; i < x.length; i++) {
      se += (x[i]! - y[i]!) ** 2;
      sx += x[i]! ** 2;
    }
    const rel = Math.sqrt(se / sx);
    assert.ok(rel < band[t], `${t} relative RMSE ${rel}`);
    assert.ok(rel > band[t] / 10, `${t} relative RMSE ${rel} suspiciously small`);
  }
});

test("all-zero and constant rows quantize to valid blocks that decode exactly", () => {
  for (const t of WEIGHT_TYPES) {
    const tr = quantTraits(id(t));
    for (const v of [0, 1.5, -0.25]) {
      const x = new Float32Array(512).fill(v);
      const y = new Float32Array(512);
      tr.dequantizeRow(quantizeRows(id(t), x, 512), 0, y, 0, 512);
      for (let i = 0; i < 512; i++) {
        assert.ok(Number.isFinite(y[i]!), `${t} const ${v}: element ${i} = ${y[i]}`);
        if (v === 0) assert.equal(y[i]! + 0, 0, `${t} zeros`);
        else assert.ok(Math.abs(y[i]! - v) <= Math.abs(v) * 0.1, `${t} const ${v}: element ${i} = ${y[i]}`);
      }
    }
  }
});

test("quantizers honour offsets and leave neighbouring bytes alone", () => {
  const x = gaussData(1024 + 256, 5);
  for (const t of WEIGHT_TYPES) {
    const tr = quantTraits(id(t));
    const rb = rowBytes(id(t), 256);
    const whole = quantizeRows(id(t), x.subarray(256, 512), 256);
    const dst = new Uint8Array(rb + 10).fill(0xee);
    tr.quantizeRow!(x, 256, dst, 5, 256);
    assert.deepEqual(dst.subarray(5, 5 + rb), whole, t);
    assert.ok(dst.subarray(0, 5).every((b) => b === 0xee) && dst.subarray(5 + rb).every((b) => b === 0xee), `${t} wrote outside its row`);
  }
});

test("quantizeRows rejects partial rows and blocks", () => {
  assert.throws(
    () => quantizeRows(GGMLType.Q4_K, new Float32Array(300), 300),
    (e: unknown) => e instanceof EmbedError && e.code === "TENSOR_SHAPE",
  );
  assert.throws(
    () => quantizeRows(GGMLType.Q8_0, new Float32Array(100), 64),
    (e: unknown) => e instanceof EmbedError && e.code === "TENSOR_SHAPE",
  );
  assert.throws(
    () => quantizeRows(GGMLType.IQ2_XXS, new Float32Array(256), 256),
    (e: unknown) => e instanceof EmbedError && e.code === "UNSUPPORTED_TYPE",
  );
});

test("IQ4 level search (best_index_int8): nearest kvalue, exact midpoints go to the upper level", () => {
  const K = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];
  assert.equal(bestIndexIQ4NL(-1000), 0);
  assert.equal(bestIndexIQ4NL(1000), 15);
  for (let j = 1; j < 16; j++) {
    const mid = (K[j - 1]! + K[j]!) / 2;
    assert.equal(bestIndexIQ4NL(mid), j, `midpoint ${mid}`);
    assert.equal(bestIndexIQ4NL(Math.fround(mid - 2 ** -10)), j - 1, `just below ${mid}`);
    assert.equal(bestIndexIQ4NL(K[j]!), j);
  }
});
