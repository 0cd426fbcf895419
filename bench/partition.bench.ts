/**
 * Special-token partition cost on hostile text: Gemma 3's 6,414 CONTROL/USER_DEFINED texts back to
 * back in random order (parse_special on), at growing sizes, for the linear partition
 * (src/tokenizer/partition.ts) and the previous one (test/tokenizer/partition-reference.ts, up to
 * 128 KB: it is quadratic). Also the whole encode() on the same text and on plain text (the mixed
 * corpus). CPU milliseconds, least of 3 runs.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/partition.bench.js
 */
import { readFileSync } from "node:fs";
import { gemma3VocabFixture } from "../scripts/gen/gemma3-vocab.js";
import { FileSource } from "../src/node/fs-source.js";
import { toByteString } from "../src/tokenizer/bytes.js";
import { loadTokenizer } from "../src/tokenizer/index.js";
import { partition } from "../src/tokenizer/partition.js";
import { partitionReference } from "../test/tokenizer/partition-reference.js";

const src = await FileSource.open(await gemma3VocabFixture("converter"));
const tok = await loadTokenizer(src);
await src.close();
const cands = Array.from(tok.vocab.specialCandidates, (id) => tok.vocab.tokens[id]);
let seed = 1;
const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const parts: string[] = [];
for (let len = 0; len < 4 << 20; ) {
  const p = cands[Math.floor(rnd() * cands.length)];
  parts.push(p);
  len += p.length;
}
const special = parts.join("");
const plain = readFileSync(new URL("../../test/fixtures/tokenizer-corpus.jsonl", import.meta.url), "utf8")
  .trim()
  .split("\n")
  .map((l) => (JSON.parse(l) as { text: string }).text)
  .join("\n")
  .slice(0, 1 << 20);

function cpu(fn: () => unknown): number {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000);
  }
  return best;
}

console.log(`node ${process.version}; Gemma 3 vocab, ${cands.length} candidates; CPU ms, least of 3`);
console.log("size     partition  encode()  previous partition");
for (const kb of [32, 64, 128, 256, 512, 1024, 2048, 4096]) {
  const text = special.slice(0, kb << 10);
  const s = toByteString(text);
  const ours = cpu(() => partition(tok.vocab, s, true));
  const enc = cpu(() => tok.encode(text));
  const prev = kb <= 128 ? cpu(() => partitionReference(tok.vocab, s, true)).toFixed(1) : "-";
  console.log(`${`${kb} KB`.padEnd(9)}${ours.toFixed(1).padStart(9)}${enc.toFixed(1).padStart(10)}  ${prev.padStart(10)}`);
}
console.log(`plain text (corpus), 1 MB: encode() ${cpu(() => tok.encode(plain)).toFixed(1)} ms`);
