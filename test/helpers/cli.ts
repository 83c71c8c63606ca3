/** The CLI as a user runs it: a process started from the TypeScript sources (via tsx). */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

export const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "src/cli/bin.ts");
const run = promisify(execFile);

/** The node arguments that run `digits ARGS`. */
export const digitsArgs = (...args: string[]): string[] => ["--import", "tsx", BIN, ...args];

/** Runs `digits ARGS` to its end: its output and exit code (a failure is returned, not thrown). */
export async function digits(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, digitsArgs(...args), {
      cwd: ROOT,
      maxBuffer: 1 << 24,
    });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

/** Starts `digits ARGS` (a server, a run to interrupt) in the package's folder. */
export function spawnDigits(args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, digitsArgs(...args), { cwd: ROOT, ...options });
}
