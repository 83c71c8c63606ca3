/** Where the package's own files are, from src/ (sources) or dist/ (compiled) alike. */
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_ROOT = fileURLToPath(new URL("../", import.meta.url));
/** The shipped model: what `predict`, `evaluate` and `serve` use when no model is named. */
export const DEFAULT_MODEL_DIR = path.join(PACKAGE_ROOT, "models", "default");
/** The built page (`npm run build:web`). */
export const WEB_DIST_DIR = path.join(PACKAGE_ROOT, "web", "dist");
