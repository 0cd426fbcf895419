/** The stderr progress reporter: a redrawn bar on a TTY, throttled plain lines otherwise. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { Progress, downloadProgress, formatBytes, formatDuration } from "../../src/cli/progress.js";

function sink(columns?: number) {
  const s = Object.assign(new PassThrough(), { columns });
  let text = "";
  s.on("data", (d) => (text += d));
  return {
    s,
    get text() {
      return text;
    },
  };
}

test("plain mode: at most one line per interval, ETA from the progress made since the first report", () => {
  let now = 0;
  const out = sink();
  const p = new Progress(out.s, "embed", { tty: false, intervalMs: 5000, now: () => now });
  p.update(0.5, "a"); // a resumed job: half done before this run
  for (now = 1000; now < 10_000; now += 1000) p.update(0.5 + now / 40_000, "b");
  p.finish("done");
  assert.deepEqual(out.text.split("\n"), ["embed: 50.0%, a", "embed: 62.5%, b, ETA 15s", "embed: done", ""]);
});

test("TTY mode: one line redrawn in place with a bar, at most every 100 ms, cleared at the end", () => {
  let now = 0;
  const out = sink(80);
  const p = new Progress(out.s, "download", { tty: true, now: () => now });
  p.update(0, "0 B/10.0 MB");
  now = 50;
  p.update(0.1, "skipped");
  now = 2000;
  p.update(0.25, "2.5 MB/10.0 MB, 1.3 MB/s");
  p.finish("10.0 MB in 8s");
  const frames = out.text.split("\r\x1b[2K");
  assert.equal(frames.length, 4);
  assert.match(frames[1], /^download \[-{16}\] {3}0% 0 B\/10\.0 MB$/);
  assert.match(frames[2], /^download \[#{4}-{12}\] {2}25% 2\.5 MB\/10\.0 MB, 1\.3 MB\/s, ETA 6s$/);
  assert.equal(frames[3], "download: 10.0 MB in 8s\n");
  assert.ok(!out.text.includes("skipped"));
  assert.ok(frames[2].length <= 79);
  // A narrow terminal: no bar, and the line is cut to fit rather than wrap.
  const narrow = sink(30);
  new Progress(narrow.s, "download", { tty: true, now: () => 0 }).update(0.5, "125.0 MB/250.0 MB, 1.3 MB/s");
  assert.equal(narrow.text, "\r\x1b[2Kdownload  50% 125.0 MB/250.0 ", "29 columns");
});

test("downloadProgress reports bytes, rate and ETA; formatting helpers", () => {
  let now = 0;
  const out = sink();
  const d = downloadProgress(out.s, "download", { tty: false, intervalMs: 1000, now: () => now });
  d.onProgress(0, 4_000_000);
  now = 2000;
  d.onProgress(1_000_000, 4_000_000);
  d.finish();
  assert.deepEqual(out.text.split("\n"), [
    "download: 0.0%, 0 B/4.0 MB, 0 B/s",
    "download: 25.0%, 1.0 MB/4.0 MB, 500.0 kB/s, ETA 6s",
    "download: 1.0 MB/4.0 MB in 2s (500.0 kB/s)",
    "",
  ]);
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(314_000_000), "314.0 MB");
  assert.equal(formatDuration(59.6), "1m00s");
  assert.equal(formatDuration(3725), "1h02m");
});
