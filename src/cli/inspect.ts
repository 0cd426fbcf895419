/** `gguf-embed inspect <file> [--json]`: header, metadata, tensor table, totals, architecture summary. */
import { GGUFValueType, type GGUFValue } from "../gguf/keys.js";
import { readGGUFParts, type GGUFModelFile } from "../gguf/split.js";
import { ARCHITECTURES } from "../models/registry.js";
import { openModelFiles } from "../node/fs-source.js";
import { ggmlTypeName } from "../tensor/ggml-type.js";
import type { CliIO } from "./io.js";

const ARRAY_PREVIEW = 8;

function valueToJSON(v: GGUFValue, full: boolean): unknown {
  if (v.type === GGUFValueType.ARRAY) {
    const items = Array.from(v.value as ArrayLike<unknown>, (x) => (typeof x === "bigint" ? x.toString() : x));
    if (full || items.length <= ARRAY_PREVIEW) return items;
    return { type: `${GGUFValueType[v.itemType]}[]`, length: items.length, head: items.slice(0, ARRAY_PREVIEW) };
  }
  return typeof v.value === "bigint" ? v.value.toString() : v.value;
}

function valueToText(v: GGUFValue): string {
  if (v.type === GGUFValueType.ARRAY) {
    const items = Array.from(v.value as ArrayLike<unknown>, (x) => (typeof x === "string" ? JSON.stringify(x) : String(x)));
    const head = items.slice(0, ARRAY_PREVIEW).join(", ");
    return `${GGUFValueType[v.itemType]}[${items.length}] [${head}${items.length > ARRAY_PREVIEW ? ", ..." : ""}]`;
  }
  const s = typeof v.value === "string" ? JSON.stringify(v.value) : String(v.value);
  return s.length > 120 ? `${s.slice(0, 117)}... (${s.length} chars)` : s;
}

export interface InspectSummary {
  files: string[];
  version: number;
  alignment: number;
  nTensors: number;
  nKv: number;
  dataOffset: number;
  architecture?: string;
  parameters: number;
  bytesByType: Record<string, { tensors: number; bytes: number; parameters: number }>;
  dense?: boolean;
  /** bert / nomic-bert: how the encoder is built (docs/architectures/bert.md) */
  bert?: BertSummary;
  warnings: string[];
}

export interface BertSummary {
  qkv: "fused" | "separate";
  qkvBias: boolean;
  position: string;
  ffn: "GELU" | "SwiGLU";
  pooling: string;
  tokenTypes: number;
  tokenizer: string;
}

const POOLING = ["none", "mean", "cls", "last", "rank"];
const TOKENIZER_KIND: Record<string, string> = { bert: " (WordPiece)", t5: " (unigram)" };

/** bert / nomic-bert: QKV layout, position encoding, FFN kind, pooling, token types, tokenizer. */
function bertSummary(f: GGUFModelFile, arch: string): BertSummary {
  const num = (k: string) => {
    const v = f.metadata.get(k);
    return v && typeof v.value === "number" ? v.value : undefined;
  };
  const has = (n: string) => f.tensorByName.has(n);
  const tok = f.metadata.get("tokenizer.ggml.model");
  const pool = num(`${arch}.pooling_type`) ?? 0;
  return {
    qkv: has("blk.0.attn_qkv.weight") ? "fused" : "separate",
    qkvBias: has("blk.0.attn_qkv.bias") || has("blk.0.attn_q.bias"),
    position:
      arch === "nomic-bert"
        ? `NEOX RoPE, base ${num(`${arch}.rope.freq_base`) ?? 10000}`
        : `learned position_embd (${num(`${arch}.context_length`) ?? "?"} positions)`,
    ffn: has("blk.0.ffn_gate.weight") ? "SwiGLU" : "GELU",
    pooling: POOLING[pool] ?? String(pool),
    tokenTypes: num("tokenizer.ggml.token_type_count") ?? 0,
    tokenizer: tok?.type === GGUFValueType.STRING ? `${tok.value}${TOKENIZER_KIND[tok.value] ?? ""}` : "(none)",
  };
}

export function summarize(f: GGUFModelFile): InspectSummary {
  const bytesByType: InspectSummary["bytesByType"] = {};
  let parameters = 0;
  for (const t of f.tensors) {
    const e = (bytesByType[ggmlTypeName(t.type)] ??= { tensors: 0, bytes: 0, parameters: 0 });
    e.tensors++;
    e.bytes += t.nBytes;
    e.parameters += t.nElements;
    parameters += t.nElements;
  }
  const archV = f.metadata.get("general.architecture");
  const architecture = archV?.type === GGUFValueType.STRING ? archV.value : undefined;
  const warnings: string[] = [];
  let dense: boolean | undefined;
  if (architecture === "gemma-embedding") {
    dense = f.tensorByName.has("dense_2.weight") && f.tensorByName.has("dense_3.weight");
    if (!dense) {
      warnings.push(
        `no dense_2/dense_3 projections (${f.tensors.length} tensors): vectors will be mean-pooled hidden states and will differ from sentence-transformers output; re-convert with --sentence-transformers-dense-modules`,
      );
    }
  }
  if (architecture !== undefined && !ARCHITECTURES.has(architecture)) {
    warnings.push(
      `architecture "${architecture}" is not supported (supported: ${[...ARCHITECTURES.keys()].join(", ")}): the file cannot be loaded`,
    );
  } else if (architecture === "gemma3") {
    // models/gemma3.ts: Ollama's embeddinggemma blob declares gemma3 with a pooling type; a chat gemma3 has none
    if (!f.metadata.has("gemma3.pooling_type"))
      warnings.push("gemma3 without gemma3.pooling_type is a chat model, not an embedding model: it cannot be loaded");
    else
      warnings.push(
        "gemma3 with a pooling type: Ollama's layout of EmbeddingGemma, computed as Ollama computes it (docs/architectures/gemma-embedding.md)",
      );
  }
  const bert = architecture === "bert" || architecture === "nomic-bert" ? bertSummary(f, architecture) : undefined;
  if (bert && bert.tokenTypes === 0) {
    warnings.push("tokenizer.ggml.token_type_count is missing or 0: llama.cpp refuses BERT models without it");
  }
  return {
    files: f.parts.map((p) => p.source.name),
    version: f.version,
    alignment: f.alignment,
    nTensors: f.tensors.length,
    nKv: f.metadata.size,
    dataOffset: f.dataOffset,
    architecture,
    parameters,
    bytesByType,
    dense,
    bert,
    warnings,
  };
}

