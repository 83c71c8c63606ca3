/** `digits compare`: several runs' curves overlaid, and their final metrics side by side. */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { epochSchema } from "../zoo/saved-model.js";
import { trainingCurves, type HistoryRow } from "./charts.js";
import { page, writeFigure, type Figure } from "./report.js";

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

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(
      `${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "not found (is this a run directory?)" : (e as Error).message}`,
      { cause: e },
    );
  }
}

export function readRun(dir: string): RunSummary {
  const history = historySchema.safeParse(readJson(path.join(dir, "history.json")));
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

export function comparisonTable(runs: RunSummary[]): string {
  const pct = (v?: number) => (v === undefined ? "–" : `${(100 * v).toFixed(2)}%`);
  const head = [
    "run",
    "architecture",
    "epochs",
    "batch",
    "test accuracy",
    "test loss",
    "best val acc",
    "train time",
  ];
  const rows = runs.map((r) => [
    r.name,
    r.architecture,
    String(r.epochs),
    String(r.batchSize ?? "–"),
    pct(r.accuracy),
    r.loss === undefined ? "–" : r.loss.toFixed(4),
    pct(
      Math.max(...r.history.map((h) => h.val_accuracy ?? -Infinity)) > -Infinity
        ? Math.max(...r.history.map((h) => h.val_accuracy ?? 0))
        : undefined,
    ),
    `${r.seconds.toFixed(0)} s`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(head), ...rows.map(line)].join("\n");
}

export async function writeComparison(
  dirs: string[],
  out: string,
  say: (m: string) => void = () => {},
): Promise<{ runs: RunSummary[]; html: string; figures: Figure[] }> {
  const runs = dirs.map(readRun);
  const names = new Set<string>();
  for (const r of runs) {
    let name = r.name;
    for (let k = 2; names.has(name); k++) name = `${r.name} (${k})`;
    names.add(name);
    r.name = name;
  }
  fs.mkdirSync(out, { recursive: true });
  const rows: HistoryRow[] = runs.flatMap((r) =>
    r.history.map((h, e) => ({ run: r.name, epoch: e + 1, ...h })),
  );
  const figures = [
    await writeFigure(
      out,
      "curves",
      "Training curves",
      trainingCurves(rows, "Training curves: train (solid) and validation (dashed)"),
      say,
    ),
  ];
  const table = comparisonTable(runs);
  const html = page(
    "digits — run comparison",
    `${runs.length} runs: ${runs.map((r) => r.dir).join(", ")}`,
    figures,
    `<section><h2>Final metrics</h2><pre>${table.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</pre></section>`,
  );
  const htmlFile = path.join(out, "index.html");
  fs.writeFileSync(htmlFile, html);
  say(`wrote ${htmlFile}`);
  return { runs, html: htmlFile, figures };
}
