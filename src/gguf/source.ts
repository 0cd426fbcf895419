/**
 * Where GGUF bytes come from. The parser only ever asks for byte ranges, so a 330 MB file is never
 * read whole just to list its tensors (huggingface.js RangeView idea). This file is browser-safe:
 * ArrayBuffer, Blob/File and HTTP Range sources. The Node file-handle source lives in ../node/.
 */
import { EmbedError } from "../errors.js";

export interface ByteSource {
  /** Human-readable origin (path, URL, "ArrayBuffer") for error messages. */
  readonly name: string;
  /** Total size in bytes. */
  readonly nBytes: number;
  /** Exactly `nBytes` bytes starting at `byteOffset`; rejects (GGUF_TRUNCATED) past the end. */
  read(byteOffset: number, nBytes: number): Promise<Uint8Array>;
  /**
   * Optional: fill `dest` with the dest.length bytes at `byteOffset`, with no intermediate buffer
   * (loading a model reads each tensor straight into its final storage this way).
   */
  readInto?(byteOffset: number, dest: Uint8Array): Promise<void>;
  close?(): Promise<void>;
}

export function checkRange(src: ByteSource, byteOffset: number, nBytes: number): void {
  if (
    !Number.isSafeInteger(byteOffset) ||
    !Number.isSafeInteger(nBytes) ||
    byteOffset < 0 ||
    nBytes < 0 ||
    byteOffset + nBytes > src.nBytes
  ) {
    throw new EmbedError(
      "GGUF_TRUNCATED",
      `${src.name}: read of ${nBytes} bytes at offset ${byteOffset} is past the end of the data (${src.nBytes} bytes)`,
      { source: src.name, byteOffset, nBytes, size: src.nBytes },
    );
  }
}

/**
 * src.read(), held to the ByteSource contract: exactly the bytes asked for. A source that returns
 * fewer (a short HTTP body, a file that shrank, a buggy adapter) must not surface as a RangeError
 * from a DataView, or as zero-filled weights; one that returns more, or fails with something other
 * than an EmbedError (a fetch TypeError, an fs EIO), is reported as IO_ERROR with the cause.
 */
export async function readExactly(src: ByteSource, byteOffset: number, nBytes: number): Promise<Uint8Array> {
  let b: unknown;
  try {
    b = await src.read(byteOffset, nBytes);
  } catch (e) {
    if (e instanceof EmbedError) throw e;
    throw new EmbedError(
      "IO_ERROR",
      `${src.name}: read of ${nBytes} bytes at offset ${byteOffset} failed: ${e instanceof Error ? e.message : String(e)}`,
      { offset: byteOffset, nBytes },
      { cause: e },
    );
  }
  if (!(b instanceof Uint8Array))
    throw new EmbedError("IO_ERROR", `${src.name}: read at offset ${byteOffset} did not return bytes`, { offset: byteOffset, nBytes });
  if (b.byteLength < nBytes) {
    throw new EmbedError("GGUF_TRUNCATED", `${src.name}: read of ${nBytes} bytes at offset ${byteOffset} returned only ${b.byteLength}`, {
      offset: byteOffset,
      nBytes,
      got: b.byteLength,
    });
  }
  if (b.byteLength > nBytes) {
    throw new EmbedError("IO_ERROR", `${src.name}: read of ${nBytes} bytes at offset ${byteOffset} returned ${b.byteLength}`, {
      offset: byteOffset,
      nBytes,
      got: b.byteLength,
    });
  }
  return b;
}

/** Bytes already in memory. Reads are zero-copy views. */
export class ArrayBufferSource implements ByteSource {
  readonly name: string;
  readonly nBytes: number;
  private readonly bytes: Uint8Array;
  constructor(data: ArrayBuffer | Uint8Array, name = "ArrayBuffer") {
    this.bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    this.nBytes = this.bytes.byteLength;
    this.name = name;
  }
  async read(byteOffset: number, nBytes: number): Promise<Uint8Array> {
    checkRange(this, byteOffset, nBytes);
    return this.bytes.subarray(byteOffset, byteOffset + nBytes);
  }
}

/** A Blob or File (browser, or Node >= 20's global Blob). */
export class BlobSource implements ByteSource {
  readonly name: string;
  readonly nBytes: number;
  constructor(
    private readonly blob: Blob,
    name?: string,
  ) {
    this.nBytes = blob.size;
    this.name = name ?? ((blob as { name?: string }).name || "Blob");
  }
  async read(byteOffset: number, nBytes: number): Promise<Uint8Array> {
    checkRange(this, byteOffset, nBytes);
    return new Uint8Array(await this.blob.slice(byteOffset, byteOffset + nBytes).arrayBuffer());
  }
}

/** A URL read with HTTP Range requests (needs a server that honours Range, as the Hugging Face Hub does). */
export class HttpRangeSource implements ByteSource {
  private constructor(
    readonly name: string,
    readonly nBytes: number,
    private readonly init: RequestInit,
  ) {}

  static async open(url: string, init: RequestInit = {}): Promise<HttpRangeSource> {
    let res: Response;
    try {
      res = await fetch(url, {
        ...init,
        method: "GET",
        headers: { ...(init.headers as Record<string, string> | undefined), Range: "bytes=0-0" },
      });
    } catch (e) {
      throw new EmbedError("IO_ERROR", `${url}: request failed: ${(e as Error).message}`, { url }, { cause: e });
    }
    await res.body?.cancel();
    if (res.status === 401 || res.status === 403)
      throw new EmbedError("UNAUTHORIZED", `${url}: HTTP ${res.status}`, { url, status: res.status });
    if (res.status === 404) throw new EmbedError("NOT_FOUND", `${url}: HTTP 404`, { url, status: 404 });
    const range = res.headers.get("content-range"); // "bytes 0-0/12345"
    const total = range ? Number(range.split("/")[1]) : NaN;
    if (res.status !== 206 || !Number.isSafeInteger(total)) {
      throw new EmbedError("IO_ERROR", `${url}: server does not support HTTP Range requests (status ${res.status})`, {
        url,
        status: res.status,
      });
    }
    return new HttpRangeSource(url, total, init);
  }

  async read(byteOffset: number, nBytes: number): Promise<Uint8Array> {
    checkRange(this, byteOffset, nBytes);
    if (nBytes === 0) return new Uint8Array(0);
    const headers = {
      ...(this.init.headers as Record<string, string> | undefined),
      Range: `bytes=${byteOffset}-${byteOffset + nBytes - 1}`,
    };
    const res = await fetch(this.name, { ...this.init, headers });
    if (res.status !== 206)
      throw new EmbedError("IO_ERROR", `${this.name}: range request at ${byteOffset} got HTTP ${res.status}`, {
        url: this.name,
        byteOffset,
        status: res.status,
      });
    const buf = new Uint8Array(await res.arrayBuffer());
    if (buf.byteLength !== nBytes)
      throw new EmbedError("GGUF_TRUNCATED", `${this.name}: range request at ${byteOffset} returned ${buf.byteLength} of ${nBytes} bytes`, {
        url: this.name,
        byteOffset,
      });
    return buf;
  }
}
