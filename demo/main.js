// gguf-embed browser demo: pick a GGUF (file or URL), embed sentences in a Web Worker, show a
// cosine-similarity heatmap, and rank documents against a query. Served by scripts/demo-server.ts.
// For tests, the last results are kept on window.demo (vectors as plain number arrays).
import { cosine, TASKS } from "/dist/src/index.js";

const $ = (id) => document.getElementById(id);
const worker = new Worker(new URL("./embed.worker.js", import.meta.url), { type: "module" });
let nextId = 1;
const pending = new Map();

worker.onmessage = (e) => {
  const p = pending.get(e.data.id);
  if (!p) return;
  if (e.data.type === "progress") return p.onProgress?.(e.data.loaded, e.data.total);
  pending.delete(e.data.id);
  if (e.data.type === "error") p.reject(Object.assign(new Error(e.data.message), { code: e.data.code }));
  else p.resolve(e.data);
};
worker.onerror = (e) => setStatus("error", `worker failed: ${e.message}`);

function call(msg, onProgress) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
    worker.postMessage({ ...msg, id });
  });
}

const demo = { state: "empty", info: undefined, tasks: [], last: {}, error: undefined, memoryBytes: undefined };
window.demo = demo;

function setStatus(state, text) {
  demo.state = state;
  $("status").dataset.state = state;
  $("status").textContent = text;
}

const fmtMB = (n) => `${(n / 1e6).toFixed(1)} MB`;

async function load(source, label) {
  for (const b of ["compare", "rank", "load-url"]) $(b).disabled = true;
  const bar = $("load-progress");
  bar.hidden = false;
  bar.value = 0;
  setStatus("loading", `Loading ${label}…`);
  $("info").replaceChildren();
  try {
    const res = await call({ type: "load", source, backend: $("backend").value }, (loaded, total) => {
      bar.value = total ? loaded / total : 0;
      setStatus("loading", `Loading ${label}: ${fmtMB(loaded)} of ${fmtMB(total)}`);
    });
    demo.info = res.info;
    demo.tasks = res.tasks;
    demo.memoryBytes = res.memoryBytes;
    showInfo(res.info, label, res.memoryBytes);
    showTasks(res.tasks);
    setStatus("ready", `Ready: ${label} loaded in ${(res.ms / 1000).toFixed(1)} s.`);
    $("compare").disabled = $("rank").disabled = false;
  } catch (err) {
    demo.error = err.message;
    setStatus("error", `Could not load ${label}: ${err.message}${err.code ? ` [${err.code}]` : ""}`);
  } finally {
    bar.hidden = true;
    $("load-url").disabled = false;
  }
}

function showInfo(info, label, memoryBytes) {
  const rows = [
    ["model", info.name ?? label], ["architecture", info.architecture], ["layers", info.nLayer],
    ["embedding size", `${info.nEmbdOut} (hidden ${info.nEmbd})`], ["context", `${info.contextLength} tokens`],
    ["pooling", `${info.pooling}${info.dense ? " + dense projections" : " (no dense layers)"}`],
    ["weights", Object.entries(info.tensorTypes).map(([t, n]) => `${n}× ${t}`).join(", ")], ["backend", info.backend + (info.simd ? ` (${info.simd} SIMD, ${info.threads} thread${info.threads === 1 ? "" : "s"})` : "")],
  ];
  $("info").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", k), el("dd", String(v))]));
}

