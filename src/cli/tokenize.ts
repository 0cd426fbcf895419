/**
 * `gguf-embed tokenize --model <gguf> [--jsonl] [--no-add-special] [--no-parse-special] [--pieces] [--task T] [text...]`
 * One output line per input: the JSON array of token ids, by default BOS + text (special tokens
 * such as <start_of_turn> parsed) + EOS, as llama-embedding and llama-server tokenize; with --task
 * the task prompt is prepended first, so the ids are those `embed --task T` embeds. Only the GGUF
 * metadata is read, so a vocab-only file works.
 */
import { parseArgs } from "node:util";
import { applyPrompt, isTask, TASKS, type Task } from "../embed/prompts.js";
import { readGGUF } from "../gguf/reader.js";
import { FileSource } from "../node/fs-source.js";
import { createTokenizer, LlamaTokenAttr, type Tokenizer } from "../tokenizer/index.js";
import type { CliIO } from "./io.js";
import { stdinInputs } from "./lines.js";

export const TOKENIZE_USAGE = `usage: gguf-embed tokenize --model <file.gguf> [options] [text...]
  --jsonl              stdin lines are JSON strings (so texts may hold newlines)
  --no-add-special     no BOS/EOS
  --no-parse-special   treat control-token texts such as <start_of_turn> as plain text
  --pieces             print [id, piece] pairs instead of ids (byte tokens show as <0xXX>)
  --task T             prepend the task prompt, as embed --task does: ${TASKS.join(" | ")}
  --title S            document title (with --task document)
Texts come from the arguments, or from stdin one per line. Output: one JSON array per input and line.
`;

export async function runTokenize(args: string[], io: CliIO): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        model: { type: "string", short: "m" },
        jsonl: { type: "boolean" },
        "no-add-special": { type: "boolean" },
        "no-parse-special": { type: "boolean" },
        pieces: { type: "boolean" },
        task: { type: "string" },
        title: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    io.stderr.write(`gguf-embed tokenize: ${(e as Error).message}\n${TOKENIZE_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(TOKENIZE_USAGE);
    return 0;
  }
  if (!values.model) {
    io.stderr.write(`gguf-embed tokenize: --model <file.gguf> is required\n${TOKENIZE_USAGE}`);
    return 2;
  }
  if (values.jsonl && positionals.length > 0) {
    io.stderr.write(`gguf-embed tokenize: --jsonl reads stdin; do not also pass texts as arguments\n${TOKENIZE_USAGE}`);
    return 2;
  }

  if (values.task !== undefined && !isTask(values.task)) {
    io.stderr.write(`gguf-embed tokenize: --task must be one of ${TASKS.join(", ")}, got "${values.task}"\n${TOKENIZE_USAGE}`);
    return 2;
  }
  const source = await FileSource.open(values.model);
  let tokenizer: Tokenizer;
  let arch: string;
  try {
    const { metadata } = await readGGUF(source);
    tokenizer = createTokenizer(metadata);
    const a = metadata.get("general.architecture");
    arch = a?.type === 8 ? String(a.value) : "";
  } finally {
    await source.close();
  }
  const task = values.task as Task | undefined;
  const opts = { addSpecial: !values["no-add-special"], parseSpecial: !values["no-parse-special"] };
  const show = (raw: string) => {
    const text = task !== undefined || values.title !== undefined ? applyPrompt(arch, raw, task, values.title) : raw;
    const ids = tokenizer.encode(text, opts);
    io.stdout.write(JSON.stringify(values.pieces ? ids.map((id) => [id, piece(tokenizer, id)]) : ids) + "\n");
  };

  if (positionals.length > 0) {
    for (const text of positionals) show(text);
    return 0;
  }
  for await (const text of stdinInputs(io.stdin, { jsonl: !!values.jsonl, ids: false })) show(text as string);
  return 0;
}

/** The token's text with special tokens rendered; a byte token shows its own text (its raw byte alone is rarely valid UTF-8). */
function piece(tokenizer: Tokenizer, id: number): string {
  return tokenizer.vocab.attrs[id] & LlamaTokenAttr.BYTE ? tokenizer.vocab.tokens[id] : tokenizer.tokenToPiece(id, { special: true });
}
