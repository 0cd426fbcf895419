/**
 * Task prompts, per architecture. EmbeddingGemma was trained with the prefixes below (its model
 * card and the "prompts" of its config_sentence_transformers.json, google/embeddinggemma-300m);
 * nomic-bert with nomic-embed-text's (nomic-ai/nomic-embed-text-v1.5 model card: search_query,
 * search_document, clustering, classification). They are plain text, prepended to the input, and
 * included in pooling. No prompt is added unless a task is given. Per architecture, not per model:
 * another nomic-bert model trained with other prefixes (snowflake-arctic-embed-m-long uses
 * "Represent this sentence for searching relevant passages: " for queries) gets nomic's; pass the
 * prefix in the text and omit `task` for it. docs/architectures/bert.md §Task prefixes.
 * Qwen3-Embedding (`qwen3`) instructs queries only: `Instruct: {task}\nQuery:{query}` with the
 * model card's default task (Qwen/Qwen3-Embedding-0.6B README get_detailed_instruct and
 * config_sentence_transformers.json); documents are embedded as they are.
 * docs/architectures/qwen3.md "Prompts".
 */
import { EmbedError } from "../errors.js";

export const TASKS = ["query", "document", "qa", "fact-check", "classification", "clustering", "similarity", "code"] as const;
export type Task = (typeof TASKS)[number];

const QUERY_PREFIX: Record<Exclude<Task, "document">, string> = {
  query: "task: search result | query: ",
  qa: "task: question answering | query: ",
  "fact-check": "task: fact checking | query: ",
  classification: "task: classification | query: ",
  clustering: "task: clustering | query: ",
  similarity: "task: sentence similarity | query: ",
  code: "task: code retrieval | query: ",
};

/** Qwen3-Embedding's default task description for queries (its model card). */
export const QWEN3_DEFAULT_TASK = "Given a web search query, retrieve relevant passages that answer the query";

/** Qwen3-Embedding: `task` "query" gets the instruction, "document" none. */
function qwen3Prompt(text: string, task: Task, title?: string): string {
  if (title !== undefined) throw new EmbedError("BAD_OPTION", `"title" does not apply to qwen3 models`, { option: "title" });
  if (task === "document") return text;
  if (task === "query") return `Instruct: ${QWEN3_DEFAULT_TASK}\nQuery:${text}`;
  throw new EmbedError("BAD_OPTION", `qwen3 models take task "query" or "document", not "${task}"`, {
    option: "task",
    value: task,
    arch: "qwen3",
  });
}

/** Architectures whose GGUFs were trained with the prompts above. */
const PROMPTED_ARCHS = new Set(["gemma-embedding", "gemma3"]); // gemma3: Ollama's embeddinggemma (a chat gemma3 never loads)

/** nomic-embed-text's prefixes (nomic-bert), by task; the other tasks have none. */
const NOMIC_PREFIX: Partial<Record<Task, string>> = {
  query: "search_query: ",
  document: "search_document: ",
  clustering: "clustering: ",
  classification: "classification: ",
};

export function isTask(s: string): s is Task {
  return (TASKS as readonly string[]).includes(s);
}

/** The text the model sees for `text` under `task` (documents may carry a title). */
export function applyPrompt(arch: string, text: string, task?: Task, title?: string): string {
  if (task === undefined) {
    if (title !== undefined) throw new EmbedError("BAD_OPTION", `"title" only applies to task "document"`, { option: "title" });
    return text;
  }
  if (!isTask(task))
    throw new EmbedError("BAD_OPTION", `unknown task "${String(task)}"; expected one of ${TASKS.join(", ")}`, {
      option: "task",
      value: task,
    });
  if (arch === "qwen3") return qwen3Prompt(text, task, title);
  if (arch === "nomic-bert") {
    const prefix = NOMIC_PREFIX[task];
    if (prefix === undefined) {
      const has = Object.keys(NOMIC_PREFIX).join(", ");
      const msg = `architecture nomic-bert has no prompt for task "${task}" (it has ${has})`;
      throw new EmbedError("BAD_OPTION", msg, { option: "task", arch });
    }
    if (title !== undefined) throw new EmbedError("BAD_OPTION", `"title" is not used by nomic-bert's prompts`, { option: "title" });
    return prefix + text;
  }
  if (!PROMPTED_ARCHS.has(arch))
    throw new EmbedError("BAD_OPTION", `architecture ${arch} has no task prompts; omit "task"`, { option: "task", arch });
  if (task === "document") return `title: ${title ?? "none"} | text: ${text}`;
  if (title !== undefined)
    throw new EmbedError("BAD_OPTION", `"title" only applies to task "document", not "${task}"`, { option: "title" });
  return QUERY_PREFIX[task] + text;
}
