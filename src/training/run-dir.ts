/** A run directory: its config.json when it starts, what it holds, and the refusal to mix two runs in one. */
import fs from "node:fs";
import path from "node:path";
import type { Dataset } from "../data/dataset.js";
import type { Optimizer } from "../engine/index.js";
import { dirVersions, writeAtomic } from "../util/fs.js";
import { versions } from "../version.js";
import { CHECKPOINT_DIR } from "./checkpoint.js";
import type { TrainConfig } from "./config.js";

/** Starts a run directory with its config.json; returns what the model metadata records of the training. */
export function startRunDir(
  config: TrainConfig,
  data: Dataset,
  optimizer: Optimizer,
  replicas: number,
  trainCount: number,
  resumed: boolean,
) {
  const out = path.resolve(config.out);
  fs.mkdirSync(out, { recursive: true });
  if (config.overwrite && !resumed)
    for (const f of RUN_FILES) fs.rmSync(path.join(out, f), { recursive: true, force: true });
  const dataset = {
    name: data.spec,
    classes: data.classes,
    parts: data.parts.map((p) => ({
      name: p.name,
      source: p.source,
      sha256: p.sha256,
      train: p.train.count,
      test: p.test.count,
      testCarved: p.carved,
      prepared: p.prepared,
    })),
  };
  const runConfig = {
    ...config,
    dataset: data.spec,
    lrDecay: config.lrDecay ?? "cosine",
    replicas,
    out,
    data: dataset,
    versions: versions(),
    startedAt: new Date().toISOString(),
  };
  if (!resumed) writeAtomic(path.join(out, "config.json"), `${JSON.stringify(runConfig, null, 2)}\n`);
  const training = {
    optimizer: { name: optimizer.name, config: optimizer.config },
    epochs: config.epochs,
    batchSize: config.batchSize,
    replicas,
    seed: config.seed,
    validation: config.validation,
    augment: config.augment ?? null,
    synthetic: config.synthetic ?? 0,
    labelSmoothing: config.labelSmoothing ?? 0,
    dataset,
    trainCount,
  };
  return { out, training };
}

/** What a run directory holds (and `overwrite` replaces). */
const RUN_FILES = [
  "config.json",
  "history.json",
  "history.csv",
  "metrics.json",
  ...dirVersions("model"),
  ...dirVersions(CHECKPOINT_DIR),
];

/** Refuses to mix two runs in one directory. */
export function checkOut(config: TrainConfig): void {
  const out = path.resolve(config.out);
  if (!config.overwrite && fs.existsSync(path.join(out, "config.json")))
    throw new Error(
      `${config.out}: already holds a run (config.json): choose another --out, or --overwrite to replace it`,
    );
}
