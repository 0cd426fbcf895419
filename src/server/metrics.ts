/**
 * Prometheus text exposition (format 0.0.4) for GET /metrics: requests by route, method and status,
 * a request latency histogram per route, tokens and inputs embedded, forward calls, queue depth and
 * requests in flight. Names follow Prometheus conventions (`_total` counters, `_seconds` units).
 * ref: https://prometheus.io/docs/instrumenting/exposition_formats/
 */

const PREFIX = "gguf_embed";
/** Seconds. The JS path takes from milliseconds (a short query) to minutes (a full 2048-token batch). */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

interface Histogram {
  counts: number[]; // per bucket, not cumulative; the last slot is +Inf
  sum: number;
  count: number;
}

export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  tokens = 0;
  inputs = 0;
  batches = 0;
  inFlight = 0;
  /** Responses cut because the client read nothing for sendTimeoutMs (send.ts). */
  sendTimeouts = 0;

  /** One finished request. `route` must come from the route table (or "other"), to bound label values. */
  observe(route: string, method: string, status: number, seconds: number): void {
    const key = `route="${route}",method="${method}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.latency.get(route);
    if (!h) this.latency.set(route, (h = { counts: new Array(LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 }));
    const b = LATENCY_BUCKETS.findIndex((le) => seconds <= le);
    h.counts[b < 0 ? LATENCY_BUCKETS.length : b]++;
    h.sum += seconds;
    h.count++;
  }

  /** One forward call of the queue. */
  batch(inputs: number, tokens: number): void {
    this.batches++;
    this.inputs += inputs;
    this.tokens += tokens;
  }

  render(queueDepth: number): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) =>
      out.push(`# HELP ${PREFIX}_${name} ${help}`, `# TYPE ${PREFIX}_${name} ${type}`);
    family("requests_total", "counter", "HTTP requests answered, by route, method and status (499: the client went away first).");
    for (const [labels, n] of this.requests) out.push(`${PREFIX}_requests_total{${labels}} ${n}`);
    family("request_duration_seconds", "histogram", "Time from receiving a request to sending its response.");
    for (const [route, h] of this.latency) {
      let cum = 0;
      LATENCY_BUCKETS.forEach((le, i) =>
        out.push(`${PREFIX}_request_duration_seconds_bucket{route="${route}",le="${le}"} ${(cum += h.counts[i])}`),
      );
      out.push(`${PREFIX}_request_duration_seconds_bucket{route="${route}",le="+Inf"} ${h.count}`);
      out.push(`${PREFIX}_request_duration_seconds_sum{route="${route}"} ${h.sum}`);
      out.push(`${PREFIX}_request_duration_seconds_count{route="${route}"} ${h.count}`);
    }
    family("tokens_total", "counter", "Tokens embedded (prompt tokens, BOS/EOS included).");
    out.push(`${PREFIX}_tokens_total ${this.tokens}`);
    family("inputs_total", "counter", "Inputs (texts or token arrays) embedded.");
    out.push(`${PREFIX}_inputs_total ${this.inputs}`);
    family("batches_total", "counter", "Forward calls; concurrent requests share them.");
    out.push(`${PREFIX}_batches_total ${this.batches}`);
    family("queue_depth", "gauge", "Requests waiting for their embeddings to be computed.");
    out.push(`${PREFIX}_queue_depth ${queueDepth}`);
    family("send_timeouts_total", "counter", "Responses cut because the client stopped reading them (status 499 in requests_total).");
    out.push(`${PREFIX}_send_timeouts_total ${this.sendTimeouts}`);
    family("requests_in_flight", "gauge", "Requests received and not yet answered (this scrape included).");
    out.push(`${PREFIX}_requests_in_flight ${this.inFlight}`);
    return out.join("\n") + "\n";
  }
}
