/**
 * `digits experiment`: runs every cell (grid point × seed) that has not finished — a finished cell has its
 * metrics.json, so an interrupted experiment resumes where it stopped — then tabulates mean ± std of test
 * accuracy, test loss, wall time and images/s per grid point, and draws the accuracies with error bars.
 */
import fs from "node:fs";
import path from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { writeFigure, page, type Figure } from "../report/report.js";
import { trainRun, type RunEvents, type RunSources, type TrainConfig } from "../runs/run.js";
import { pct } from "../util/format.js";
import { writeAtomic } from "../util/fs.js";
import { readJson } from "../util/json.js";
import { renderTable } from "../util/table.js";
import { parseAugmentSpec } from "../zoo/recipes.js";
import { gridPoints, pointName, type Experiment } from "./config.js";

export interface CellResult {
  point: string;
  seed: number;
  accuracy: number;
  loss: number;
  seconds: number;
  imagesPerSecond: number;
  /** Whether this run finished earlier (resumed) rather than now. */
  reused: boolean;
}

export interface PointSummary {
  point: string;
  runs: number;
  accuracy: { mean: number; std: number };
  loss: { mean: number; std: number };
  seconds: { mean: number; std: number };
  imagesPerSecond: { mean: number; std: number };
}

const stats = (v: number[]) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, std };
};

function configFor(
  e: Experiment,
  point: Record<string, string | number | boolean>,
  seed: number,
  out: string,
): TrainConfig {
  const merged: Record<string, unknown> = { validation: "split:0.1", ...e.base, ...point };
  if (typeof merged.augment === "string") merged.augment = parseAugmentSpec(merged.augment);
  return {
    architecture: "reference",
    epochs: 10,
    batchSize: 32,
    learningRate: 1e-3,
    optimizer: "adam",
    ...(merged as Partial<TrainConfig>),
    seed,
    out,
  } as TrainConfig;
}

/** Reads a finished cell back (its metrics.json and history), or undefined if it has not finished. */
function finished(dir: string): Omit<CellResult, "point" | "seed" | "reused"> | undefined {
  const file = path.join(dir, "metrics.json");
  if (!fs.existsSync(file)) return undefined;
  const m = readJson(file, "run directory") as {
    test: { accuracy: number; loss: number };
    seconds: { total: number };
  };
  const history = readJson(path.join(dir, "history.json"), "run directory") as { imagesPerSecond: number }[];
  const rate = history.reduce((s, h) => s + h.imagesPerSecond, 0) / Math.max(1, history.length);
  return { accuracy: m.test.accuracy, loss: m.test.loss, seconds: m.seconds.total, imagesPerSecond: rate };
}

export async function runExperiment(
  e: Experiment,
  out: string,
  events: RunEvents = {},
  sources?: RunSources,
): Promise<{
  cells: CellResult[];
  points: PointSummary[];
  files: { table: string; json: string; html: string };
}> {
  const say = events.onMessage ?? (() => {});
  fs.mkdirSync(out, { recursive: true });
  const cells: CellResult[] = [];
  const points = gridPoints(e.grid);
  for (const point of points)
    for (const seed of e.seeds) {
      const name = pointName(point);
      const dir = path.join(out, name, `seed-${seed}`);
      const done = finished(dir);
      if (done) {
        say(`${name} seed ${seed}: finished earlier (${pct(done.accuracy)})`);
        cells.push({ point: name, seed, ...done, reused: true });
        continue;
      }
      // A cell interrupted part way is trained again from the start.
      fs.rmSync(dir, { recursive: true, force: true });
      say(`${name} seed ${seed}: training`);
      await trainRun(configFor(e, point, seed, dir), { ...events, onStart: undefined }, sources);
      cells.push({
        point: name,
        seed,
        ...(finished(dir) as NonNullable<ReturnType<typeof finished>>),
        reused: false,
      });
    }
  const summaries = points.map((p) => {
    const mine = cells.filter((c) => c.point === pointName(p));
    return {
      point: pointName(p),
      runs: mine.length,
      accuracy: stats(mine.map((c) => c.accuracy)),
      loss: stats(mine.map((c) => c.loss)),
      seconds: stats(mine.map((c) => c.seconds)),
      imagesPerSecond: stats(mine.map((c) => c.imagesPerSecond)),
    };
  });
  const table = experimentTable(summaries);
  const files = {
    table: path.join(out, "results.txt"),
    json: path.join(out, "results.json"),
    html: path.join(out, "index.html"),
  };
  writeAtomic(files.table, `${table}\n`);
  writeAtomic(files.json, `${JSON.stringify({ experiment: e, cells, points: summaries }, null, 2)}\n`);
  const figures: Figure[] = [
    await writeFigure(out, "accuracy", "Test accuracy", accuracyChart(e, summaries), say),
  ];
  const escaped = table.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  writeAtomic(
    files.html,
    page(
      `digits — experiment ${e.name}`,
      `${points.length} settings × ${e.seeds.length} seeds`,
      figures,
      `<section><pre>${escaped}</pre></section>`,
    ),
  );
  return { cells, points: summaries, files };
}

export function experimentTable(points: readonly PointSummary[]): string {
  const pm = (s: { mean: number; std: number }, f: (v: number) => string) => `${f(s.mean)} ± ${f(s.std)}`;
  return renderTable(
    ["setting", "runs", "test accuracy", "test loss", "wall time", "images/s"],
    points.map((p) => [
      p.point,
      String(p.runs),
      pm(p.accuracy, (v) => pct(v)),
      pm(p.loss, (v) => v.toFixed(4)),
      pm(p.seconds, (v) => `${v.toFixed(0)} s`),
      pm(p.imagesPerSecond, (v) => v.toFixed(0)),
    ]),
    { right: [1, 2, 3, 4, 5] },
  );
}

/** Mean test accuracy per setting with ±1 standard deviation. */
function accuracyChart(e: Experiment, points: readonly PointSummary[]): TopLevelSpec {
  const values = points.map((p) => ({
    setting: p.point,
    mean: p.accuracy.mean,
    lo: p.accuracy.mean - p.accuracy.std,
    hi: p.accuracy.mean + p.accuracy.std,
  }));
  const y = { field: "setting", type: "nominal" as const, title: null, sort: null };
  return {
    title: { text: `Test accuracy, mean ± std over ${e.seeds.length} seed(s)`, subtitle: e.name },
    data: { values },
    width: 420,
    height: { step: 28 },
    layer: [
      {
        mark: { type: "point", filled: true, size: 60 },
        encoding: {
          y,
          x: {
            field: "mean",
            type: "quantitative",
            title: "test accuracy",
            scale: { zero: false },
            axis: { format: ".2%" },
          },
        },
      },
      {
        mark: { type: "rule" },
        encoding: { y, x: { field: "lo", type: "quantitative" }, x2: { field: "hi" } },
      },
    ],
  };
}
