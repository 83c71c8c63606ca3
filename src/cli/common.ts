/** What every command shares: the shipped model's location, model resolution, output helpers. */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel, type LoadedModel } from "../models/saved-model.js";

/** The package root, from src/cli or dist/cli alike. */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const DEFAULT_MODEL_DIR = path.join(PACKAGE_ROOT, "models", "default");

/** A model directory, or a run directory holding one in model/. */
export function resolveModelDir(dir: string | undefined): string {
  const chosen = dir ?? DEFAULT_MODEL_DIR;
  const inRun = path.join(chosen, "model");
  return fs.existsSync(path.join(inRun, "metadata.json")) ? inRun : chosen;
}

export function openModel(dir: string | undefined): LoadedModel {
  return loadModel(resolveModelDir(dir));
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export const pct = (v: number, digits = 2) => `${(100 * v).toFixed(digits)}%`;

/** Parses a positive integer option, with a clear message. */
export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer (got "${value}")`);
    return n;
  };
}

/** A TCP port; 0 asks the system for a free one. */
export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port must be 0–65535 (got "${value}")`);
  return n;
}

export function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got "${value}")`);
    return n;
  };
}
