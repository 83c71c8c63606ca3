import fs from "node:fs";

/** A JSON file's content; a missing or malformed file is an error naming the file. */
export function readJson(file: string, what = "file"): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      `${file}: ${code === "ENOENT" ? `not found (is this a ${what}?)` : (e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
