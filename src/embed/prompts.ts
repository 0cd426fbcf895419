/**
 * Task prompts: EmbeddingGemma was trained with these prefixes (its model card and the "prompts"
 * of its config_sentence_transformers.json, google/embeddinggemma-300m). They are plain text,
 * prepended to the input, and included in mean pooling. No prompt is added unless a task is given.
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
  throw new EmbedError("BAD_OPTION", `qwen3 models take task "query" or "document", not "${task}"`, { option: "task", value: task, arch: "qwen3" });
}

/** Architectures whose GGUFs were trained with the prompts above. */
const PROMPTED_ARCHS = new Set(["gemma-embedding", "gemma3"]); // gemma3: Ollama's embeddinggemma (a chat gemma3 never loads)

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
  if (arch === "qwen3") return qwen3Prompt(text, task, title);
  if (!PROMPTED_ARCHS.has(arch)) throw new EmbedError("BAD_OPTION", `architecture ${arch} has no task prompts; omit "task"`, { option: "task", arch });
  if (task === "document") return `title: ${title ?? "none"} | text: ${text}`;
  if (title !== undefined) throw new EmbedError("BAD_OPTION", `"title" only applies to task "document", not "${task}"`, { option: "title" });
  return QUERY_PREFIX[task] + text;
}
