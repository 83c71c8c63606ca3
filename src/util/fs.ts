import fs from "node:fs";

/** Writes a file whole or not at all: a temp file beside it, renamed into place (removed if anything fails). */
export function writeAtomic(file: string, content: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.part`;
  try {
    fs.writeFileSync(tmp, content);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
