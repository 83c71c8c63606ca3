/** A run directory read back: its history, final metrics and settings (for `compare` and `report --run`). */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { readJson } from "../util/json.js";
import { epochSchema } from "../saved/saved-model.js";

const historySchema = z.array(epochSchema);
const metricsSchema = z
  .object({ test: z.object({ accuracy: z.number(), loss: z.number() }).passthrough() })
  .passthrough();

export interface RunSummary {
  name: string;
  dir: string;
  architecture: string;
  epochs: number;
  batchSize?: number;
  accuracy?: number;
  loss?: number;
  seconds: number;
  history: z.infer<typeof historySchema>;
}

export function readRun(dir: string): RunSummary {
  const history = historySchema.safeParse(readJson(path.join(dir, "history.json"), "run directory"));
  if (!history.success) throw new Error(`${path.join(dir, "history.json")}: not a training history`);
  const metricsFile = path.join(dir, "metrics.json");
  const metrics = fs.existsSync(metricsFile) ? metricsSchema.safeParse(readJson(metricsFile)) : undefined;
  const config = (
    fs.existsSync(path.join(dir, "config.json")) ? readJson(path.join(dir, "config.json")) : {}
  ) as Record<string, unknown>;
  return {
    name: path.basename(path.resolve(dir)),
    dir,
    architecture: String(config.architecture ?? "?"),
    epochs: history.data.length,
    batchSize: typeof config.batchSize === "number" ? config.batchSize : undefined,
    accuracy: metrics?.success ? metrics.data.test.accuracy : undefined,
    loss: metrics?.success ? metrics.data.test.loss : undefined,
    seconds: history.data.reduce((s, h) => s + h.seconds, 0),
    history: history.data,
  };
}
