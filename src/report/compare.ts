/** `digits compare`: several runs' curves overlaid, and their final metrics side by side. */
import fs from "node:fs";
import path from "node:path";
import { readRun, type RunSummary } from "../training/read.js";
import { pct } from "../util/format.js";
import { renderTable } from "../util/table.js";
import { trainingCurves, type HistoryRow } from "./charts.js";
import { page, writeFigure, type Figure } from "./report.js";

export function comparisonTable(runs: RunSummary[]): string {
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
  const rows = runs.map((r) => {
    const val = r.history.flatMap((h) => (h.val_accuracy === undefined ? [] : [h.val_accuracy]));
    return [
      r.name,
      r.architecture,
      String(r.epochs),
      String(r.batchSize ?? "–"),
      pct(r.accuracy),
      r.loss === undefined ? "–" : r.loss.toFixed(4),
      pct(val.length ? Math.max(...val) : undefined),
      `${r.seconds.toFixed(0)} s`,
    ];
  });
  return renderTable(head, rows, { right: [2, 3, 4, 5, 6, 7] });
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
