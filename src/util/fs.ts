import fs from "node:fs";
import path from "node:path";

/** Writes a file and flushes it to the disk (fsync) before returning. */
export function writeDurable(file: string, content: string | Uint8Array): void {
  const fd = fs.openSync(file, "w");
  try {
    fs.writeSync(fd, typeof content === "string" ? Buffer.from(content) : content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Flushes a directory's entries (a rename into it) to the disk. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot open a directory to sync it; the rename is still atomic there.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Writes a file whole or not at all, and durably: a temp file beside it, flushed, renamed into place, and the
 * directory flushed (removed if anything fails). After a crash or power loss the old or the new file is
 * there, never half of one.
 */
export function writeAtomic(file: string, content: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.part`;
  try {
    writeDurable(tmp, content);
    fs.renameSync(tmp, file);
    fsyncDir(path.dirname(path.resolve(file)));
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