function human(n: number): string {
  const u = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function formatInspect(f: GGUFModelFile): string {
  const s = summarize(f);
  const out: string[] = [];
  out.push(`file: ${s.files.join(", ")}`);
  out.push(`GGUF v${s.version}, ${s.nKv} metadata keys, ${s.nTensors} tensors, alignment ${s.alignment}, data at offset ${s.dataOffset}`);
  out.push("", "metadata:");
  for (const [k, v] of f.metadata) out.push(`  ${k} = ${valueToText(v)}`);
  out.push("", "tensors:");
  const w = Math.max(...f.tensors.map((t) => t.name.length), 4);
  out.push(`  ${"name".padEnd(w)}  ${"type".padEnd(7)}  ${"ne".padEnd(16)}  bytes`);
  for (const t of f.tensors) {
    out.push(
      `  ${t.name.padEnd(w)}  ${ggmlTypeName(t.type).padEnd(7)}  ${`[${t.ne.slice(0, t.nDims).join(", ")}]`.padEnd(16)}  ${t.nBytes}`,
    );
  }
  out.push("", "totals by type:");
  for (const [type, e] of Object.entries(s.bytesByType))
    out.push(`  ${type.padEnd(7)} ${String(e.tensors).padStart(4)} tensors  ${human(e.bytes).padStart(10)}  ${e.parameters} params`);
  out.push(`  parameters: ${s.parameters} (${(s.parameters / 1e6).toFixed(1)} M)`);
  out.push("", `architecture: ${s.architecture ?? "(none)"}`);
  if (s.architecture) {
    const a = s.architecture;
    const g = (k: string) => {
      const v = f.metadata.get(`${a}.${k}`);
      return v ? valueToText(v) : "-";
    };
    out.push(
      `  layers ${g("block_count")}, embedding ${g("embedding_length")}, ffn ${g("feed_forward_length")}, heads ${g("attention.head_count")}/${g("attention.head_count_kv")} (kv), head dim ${g("attention.key_length")}, context ${g("context_length")}, sliding window ${g("attention.sliding_window")}, pooling ${g("pooling_type")}`,
    );
    const b = s.bert;
    if (b) {
      out.push(
        `  encoder: post-LN BERT, ${b.qkv} QKV${b.qkvBias ? " with bias" : ""}, ${b.position}, ${b.ffn} FFN, ` +
          `pooling ${b.pooling}, ${b.tokenTypes} token type(s), tokenizer ${b.tokenizer}`,
      );
    }
    if (s.dense !== undefined)
      out.push(
        `  dense projections: ${s.dense ? `present (dense_2 ${g("dense_2_feat_in")}->${g("dense_2_feat_out")}, dense_3 ${g("dense_3_feat_in")}->${g("dense_3_feat_out")})` : "absent"}`,
      );
  }
  for (const warning of s.warnings) out.push(`warning: ${warning}`);
  return out.join("\n") + "\n";
}

export function inspectJSON(f: GGUFModelFile): unknown {
  return {
    ...summarize(f),
    metadata: Object.fromEntries([...f.metadata].map(([k, v]) => [k, valueToJSON(v, false)])),
    tensors: f.tensors.map((t) => ({
      name: t.name,
      type: ggmlTypeName(t.type),
      ne: t.ne.slice(0, t.nDims),
      offset: t.offset,
      bytes: t.nBytes,
    })),
  };
}

const INSPECT_USAGE = "usage: gguf-embed inspect <file.gguf> [--json]\n";

export async function runInspect(args: string[], io: CliIO): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.stdout.write(INSPECT_USAGE);
    return 0;
  }
  const json = args.includes("--json");
  const files = args.filter((a) => !a.startsWith("--"));
  if (files.length !== 1) {
    io.stderr.write(INSPECT_USAGE);
    return 2;
  }
  const sources = await openModelFiles(files[0]);
  try {
    const f = await readGGUFParts(sources);
    io.stdout.write(json ? JSON.stringify(inspectJSON(f), null, 2) + "\n" : formatInspect(f));
    return 0;
  } finally {
    await Promise.all(sources.map((s) => s.close()));
  }
}
