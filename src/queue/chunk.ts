/**
 * One chunk of a queued job: its input lines -> the JSONL records `embed --input --output` writes
 * for them (src/cli/bulk.ts: same line parsing, same record writer, so the same bytes), except that
 * a poisoned input gives an error record in its place instead of stopping the run:
 *
 *   {"index":7,"error":{"code":"INPUT_TOO_LONG","message":"input line 8: has 2105 tokens, ..."}}
 *
 * Poisoned means anything the input itself causes: invalid JSON (--jsonl), no tokens, too many
 * tokens, a token id outside the vocabulary, a non-finite embedding. Any other failure is thrown,
 * so that BullMQ retries the chunk.
 *
 * A forward pass is synchronous, so the chunk is embedded one pass at a time (inputs packed up to
 * maxBatchTokens, in order, as embedPrepared packs them) with a turn of the event loop in between:
 * BullMQ renews the chunk's lock from a timer, and must get to run. An input's vector does not
 * depend on which other inputs share its pass (sequences are isolated by the attention mask and
 * every matmul row is computed on its own), which test/queue/queue.test.ts checks against a
 * single-process run byte for byte.
 */
import { EmbedError } from "../errors.js";
import { DEFAULT_BATCH_TOKENS, type EmbeddingModel, type EmbedOptions, type PreparedInput } from "../embed/embedder.js";
import { formatRecord, parseLine } from "../cli/bulk.js";

export interface ChunkResult {
  /** The chunk's records, one line per input, in order. */
  text: string;
  nTokens: number;
  /** Inputs that got an error record. */
  nErrors: number;
  /** Time spent in forward passes (ms). */
  embedMs: number;
}

/** The error record of input `index` (0-based over the whole input). */
export function errorRecord(index: number, e: EmbedError): string {
  return `{"index":${index},"error":${JSON.stringify({ code: e.code, message: e.message })}}\n`;
}

/** Rename an error about "input 0" of a one-input call to "input line N" of the whole input. */
function relabel(e: EmbedError, index: number): EmbedError {
  if (/^input line \d+/.test(e.message)) return e;
  return new EmbedError(
    e.code,
    `input line ${index + 1}: ${e.message.replace(/^input \d+:?\s*/, "")}`,
    { ...e.detail, index, line: index + 1 },
    { cause: e },
  );
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Embed the chunk whose first line is input `first`. */
export async function embedChunk(
  model: EmbeddingModel,
  lines: readonly string[],
  first: number,
  jsonl: boolean,
  opts: EmbedOptions,
): Promise<ChunkResult> {
  const records = new Array<string>(lines.length);
  const ok: { i: number; tokens: Int32Array }[] = [];
  let nErrors = 0;
  const fail = (i: number, e: EmbedError) => {
    records[i] = errorRecord(first + i, relabel(e, first + i));
    nErrors++;
  };
  for (let i = 0; i < lines.length; i++) {
    try {
      const [p] = model.prepare([parseLine(lines[i], first + i, jsonl)], opts);
      ok.push({ i, tokens: p.tokens });
    } catch (e) {
      if (!(e instanceof EmbedError)) throw e;
      fail(i, e);
    }
  }
  const budget = Math.max(1, opts.maxBatchTokens ?? DEFAULT_BATCH_TOKENS);
  let nTokens = 0,
    embedMs = 0,
    at = 0;
  while (at < ok.length) {
    const group: typeof ok = [];
    let n = 0;
    while (at < ok.length && (group.length === 0 || n + ok[at].tokens.length <= budget)) {
      n += ok[at].tokens.length;
      group.push(ok[at++]);
    }
    // One pass; an input whose own output is poisoned (NON_FINITE_OUTPUT names it) is taken out
    // and the pass redone without it.
    while (group.length > 0) {
      const prepared: PreparedInput[] = group.map((g, j) => ({ index: j, tokens: g.tokens }));
      const t0 = performance.now();
      try {
        const vecs = await model.embedPrepared(prepared, opts);
        embedMs += performance.now() - t0;
        group.forEach((g, j) => {
          records[g.i] = formatRecord(first + g.i, vecs[j]);
          nTokens += g.tokens.length;
        });
        break;
      } catch (e) {
        embedMs += performance.now() - t0;
        const j = e instanceof EmbedError ? e.detail.index : undefined;
        if (typeof j !== "number" || !group[j]) throw e;
        fail(group[j].i, e as EmbedError);
        group.splice(j, 1);
      }
    }
    await nextTurn();
  }
  return { text: records.join(""), nTokens, nErrors, embedMs };
}
