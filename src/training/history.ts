/** Per-epoch history written as training goes (JSON and Keras CSVLogger-style CSV), so a crash keeps it. */
import fs from "node:fs";
import path from "node:path";
import type { EpochLogs } from "../engine/index.js";
import { writeAtomic } from "../util/fs.js";

export const HISTORY_COLUMNS = [
  "epoch",
  "loss",
  "accuracy",
  "val_loss",
  "val_accuracy",
  "learning_rate",
  "seconds",
  "images_per_second",
] as const;

export function historyCsv(history: readonly EpochLogs[]): string {
  const rows = history.map((h, i) =>
    HISTORY_COLUMNS.map((c) =>
      c === "epoch" ? String(i) : String((h as unknown as Record<string, number | undefined>)[c] ?? ""),
    ).join(","),
  );
  return `${[HISTORY_COLUMNS.join(","), ...rows].join("\n")}\n`;
}

export function writeHistory(dir: string, history: readonly EpochLogs[]): void {
  fs.mkdirSync(dir, { recursive: true });
  writeAtomic(path.join(dir, "history.json"), `${JSON.stringify(history, null, 2)}\n`);
  writeAtomic(path.join(dir, "history.csv"), historyCsv(history));
}
