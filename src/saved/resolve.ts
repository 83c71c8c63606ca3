/** Which model a command means: a model directory, a run directory holding one, or the shipped model. */
import fs from "node:fs";
import path from "node:path";
import { DEFAULT_MODEL_DIR } from "../paths.js";
import { readableDir } from "../util/fs.js";
import { loadModel, METADATA_FILE, ModelError, type LoadedModel } from "./saved-model.js";

/** A model directory, or a run directory holding one in model/. */
export function resolveModelDir(dir: string | undefined): string {
  const chosen = dir ?? DEFAULT_MODEL_DIR;
  const inRun = path.join(chosen, "model");
  const where = readableDir(inRun);
  const saved = where !== undefined && fs.existsSync(path.join(where, METADATA_FILE));
  return saved ? inRun : chosen;
}

/** Loads the model `dir` means; a run that has not finished its first epoch says so. */
export function openModel(dir: string | undefined): LoadedModel {
  const resolved = resolveModelDir(dir);
  if (
    dir &&
    fs.existsSync(path.join(dir, "config.json")) &&
    !fs.existsSync(path.join(resolved, METADATA_FILE))
  )
    throw new ModelError(
      `${dir}: a run directory with no checkpoint yet (none is saved before the first epoch ends)`,
    );
  return loadModel(resolved);
}
