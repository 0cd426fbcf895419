/** Lines of a text stream (UTF-8), without their "\n" or "\r\n". */
export async function* readLines(stream: NodeJS.ReadableStream): AsyncGenerator<string> {
  const dec = new TextDecoder("utf-8");
  let buf = "";
  for await (const chunk of stream) {
    buf += typeof chunk === "string" ? chunk : dec.decode(chunk as Uint8Array, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
    }
  }
  buf += dec.decode();
  if (buf.length > 0) yield buf.replace(/\r$/, "");
}
