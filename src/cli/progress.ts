/**
 * Progress on stderr. On a TTY: one line redrawn in place (at most 10 times a second) with a bar,
 * the caller's counters and an ETA. Otherwise (logs, CI): a plain line at most every `intervalMs`
 * (default 5 s), plus a final one.
 */
export interface ProgressOptions {
  /** Force TTY or plain mode (default: the stream's isTTY). */
  tty?: boolean;
  /** Minimum time between plain lines (default 5000 ms). */
  intervalMs?: number;
  now?: () => number;
}

export class Progress {
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly t0: number;
  private f0: number | undefined;
  private last = -Infinity;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly label: string,
    o: ProgressOptions = {},
  ) {
    this.tty = o.tty ?? !!(stream as { isTTY?: boolean }).isTTY;
    this.intervalMs = o.intervalMs ?? 5000;
    this.now = o.now ?? Date.now;
    this.t0 = this.now();
  }

  /** Seconds since the start. */
  get elapsed(): number {
    return (this.now() - this.t0) / 1000;
  }

  /**
   * Report: `fraction` of the whole job done (undefined if unknown) and a detail text such as
   * "120.0/314.0 MB, 12.1 MB/s". The ETA extrapolates the progress made since the first report,
   * so a resumed job's earlier part does not inflate its rate.
   */
  update(fraction: number | undefined, detail: string, force = false): void {
    const t = this.now();
    if (!force && t - this.last < (this.tty ? 100 : this.intervalMs)) return;
    this.last = t;
    if (fraction !== undefined) this.f0 ??= fraction;
    const eta = this.eta(fraction, t);
    if (this.tty) {
      const columns = (this.stream as { columns?: number }).columns;
      const cols = columns && columns > 0 ? columns : 80; // 0 or unknown: assume 80
      const pct = fraction === undefined ? "" : ` ${(fraction * 100).toFixed(0).padStart(3)}%`;
      const tail = `${pct} ${detail}${eta ? `, ETA ${eta}` : ""}`;
      // A fixed-width bar (room kept for ~52 columns of numbers), so it does not jump as the text changes.
      const barWidth = Math.min(24, cols - 1 - this.label.length - 3 - 52);
      const fill = fraction === undefined ? 0 : Math.round(Math.min(1, fraction) * barWidth);
      const bar = barWidth >= 8 ? ` [${"#".repeat(fill)}${"-".repeat(barWidth - fill)}]` : "";
      // Never wider than the terminal, or the line wraps and \r no longer redraws it.
      this.stream.write(`\r\x1b[2K${`${this.label}${bar}${tail}`.slice(0, cols - 1)}`);
      this.drawn = true;
    } else {
      const pct = fraction === undefined ? "" : `${(fraction * 100).toFixed(1)}%, `;
      this.stream.write(`${this.label}: ${pct}${detail}${eta ? `, ETA ${eta}` : ""}\n`);
    }
  }

  /** Final line (always printed). */
  finish(detail: string): void {
    if (this.tty && this.drawn) this.stream.write("\r\x1b[2K");
    this.stream.write(`${this.label}: ${detail}\n`);
  }

  private eta(fraction: number | undefined, t: number): string | undefined {
    if (fraction === undefined || this.f0 === undefined || fraction >= 1) return undefined;
    const df = fraction - this.f0,
      dt = (t - this.t0) / 1000;
    if (df <= 0 || dt < 1) return undefined;
    return formatDuration(((1 - fraction) / df) * dt);
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1000,
    i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  s = Math.round(s);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** A download progress callback for ResolveOptions.onProgress. */
export function downloadProgress(
  stream: NodeJS.WritableStream,
  label: string,
  o: ProgressOptions = {},
): { onProgress: (done: number, total: number | undefined) => void; finish: () => void } {
  const p = new Progress(stream, label, o);
  let first: number | undefined,
    last = 0,
    lastTotal: number | undefined;
  return {
    onProgress(done, total) {
      first ??= done;
      last = done;
      lastTotal = total;
      const rate = p.elapsed > 0 ? (done - first) / p.elapsed : 0;
      p.update(total ? done / total : undefined, `${formatBytes(done)}${total ? `/${formatBytes(total)}` : ""}, ${formatBytes(rate)}/s`);
    },
    finish() {
      const rate = p.elapsed > 0 ? (last - (first ?? 0)) / p.elapsed : 0;
      p.finish(
        `${formatBytes(last)}${lastTotal ? `/${formatBytes(lastTotal)}` : ""} in ${formatDuration(p.elapsed)} (${formatBytes(rate)}/s)`,
      );
    },
  };
}

/**
 * Model-loading progress (LoadOptions.onProgress): on a TTY a bar redrawn in place, then one final
 * line; elsewhere (logs, pipes, quiet) nothing.
 */
export function loadProgress(
  stream: NodeJS.WritableStream,
  o: ProgressOptions & { quiet?: boolean } = {},
): { onProgress?: (loaded: number, total: number) => void; finish: () => void } {
  if (o.quiet || !(o.tty ?? (stream as { isTTY?: boolean }).isTTY)) return { finish: () => {} };
  const p = new Progress(stream, "loading model", { ...o, tty: true });
  let last = 0;
  return {
    onProgress(loaded, total) {
      last = loaded;
      p.update(total > 0 ? loaded / total : undefined, `${formatBytes(loaded)}/${formatBytes(total)}`, loaded === total);
    },
    finish() {
      p.finish(`${formatBytes(last)} in ${formatDuration(p.elapsed)}`);
    },
  };
}
