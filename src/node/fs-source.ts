/** Node byte source over a file handle: positional reads, nothing read until asked. */
import { open, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { EmbedError } from "../errors.js";
import { checkRange, type ByteSource } from "../gguf/source.js";
import { splitPartNames } from "../gguf/split.js";
import { DEFAULT_MODEL } from "./hub.js";

/** What a missing .gguf path's NOT_FOUND adds: how to get a model (the README's first command). */
export function missingModelHint(path: string): string {
  if (!/\.gguf$/i.test(path)) return "";
  return (
    `; to get a model, run "gguf-embed pull ${DEFAULT_MODEL}" (it prints the file's path), or pass the model name ` +
    `"${DEFAULT_MODEL}" (the default) instead of a path: it is downloaded into the cache on first use`
  );
}

export class FileSource implements ByteSource {
  private constructor(
    readonly name: string,
    readonly nBytes: number,
    private fh: FileHandle | undefined,
  ) {}

  static async open(path: string): Promise<FileSource> {
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new EmbedError(
        code === "ENOENT" ? "NOT_FOUND" : "IO_ERROR",
        `${path}: ${code === "ENOENT" ? `no such file${missingModelHint(path)}` : (e as Error).message}`,
        { path },
        { cause: e },
      );
    }
    const { size } = await fh.stat();
    return new FileSource(path, size, fh);
  }

  async read(byteOffset: number, nBytes: number): Promise<Uint8Array> {
    checkRange(this, byteOffset, nBytes);
    const buf = new Uint8Array(nBytes);
    await this.readInto(byteOffset, buf);
    return buf;
  }

  async readInto(byteOffset: number, dest: Uint8Array): Promise<void> {
    const nBytes = dest.length;
    checkRange(this, byteOffset, nBytes);
    if (!this.fh) throw new EmbedError("MODEL_CLOSED", `${this.name}: file is closed`, { path: this.name });
    let done = 0;
    while (done < nBytes) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.fh.read(dest, done, Math.min(nBytes - done, 1 << 30), byteOffset + done));
      } catch (e) {
        throw new EmbedError(
          "IO_ERROR",
          `${this.name}: read of ${nBytes} bytes at offset ${byteOffset} failed: ${(e as Error).message}`,
          { path: this.name, offset: byteOffset, nBytes },
          { cause: e },
        );
      }
      if (bytesRead === 0)
        throw new EmbedError("GGUF_TRUNCATED", `${this.name}: file shrank while reading at ${byteOffset + done}`, { path: this.name });
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}

/** Open a model path; a split name (`x-00001-of-00003.gguf`) opens every part, in order. */
export async function openModelFiles(path: string): Promise<FileSource[]> {
  const parts = splitPartNames(basename(path));
  const paths = parts ? parts.map((p) => join(dirname(path), p)) : [path];
  const out: FileSource[] = [];
  try {
    for (const p of paths) out.push(await FileSource.open(p));
  } catch (e) {
    await Promise.all(out.map((s) => s.close()));
    throw e;
  }
  return out;
}
