/**
 * Task prompts, per architecture. EmbeddingGemma was trained with the prefixes below (its model
 * card and the "prompts" of its config_sentence_transformers.json, google/embeddinggemma-300m);
 * nomic-bert with nomic-embed-text's (nomic-ai/nomic-embed-text-v1.5 model card: search_query,
 * search_document, clustering, classification). They are plain text, prepended to the input, and
 * included in pooling. No prompt is added unless a task is given. Per architecture, not per model:
 * another nomic-bert model trained with other prefixes (snowflake-arctic-embed-m-long uses
 * "Represent this sentence for searching relevant passages: " for queries) gets nomic's; pass the
 * prefix in the text and omit `task` for it. docs/architectures/bert.md §Task prefixes.
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

/** Architectures whose GGUFs were trained with the prompts above. */
const PROMPTED_ARCHS = new Set(["gemma-embedding"]);

/** nomic-embed-text's prefixes (nomic-bert), by task; the other tasks have none. */
const NOMIC_PREFIX: Partial<Record<Task, string>> = {
  query: "search_query: ", document: "search_document: ", clustering: "clustering: ", classification: "classification: ",
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
  if (!isTask(task)) throw new EmbedError("BAD_OPTION", `unknown task "${String(task)}"; expected one of ${TASKS.join(", ")}`, { option: "task", value: task });
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
  if (!PROMPTED_ARCHS.has(arch)) throw new EmbedError("BAD_OPTION", `architecture ${arch} has no task prompts; omit "task"`, { option: "task", arch });
  if (task === "document") return `title: ${title ?? "none"} | text: ${text}`;
  if (title !== undefined) throw new EmbedError("BAD_OPTION", `"title" only applies to task "document", not "${task}"`, { option: "title" });
  return QUERY_PREFIX[task] + text;
}
