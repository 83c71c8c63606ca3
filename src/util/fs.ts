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

/**
 * Writes a new folder of files whole or not at all, and durably: into a temp folder beside, every file
 * flushed, then renamed into place (over an empty folder the user made). `files` maps paths inside the folder
 * ("pictures/7/12.png") to their contents. Refuses a folder that exists and is not empty.
 */
export function writeDirAtomic(out: string, files: Readonly<Record<string, string | Uint8Array>>): void {
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0)
    throw new Error(`${out}: already exists and is not empty (write into a new folder)`);
  const tmp = `${path.resolve(out)}.${process.pid}.part`;
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    for (const [name, content] of Object.entries(files)) {
      const file = path.join(tmp, name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeDurable(file, content);
    }
    fs.mkdirSync(tmp, { recursive: true }); // an empty folder still arrives
    fsyncDir(tmp);
    fs.rmSync(out, { recursive: true, force: true });
    fs.renameSync(tmp, out);
    fsyncDir(path.dirname(path.resolve(out)));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
