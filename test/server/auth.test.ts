/**
 * Issue 15 item 6: an empty or blank API key is a start-up error (it used to match an empty
 * X-Api-Key header: sha256("") is a digest like any other), for startServer and for
 * `gguf-embed serve` (flag or GGUF_EMBED_API_KEY); and `Expect: 100-continue` without a valid key
 * gets its 401 before the client uploads the body (Node used to send 100 Continue at once).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { PassThrough } from "node:stream";
import { runServe } from "../../src/cli/serve.js";
import { EmbedError } from "../../src/errors.js";
import { startServer } from "../../src/server/http.js";
import { vocabModel } from "../helpers/vocab-model.js";

test("startServer refuses an empty or blank API key", async () => {
  const model = await vocabModel();
  for (const apiKey of ["", " ", "\t\n"]) {
    await assert.rejects(
      startServer(model, { port: 0, apiKey }),
      (e: unknown) => e instanceof EmbedError && e.code === "BAD_OPTION" && /empty or blank/.test(e.message),
      JSON.stringify(apiKey),
    );
  }
});

test("gguf-embed serve exits 2 on an empty --api-key or GGUF_EMBED_API_KEY, before loading the model", async () => {
  const run = async (args: string[], env: string | undefined) => {
    const saved = process.env.GGUF_EMBED_API_KEY;
    if (env === undefined) delete process.env.GGUF_EMBED_API_KEY;
    else process.env.GGUF_EMBED_API_KEY = env;
    const err = new PassThrough();
    let text = "";
    err.on("data", (d) => (text += d));
    let loaded = false;
    try {
      const code = await runServe(
        ["--model", "m.gguf", ...args],
        { stdin: new PassThrough(), stdout: new PassThrough(), stderr: err },
        async () => {
          loaded = true;
          throw new Error("the model must not be resolved");
        },
      );
      return { code, text, loaded };
    } finally {
      if (saved === undefined) delete process.env.GGUF_EMBED_API_KEY;
      else process.env.GGUF_EMBED_API_KEY = saved;
    }
  };
  const env = await run([], "");
  assert.deepEqual([env.code, env.loaded], [2, false]);
  assert.match(env.text, /the API key is empty or blank \(GGUF_EMBED_API_KEY\)/);
  const flag = await run(["--api-key", "  "], "real-key");
  assert.deepEqual([flag.code, flag.loaded], [2, false]);
  assert.match(flag.text, /the API key is empty or blank \(--api-key\)/);
});

/** Send `head` (with Expect: 100-continue); returns what arrived within `ms`, and whether the server closed. */
function expectContinue(port: number, head: string, body: string | undefined, ms = 1500): Promise<{ got: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let got = "",
      closed = false;
    s.on("data", (d) => {
      got += d.toString("latin1");
      if (body !== undefined && /^HTTP\/1\.1 100 /.test(got)) {
        s.write(body);
        body = undefined;
      }
    });
    s.on("error", () => {}).on("close", () => (closed = true));
    s.write(head);
    setTimeout(() => {
      s.destroy();
      resolve({ got, closed });
    }, ms);
  });
}

test("Expect: 100-continue without a valid key gets 401 (and no 100 Continue) before the body; with the key, 100 then the answer", async () => {
  const model = await vocabModel();
  const KEY = "k-123";
  const s = await startServer(model, { port: 0, apiKey: KEY });
  try {
    const body = JSON.stringify({ content: "hello" });
    const head = (auth: string) =>
      `POST /tokenize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n${auth}\r\n`;
    for (const auth of ["", "X-Api-Key: \r\n", "Authorization: Bearer wrong\r\n"]) {
      const r = await expectContinue(s.port, head(auth), undefined);
      assert.match(r.got, /^HTTP\/1\.1 401 /, `${JSON.stringify(auth)}: ${r.got.slice(0, 100)}`);
      assert.doesNotMatch(r.got, /100 Continue/);
      assert.match(r.got, /connection: close/i, "the body was never sent: the connection is closed, not reused");
      assert.ok(r.closed, "closed by the server");
    }
    const ok = await expectContinue(s.port, head(`Authorization: Bearer ${KEY}\r\n`), body);
    assert.match(ok.got, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /, ok.got.slice(0, 200));
    assert.match(ok.got, /"tokens":\[/);
    // a 404 is also answered before the body
    const nf = await expectContinue(s.port, head(`Authorization: Bearer ${KEY}\r\n`).replace("/tokenize", "/nope"), undefined);
    assert.match(nf.got, /^HTTP\/1\.1 404 /);
  } finally {
    await s.close();
  }
});
