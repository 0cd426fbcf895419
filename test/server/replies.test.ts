/**
 * Answers produced in pieces (src/server/replies.ts) are byte for byte what JSON.stringify gives
 * for the same value, and each with_pieces piece follows llama-server's rule. References:
 * JSON.stringify, Tokenizer.decode, and TextDecoder({ fatal: true }) (the old rule).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { detokenized, idsJson, isValidUtf8, joined, pieceJson } from "../../src/server/replies.js";
import type { ServedModel } from "../../src/server/context.js";
import { vocabModel } from "../helpers/vocab-model.js";

let model: ServedModel;
before(async () => {
  model = await vocabModel();
});

const all = (g: Iterable<string>) => [...g].join("");
let seed = 11;
const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;

test("joined and idsJson give JSON.stringify's bytes", () => {
  for (const n of [0, 1, 2, 4095, 4096, 4097, 20_000]) {
    const ids = Array.from({ length: n }, () => rnd(262144));
    assert.equal(all(idsJson(ids)), JSON.stringify(ids), `${n} ids`);
    assert.equal(all(idsJson(Int32Array.from(ids))), JSON.stringify(ids), `${n} ids as Int32Array`);
    const items = ids.map((id) => JSON.stringify({ id, s: "x".repeat(id % 50) }));
    assert.equal(all(joined("[", items, "]")), `[${items.join(",")}]`, `${n} items`);
  }
});

test("detokenized gives JSON.stringify({ content: decode(ids, { unparseSpecial: true }) }), UTF-8 split across slices included", () => {
  const tok = model.tokenizer;
  const byte = (b: number) => tok.vocab.tokenToId.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)!;
  const cases: number[][] = [[], [2], Array.from({ length: 9000 }, () => rnd(tok.nVocab))];
  // 🦙 (F0 9F A6 99) as byte tokens straddling the 2048-id slice boundary, and a lone lead byte at the end
  const straddle = Array.from({ length: 2046 }, () => 107);
  straddle.push(byte(0xf0), byte(0x9f), byte(0xa6), byte(0x99), byte(0xe2));
  cases.push(straddle);
  for (const ids of cases) {
    const want = JSON.stringify({ content: tok.decode(ids, { unparseSpecial: true }) });
    assert.equal(all(detokenized(tok, ids)), want, `${ids.length} ids`);
  }
});

test("isValidUtf8 agrees with TextDecoder({ fatal: true }) on every 1- and 2-byte string and 200,000 longer ones", () => {
  const strict = new TextDecoder("utf-8", { fatal: true });
  const ok = (b: Uint8Array) => {
    try {
      strict.decode(b);
      return true;
    } catch {
      return false;
    }
  };
  for (let a = 0; a < 256; a++) {
    assert.equal(isValidUtf8(Uint8Array.of(a)), ok(Uint8Array.of(a)), `${a}`);
    for (let b = 0; b < 256; b++) assert.equal(isValidUtf8(Uint8Array.of(a, b)), ok(Uint8Array.of(a, b)), `${a} ${b}`);
  }
  const interesting = [
    0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5,
    0xff,
  ];
  for (let i = 0; i < 200_000; i++) {
    const b = Uint8Array.from({ length: 3 + rnd(4) }, () => (rnd(2) ? interesting[rnd(interesting.length)] : rnd(256)));
    assert.equal(isValidUtf8(b), ok(b), `${[...b]}`);
  }
});

test("with_pieces: each piece is the string when valid UTF-8, else its byte values (llama-server's rule)", () => {
  const tok = model.tokenizer;
  const strict = new TextDecoder("utf-8", { fatal: true });
  const ids = [
    0,
    1,
    2,
    3,
    106,
    107,
    108,
    ...Array.from({ length: 256 }, (_, b) => tok.vocab.tokenToId.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)!),
    ...Array.from({ length: 3000 }, () => rnd(tok.nVocab)),
  ];
  for (const id of ids) {
    const bytes = tok.tokenToPieceBytes(id, { special: true });
    let piece: string | number[];
    try {
      piece = strict.decode(bytes);
    } catch {
      piece = Array.from(bytes);
    }
    assert.equal(pieceJson(tok, id), JSON.stringify({ id, piece }), `token ${id}`);
  }
});
