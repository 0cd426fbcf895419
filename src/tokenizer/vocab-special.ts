/**
 * Special-token detection of `llama_vocab::impl::load`, after the ids are read from the GGUF keys:
 * EOT/EOM/FIM ids found by token text (each forced to CONTROL), the UNUSED mark on CONTROL tokens
 * named "unused", the EOG set and its model-specific exceptions, and the per-model LSTRIP/RSTRIP
 * attributes ("Handle per token attributes"). The text lists are those of the llama.cpp version
 * node-llama-cpp ships (they change between versions). ref: llama.cpp src/llama-vocab.cpp
 * llama_vocab::impl::load.
 */
import { EmbedError } from "../errors.js";
import { toByteString } from "./bytes.js";
import { LlamaTokenAttr, TOKEN_NULL, type SpecialIds } from "./vocab-types.js";

/** Ids found by token text when their key is absent; each match is forced to CONTROL. */
const BY_TEXT: [keyof SpecialIds, string[]][] = [
  [
    "eot",
    [
      "<|eot_id|>",
      "<|im_end|>",
      "<|end|>",
      "<end_of_turn>",
      "<|endoftext|>",
      "<|end_of_text|>",
      "<EOT>",
      "_<EOT>",
      "[EOT]",
      "<｜end▁of▁sentence｜>",
      "<end_of_utterance>",
    ],
  ],
  ["eom", ["<|eom_id|>"]],
  ["fimPre", ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"]],
  ["fimSuf", ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"]],
  ["fimMid", ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"]],
  ["fimPad", ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]],
  ["fimRep", ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]],
  ["fimSep", ["<|file_sep|>"]],
];

/**
 * Texts that end generation; also forced to CONTROL. "</s>" (added for paddleocr) matters for Gemma 3:
 * its HTML strike-through tag "</s>" (id 212, USER_DEFINED) becomes CONTROL, so unlike the other HTML
 * tags it is not cut out when parse_special is false. The llama.cpp in node-llama-cpp 3.22.1 logs
 * exactly that override.
 */
const EOG_TEXTS = [
  "<|eot_id|>",
  "<|im_end|>",
  "<|end|>",
  "<|return|>",
  "<|call|>",
  "<|flush|>",
  "<|calls|>",
  "<end_of_turn>",
  "<|endoftext|>",
  "</s>",
  "<|eom_id|>",
  "<EOT>",
  "_<EOT>",
  "[EOT]",
  "[EOS]",
  "<|end_of_text|>",
  "<end_of_utterance>",
  "<eos>",
  "<turn|>",
  "<|tool_response>",
  "<｜end▁of▁sentence｜>",
  "[e~[",
];

/** What detectSpecialTokens reads and updates. */
export interface SpecialState {
  tokens: readonly string[];
  tokenToId: ReadonlyMap<string, number>;
  attrs: Uint16Array;
  special: SpecialIds;
  warnings: string[];
}

/** By-text detection, UNUSED marks and the EOG set (in load()'s order); returns the EOG ids. */
export function detectSpecialTokens(v: SpecialState): Set<number> {
  const { tokens, attrs, special } = v;
  const n = tokens.length;
  // llama.cpp walks an unordered_map, so which id wins when several texts of one list are present
  // is unspecified there; we take the lowest id.
  const idOf = (text: string) => v.tokenToId.get(toByteString(text));
  const forceControl = (id: number) => {
    if (attrs[id] & LlamaTokenAttr.CONTROL) return;
    v.warnings.push(`control-looking token: ${id} '${tokens[id]}' was not control-type; its type is overridden`);
    attrs[id] |= LlamaTokenAttr.CONTROL;
  };
  for (const [field, list] of BY_TEXT) {
    if (special[field] !== TOKEN_NULL) continue;
    const found = list.map(idOf).filter((id): id is number => id !== undefined);
    if (found.length === 0) continue;
    special[field] = Math.min(...found);
    forceControl(special[field]);
  }
  // CONTROL tokens with "unused" in their text are marked UNUSED too (no effect on (de)tokenizing).
  for (let i = 0; i < n; i++) if (attrs[i] & LlamaTokenAttr.CONTROL && tokens[i].includes("unused")) attrs[i] |= LlamaTokenAttr.UNUSED;
  const eog = new Set<number>();
  for (const id of [special.fimPad, special.fimRep, special.fimSep]) if (id !== TOKEN_NULL) eog.add(id);
  for (const t of EOG_TEXTS) {
    const id = idOf(t);
    if (id === undefined) continue;
    eog.add(id);
    forceControl(id);
  }
  // gpt-oss hack: these are always rendered (USER_DEFINED), whatever the model.
  for (const t of ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]) {
    const id = idOf(t);
    if (id !== undefined) attrs[id] = LlamaTokenAttr.USER_DEFINED;
  }
  for (const id of [special.eos, special.eot, special.eom]) if (id !== TOKEN_NULL) eog.add(id);
  const eogText = (t: string) => [...eog].find((id) => tokens[id] === t);
  const hasEog = (...ts: string[]) => ts.some((t) => eogText(t) !== undefined);
  // o200k_harmony / solar-open: <|end|> is not EOG there and becomes USER_DEFINED.
  const endId = eogText("<|end|>");
  if (endId !== undefined && hasEog("<|call|>", "<|calls|>") && hasEog("<|return|>", "<|flush|>")) {
    eog.delete(endId);
    attrs[endId] = LlamaTokenAttr.USER_DEFINED;
  }
  // gemma4: with <|tool_response> present, "</s>" is not EOG and becomes NORMAL.
  const sId = eogText("</s>");
  if (sId !== undefined && hasEog("<|tool_response>")) {
    eog.delete(sId);
    attrs[sId] = LlamaTokenAttr.NORMAL;
  }
  return eog;
}

/**
 * LSTRIP/RSTRIP set by model name, tokenizer.ggml.pre or architecture, after the special-token cache
 * is built ("Handle per token attributes"); none apply to Gemma or BERT-bge.
 */
export function setPerModelAttrs(v: SpecialState, names: { name: string; pre: string; arch: string }, cand: Int32Array): void {
  const name = names.name.toLowerCase();
  const set = (text: string, attr: LlamaTokenAttr, on: boolean, required: boolean) => {
    const id = v.tokenToId.get(toByteString(text));
    if (id === undefined) {
      if (required) {
        const message = `token ${JSON.stringify(text)} is missing from "tokenizer.ggml.tokens" (llama.cpp needs it for this model)`;
        throw new EmbedError("BAD_VOCAB", message, { key: "tokenizer.ggml.tokens", token: text });
      }
      v.warnings.push(`${text} token is missing in vocab, please reconvert model!`);
      return;
    }
    v.attrs[id] = on ? v.attrs[id] | attr : v.attrs[id] & ~attr;
  };
  const jina = ["jina-v2-de", "jina-v2-es", "jina-v2-code"].some((s) => names.pre.includes(s));
  if (jina || ["nomic-bert-moe", "jina-bert-v3"].some((s) => names.arch.includes(s))) {
    set("<mask>", LlamaTokenAttr.LSTRIP, true, false);
  } else if (name.includes("phi-3") || name.includes("phi3")) {
    for (const id of cand) v.attrs[id] |= LlamaTokenAttr.RSTRIP;
    set("</s>", LlamaTokenAttr.RSTRIP, true, true);
    for (const t of ["<unk>", "<s>", "<|endoftext|>"]) set(t, LlamaTokenAttr.RSTRIP, false, true);
  } else if (name.includes("modern-bert")) {
    set("[MASK]", LlamaTokenAttr.LSTRIP, true, false);
  }
}
