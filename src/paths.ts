/** Where the package's own files are, from src/ (sources) or dist/ (compiled) alike. */
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_ROOT = fileURLToPath(new URL("../", import.meta.url));
/** The shipped model: what `predict`, `evaluate` and `serve` use when no model is named. */
export const DEFAULT_MODEL_DIR = path.join(PACKAGE_ROOT, "models", "default");
/** digits' folder `name` in the user's cache (~/.cache/digits/NAME; $XDG_CACHE_HOME respected). */
export function cacheDir(name: string): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "digits", name);
}

/** The built page (`npm run build:web`). */
export const WEB_DIST_DIR = path.join(PACKAGE_ROOT, "web", "dist");

/** Where `digits serve` keeps the digits people opt in to give ($XDG_DATA_HOME respected). */
export function defaultSamplesDb(): string {
  const home = process.env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share");
  return path.join(home, "digits", "samples.db");
}
