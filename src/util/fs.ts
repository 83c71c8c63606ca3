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

/** Where a folder's new version is written, and where the version it replaces waits until the swap is done. */
const SAVING = ".saving";
const REPLACED = ".replaced";

/** Every name a folder written by `writeDir` goes by on disk: itself, its old version mid-swap, its next version. */
export const dirVersions = (dir: string): string[] => [dir, dir + REPLACED, dir + SAVING];

/**
 * The folder to read: `dir`, or, when a write was killed between its two renames, the previous version waiting
 * whole beside it; undefined when there is neither.
 */
export function readableDir(dir: string): string | undefined {
  if (fs.existsSync(dir)) return dir;
  const replaced = path.resolve(dir) + REPLACED;
  return fs.existsSync(replaced) ? replaced : undefined;
}

/**
 * Writes a folder of files atomically and durably. `files` maps paths inside it ("pictures/7/12.png") to their
 * contents. The new version is written and flushed as a sibling (`dir.saving`), then the old one moved aside
 * (`dir.replaced`), the new one moved in and the old one removed, flushing the parent between. Killed at any
 * moment, a write leaves `dir` whole (old or new), or, between the two renames, no `dir` and the old version
 * whole in `dir.replaced` (`readableDir` finds it). `replace: false` refuses a folder that exists and is not
 * empty.
 */
export function writeDir(
  dir: string,
  files: Readonly<Record<string, string | Uint8Array>>,
  { replace = true }: { replace?: boolean } = {},
): void {
  if (!replace && fs.existsSync(dir) && fs.readdirSync(dir).length > 0)
    throw new Error(`${dir}: already exists and is not empty (write into a new folder)`);
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const [saving, replaced] = [target + SAVING, target + REPLACED];
  fs.rmSync(saving, { recursive: true, force: true });
  fs.mkdirSync(saving);
  try {
    for (const [name, content] of Object.entries(files)) {
      const file = path.join(saving, name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeDurable(file, content);
    }
    fsyncDir(saving);
    if (fs.existsSync(target)) {
      fs.rmSync(replaced, { recursive: true, force: true });
      fs.renameSync(target, replaced);
      fsyncDir(parent);
    }
    fs.renameSync(saving, target);
    fsyncDir(parent);
    fs.rmSync(replaced, { recursive: true, force: true });
  } catch (e) {
    fs.rmSync(saving, { recursive: true, force: true });
    throw e;
  }
}
