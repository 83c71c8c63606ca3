/**
 * A run's checkpoint: what `train --resume` continues from. After every epoch the run writes `checkpoint/`, a
 * model directory (the epoch's weights) holding also the optimizer's state (`optimizer.bin`, its slots as
 * little-endian float32) and `training.json` (the epoch, the step, the history so far, the state's checksum).
 * It is written and swapped in as one directory (saved-model.ts), so a kill or a power loss at any moment
 * leaves the previous epoch's checkpoint or this one, whole.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { EpochLogs, OptimizerState, Sequential } from "../engine/index.js";
import { sha256 } from "../util/hash.js";
import { readableDir } from "../util/fs.js";
import { readJson } from "../util/json.js";
import { loadModel, type SaveInfo, saveModel } from "../saved/saved-model.js";

export const CHECKPOINT_DIR = "checkpoint";
const STATE_FILE = "optimizer.bin";
const TRAINING_FILE = "training.json";

const trainingSchema = z.object({
  epochs: z.number().int().nonnegative(),
  step: z.number().int().nonnegative(),
  slots: z.array(z.string()),
  size: z.number().int().nonnegative(),
  sha256: z.string(),
  history: z.array(z.record(z.string(), z.number())),
});

export interface Checkpoint {
  /** The model with the weights after `history.length` epochs. */
  model: Sequential;
  state: OptimizerState;
  history: EpochLogs[];
}

export function saveCheckpoint(
  runDir: string,
  model: Sequential,
  info: SaveInfo,
  state: OptimizerState,
  history: readonly EpochLogs[],
): void {
  const slots = Object.keys(state.slots);
  const size = slots.length ? state.slots[slots[0]].length : 0;
  // Little-endian float32, as typed arrays are on every platform Node supports (and as ONNX's raw data).
  const floats = new Float32Array(slots.length * size);
  slots.forEach((slot, k) => floats.set(state.slots[slot], k * size));
  const bytes = new Uint8Array(floats.buffer);
  const training = { epochs: history.length, step: state.step, slots, size, sha256: sha256(bytes), history };
  saveModel(path.join(runDir, CHECKPOINT_DIR), model, info, {
    [STATE_FILE]: bytes,
    [TRAINING_FILE]: `${JSON.stringify(training, null, 2)}\n`,
  });
}

/** The run's checkpoint, checked whole; undefined when none was saved (no epoch finished). */
export function loadCheckpoint(runDir: string): Checkpoint | undefined {
  const dir = path.join(runDir, CHECKPOINT_DIR);
  if (!readableDir(dir)) return undefined;
  const loaded = loadModel(dir);
  const where = loaded.dir; // model.replaced when a save was killed between its renames
  const training = trainingSchema.safeParse(readJson(path.join(where, TRAINING_FILE), "checkpoint"));
  if (!training.success)
    throw new Error(
      `${path.join(where, TRAINING_FILE)}: not a checkpoint record (${training.error.message})`,
    );
  const t = training.data;
  const stateFile = path.join(where, STATE_FILE);
  const bytes = fs.existsSync(stateFile) ? new Uint8Array(fs.readFileSync(stateFile)) : undefined;
  if (!bytes || bytes.length !== t.slots.length * t.size * 4 || sha256(bytes) !== t.sha256)
    throw new Error(`${stateFile}: missing or corrupt (its checksum does not match ${TRAINING_FILE})`);
  const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const slots: Record<string, Float32Array> = {};
  t.slots.forEach((slot, k) => (slots[slot] = floats.slice(k * t.size, (k + 1) * t.size)));
  if (t.history.length !== t.epochs)
    throw new Error(`${stateFile}: records ${t.epochs} epochs but a history of ${t.history.length}`);
  return {
    model: loaded.model,
    state: { step: t.step, slots },
    history: t.history as unknown as EpochLogs[],
  };
}