/** The task menu offers what the loaded model takes (similarity by default when it has it). */
function showTasks(tasks) {
  const keep = $("task").value;
  $("task").replaceChildren(el("option", "no task prompt"), ...tasks.map((t) => Object.assign(el("option", `task: ${t}`), { value: t })));
  $("task").options[0].value = "";
  $("task").value = tasks.includes(keep) ? keep : tasks.includes("similarity") ? "similarity" : "";
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

const lines = (id) => $(id).value.split("\n").map((s) => s.trim()).filter(Boolean);

async function embed(texts, opts) {
  const res = await call({ type: "embed", texts, opts });
  demo.memoryBytes = res.memoryBytes;
  return { ...res, vectors: res.vectors.map((v) => Array.from(v)) };
}

async function compare() {
  const texts = lines("sentences").slice(0, 16);
  if (texts.length === 0) return;
  const task = $("task").value || undefined;
  $("compare").disabled = true;
  $("embed-status").textContent = `Embedding ${texts.length} sentences…`;
  try {
    const res = await embed(texts, { task });
    const sims = res.vectors.map((a) => res.vectors.map((b) => cosine(a, b)));
    demo.last.similarity = { texts, task, vectors: res.vectors, sims, nTokens: res.nTokens, ms: res.ms };
    drawHeatmap(texts, sims);
    $("embed-status").textContent = `${texts.length} sentences, ${res.nTokens} tokens in ${(res.ms / 1000).toFixed(2)} s (${(res.nTokens / (res.ms / 1000)).toFixed(0)} tokens/s)`;
  } catch (err) {
    $("embed-status").textContent = `Error: ${err.message}`;
  } finally {
    $("compare").disabled = false;
  }
}

async function rank() {
  const query = $("query").value.trim(), docs = lines("docs");
  if (!query || docs.length === 0) return;
  $("rank").disabled = true;
  try {
    // retrieval prompts where the model has them (bert models take none)
    const task = (t) => (demo.tasks.includes(t) ? t : undefined);
    const [q, d] = [await embed([query], { task: task("query") }), await embed(docs, { task: task("document") })];
    const scored = docs.map((text, i) => ({ text, score: cosine(q.vectors[0], d.vectors[i]) })).sort((a, b) => b.score - a.score);
    demo.last.search = { query, docs, queryVector: q.vectors[0], docVectors: d.vectors, ranked: scored };
    const max = Math.max(...scored.map((s) => s.score), 1e-9);
    $("ranks").replaceChildren(...scored.map((s) => {
      const li = el("li");
      li.append(el("span", s.score.toFixed(3), "score"), document.createTextNode(s.text));
      const bar = el("div", undefined, "bar");
      bar.style.width = `${Math.max(2, (100 * Math.max(0, s.score)) / max)}%`;
      li.append(bar);
      return li;
    }));
  } catch (err) {
    $("ranks").replaceChildren(el("li", `Error: ${err.message}`));
  } finally {
    $("rank").disabled = false;
  }
}

/** Cosine-similarity matrix as a heatmap: rows labelled with the sentences, columns numbered. */
function drawHeatmap(texts, sims) {
  const c = $("heatmap"), ctx = c.getContext("2d");
  const n = texts.length, dpr = window.devicePixelRatio || 1;
  const cell = Math.max(34, Math.min(64, Math.floor(560 / n)));
  ctx.font = "13px system-ui, sans-serif";
  const label = (i) => { const t = `${i + 1}. ${texts[i]}`; return t.length > 48 ? t.slice(0, 47) + "…" : t; };
  const left = Math.ceil(Math.max(...texts.map((_, i) => ctx.measureText(label(i)).width))) + 14, top = 24;
  const w = left + n * cell + 90, h = top + n * cell + 8;
  c.width = w * dpr; c.height = h * dpr; c.style.width = `${w}px`; c.style.height = `${h}px`;
  ctx.scale(dpr, dpr);
  ctx.font = "13px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  for (let i = 0; i < n; i++) {
    ctx.fillStyle = "#1d2330"; ctx.textAlign = "right";
    ctx.fillText(label(i), left - 8, top + i * cell + cell / 2);
    ctx.textAlign = "center";
    ctx.fillText(String(i + 1), left + i * cell + cell / 2, top / 2);
    for (let j = 0; j < n; j++) {
      const s = sims[i][j], x = left + j * cell, y = top + i * cell;
      ctx.fillStyle = color(s);
      ctx.fillRect(x, y, cell - 1, cell - 1);
      ctx.fillStyle = s > 0.55 ? "#fff" : "#1d2330";
      ctx.fillText(s.toFixed(2), x + cell / 2, y + cell / 2);
    }
  }
  // Legend: -0.2 .. 1
  const lx = left + n * cell + 24;
  for (let k = 0; k <= 100; k++) { ctx.fillStyle = color(1 - (k / 100) * 1.2); ctx.fillRect(lx, top + (k / 100) * (n * cell - 1), 14, (n * cell) / 100 + 1); }
  ctx.fillStyle = "#667085"; ctx.textAlign = "left";
  ctx.fillText("1.0", lx + 20, top + 6); ctx.fillText("-0.2", lx + 20, top + n * cell - 6);
}

/** White (≤ -0.2) through light blue to deep blue (1.0). */
function color(s) {
  const t = Math.min(1, Math.max(0, (s + 0.2) / 1.2));
  const mix = (a, b) => Math.round(a + (b - a) * t);
  return `rgb(${mix(247, 27)}, ${mix(249, 66)}, ${mix(252, 160)})`;
}

// Wiring
$("isolation").textContent = self.crossOriginIsolated ? "cross-origin isolated: SharedArrayBuffer available (wasm threads)" : "not cross-origin isolated: single-threaded";
showTasks(TASKS);
$("file").addEventListener("change", () => { const f = $("file").files[0]; if (f) void load(f, f.name); });
$("load-url").addEventListener("click", () => {
  const u = $("url").value.trim();
  if (u) void load(new URL(u, location.href).href, u.split("/").pop() || u);
});
$("url").addEventListener("keydown", (e) => { if (e.key === "Enter") $("load-url").click(); });
$("served").addEventListener("change", () => { if ($("served").value) $("url").value = $("served").value; });
$("compare").addEventListener("click", () => void compare());
$("rank").addEventListener("click", () => void rank());

fetch("/models/index.json").then((r) => (r.ok ? r.json() : [])).then((models) => {
  for (const m of models) $("served").append(Object.assign(el("option", `${m.name} (${fmtMB(m.nBytes)})`), { value: m.url }));
  if (models.length > 0 && !$("url").value) $("url").value = $("served").value = models[0].url;
}).catch(() => {});
