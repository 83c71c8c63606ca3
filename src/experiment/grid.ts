/**
 * `digits experiment`: runs every cell (grid point × seed) that has not finished — a finished cell has its
 * metrics.json, so an interrupted experiment resumes where it stopped — then tabulates mean ± std of test
 * accuracy, test loss, wall time and images/s per grid point, and draws the accuracies with error bars.
 */
import fs from "node:fs";
import path from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { writeFigure, page, type Figure } from "../report/report.js";
import { trainRun, type RunEvents, type RunSources, type TrainConfig } from "../training/train.js";
import { pct } from "../util/format.js";
import { writeAtomic } from "../util/fs.js";
import { readJson } from "../util/json.js";
import { parseOptions } from "../util/options.js";
import { renderTable } from "../util/table.js";
import { parseAugmentSpec } from "../zoo/recipes.js";
import { epochSchema, loadModel } from "../saved/saved-model.js";
import { z } from "zod";
import { score } from "../engine/index.js";
import { loadDataset, loadIdxPair } from "../data/dataset.js";
import { styleSet } from "../drawn-styles/draw.js";
import { gridPoints, pointName, type Experiment } from "./config.js";

export interface CellResult {
  point: string;
  seed: number;
  accuracy: number;
  loss: number;
  seconds: number;
  imagesPerSecond: number;
  /** Accuracy on each of the experiment's `also` test sets, by name. */
  also: Record<string, number>;
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
  also: Record<string, { mean: number; std: number }>;
}

type TestSet = { x: Float32Array; labels: Uint8Array };

/** The `also` sets, each loaded on first use and kept for the other cells. */
function testSets(also: Experiment["also"], dataDir?: string): (name: string) => Promise<TestSet> {
  const loaded = new Map<string, Promise<TestSet>>();
  return (name) => {
    const spec = also[name];
    let set = loaded.get(name);
    if (!set) {
      if (spec.startsWith("idx:")) {
        const [images, labels] = spec.slice(4).split(",");
        set = loadIdxPair(images, labels);
      } else if (spec.startsWith("dataset:"))
        set = loadDataset(spec.slice(8), dataDir ? { dataDir } : {}).then((d) => d.test);
      else set = Promise.resolve(styleSet(Number(spec.split(":")[1] ?? 15)));
      loaded.set(name, set);
    }
    return set;
  };
}

/**
 * A finished cell's accuracy on every `also` set, scored once and kept in also.json beside its metrics (so
 * a resumed experiment, or one that gained a set, scores only what is missing).
 */
async function scoreAlso(
  dir: string,
  also: Experiment["also"],
  sets: (name: string) => Promise<TestSet>,
): Promise<Record<string, number>> {
  const file = path.join(dir, "also.json");
  const kept = fs.existsSync(file) ? (readJson(file, "run directory") as Record<string, number>) : {};
  const missing = Object.keys(also).filter((n) => kept[n] === undefined);
  if (missing.length === 0) return Object.fromEntries(Object.keys(also).map((n) => [n, kept[n]]));
  const predictor = await loadModel(path.join(dir, "model")).predictor();
  try {
    for (const name of missing) {
      const set = await sets(name);
      kept[name] = score(await predictor.predict(set.x), set.labels, predictor.classes).accuracy;
    }
  } finally {
    await predictor.release();
  }
  writeAtomic(file, `${JSON.stringify(kept, null, 2)}\n`);
  return Object.fromEntries(Object.keys(also).map((n) => [n, kept[n]]));
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
function finished(dir: string): Omit<CellResult, "point" | "seed" | "reused" | "also"> | undefined {
  const file = path.join(dir, "metrics.json");
  if (!fs.existsSync(file)) return undefined;
  const m = readJson(file, "run directory") as {
    test: { accuracy: number; loss: number };
    seconds: { total: number };
  };
  const historyFile = path.join(dir, "history.json");
  const history = parseOptions(z.array(epochSchema), historyFile, readJson(historyFile, "run directory"));
  const rate = history.reduce((s, h) => s + h.images_per_second, 0) / Math.max(1, history.length);
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
  const sets = testSets(e.also, typeof e.base.dataDir === "string" ? e.base.dataDir : undefined);
  for (const point of points)
    for (const seed of e.seeds) {
      const name = pointName(point);
      const dir = path.join(out, name, `seed-${seed}`);
      const done = finished(dir);
      if (done) {
        say(`${name} seed ${seed}: finished earlier (${pct(done.accuracy)})`);
        cells.push({ point: name, seed, ...done, also: await scoreAlso(dir, e.also, sets), reused: true });
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
        also: await scoreAlso(dir, e.also, sets),
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
      also: Object.fromEntries(Object.keys(e.also).map((n) => [n, stats(mine.map((c) => c.also[n]))])),
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
  const also = Object.keys(points[0]?.also ?? {});
  return renderTable(
    ["setting", "runs", "test accuracy", "test loss", ...also, "wall time", "images/s"],
    points.map((p) => [
      p.point,
      String(p.runs),
      pm(p.accuracy, (v) => pct(v)),
      pm(p.loss, (v) => v.toFixed(4)),
      ...also.map((n) => pm(p.also[n], (v) => pct(v))),
      pm(p.seconds, (v) => `${v.toFixed(0)} s`),
      pm(p.imagesPerSecond, (v) => v.toFixed(0)),
    ]),
    { right: [...Array(5 + also.length).keys()].map((i) => i + 1) },
  );
}

/** Mean accuracy per setting with ±1 standard deviation: MNIST's test set and each `also` set, side by side. */
function accuracyChart(e: Experiment, points: readonly PointSummary[]): TopLevelSpec {
  // A grid over training sets scores each run on its own dataset's test split: only MNIST's when it is MNIST.
  const own =
    e.base.dataset === undefined && e.grid.dataset === undefined ? "MNIST test" : "the run's test split";
  const sets: [string, (p: PointSummary) => { mean: number; std: number }][] = [
    [own, (p) => p.accuracy],
    ...Object.keys(e.also).map((n): [string, (p: PointSummary) => { mean: number; std: number }] => [
      n,
      (p) => p.also[n],
    ]),
  ];
  const values = sets.flatMap(([set, of]) =>
    points.map((p) => ({
      set,
      setting: p.point,
      mean: of(p).mean,
      lo: of(p).mean - of(p).std,
      hi: of(p).mean + of(p).std,
    })),
  );
  const y = {
    field: "setting",
    type: "nominal" as const,
    title: null,
    sort: null,
    axis: { labelLimit: 400, labelExpr: "replace(datum.label, 'pendigits_unipen_optdigits', 'pen+scanned')" },
  };
  return {
    title: { text: `Accuracy, mean ± std over ${e.seeds.length} seed(s)`, subtitle: e.name },
    data: { values },
    facet: { field: "set", type: "nominal", title: null, sort: sets.map(([name]) => name) },
    columns: 4,
    resolve: { scale: { x: "independent" } },
    spec: {
      width: sets.length > 1 ? 240 : 420,
      height: { step: 28 },
      layer: [
        {
          mark: { type: "point", filled: true, size: 60 },
          encoding: {
            y,
            x: {
              field: "mean",
              type: "quantitative",
              title: "accuracy",
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
    },
  };
}
