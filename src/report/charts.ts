/** The report's figures as Vega-Lite specs. */
import type { TopLevelSpec } from "vega-lite";
import { pct } from "../util/format.js";
import type { ClassScore } from "../metrics/classification.js";
import type { ReliabilityBin, SelectivePoint } from "../metrics/calibration.js";

export interface HistoryRow {
  run: string;
  epoch: number;
  loss: number;
  accuracy: number;
  val_loss?: number;
  val_accuracy?: number;
}

/** Loss and accuracy per epoch, train (solid) vs validation (dashed), one colour per run. */
export function trainingCurves(rows: HistoryRow[], title = "Training curves"): TopLevelSpec {
  const long = rows.flatMap((r) => [
    { run: r.run, epoch: r.epoch, metric: "loss", split: "train", value: r.loss },
    { run: r.run, epoch: r.epoch, metric: "accuracy", split: "train", value: r.accuracy },
    ...(r.val_loss === undefined
      ? []
      : [{ run: r.run, epoch: r.epoch, metric: "loss", split: "validation", value: r.val_loss }]),
    ...(r.val_accuracy === undefined
      ? []
      : [{ run: r.run, epoch: r.epoch, metric: "accuracy", split: "validation", value: r.val_accuracy }]),
  ]);
  const runs = new Set(rows.map((r) => r.run)).size;
  return {
    title,
    data: { values: long },
    columns: 2,
    facet: { field: "metric", type: "nominal", title: null, sort: ["loss", "accuracy"] },
    resolve: { scale: { y: "independent" } },
    spec: {
      width: 300,
      height: 220,
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1 } },
        y: { field: "value", type: "quantitative", title: null, scale: { zero: false } },
        color:
          runs > 1 ? { field: "run", type: "nominal" } : { field: "split", type: "nominal", title: null },
        strokeDash: {
          field: "split",
          type: "nominal",
          title: null,
          legend: { symbolType: "stroke", symbolStrokeWidth: 2 },
        },
      },
    },
  };
}

export function confusionHeatmap(confusion: number[][]): TopLevelSpec {
  const values = confusion.flatMap((row, t) => row.map((n, p) => ({ true: t, predicted: p, count: n })));
  const base = {
    x: { field: "predicted", type: "ordinal" as const, title: "predicted digit", axis: { labelAngle: 0 } },
    y: { field: "true", type: "ordinal" as const, title: "true digit" },
  };
  return {
    title: "Confusion matrix (MNIST test set)",
    data: { values },
    width: 360,
    height: 360,
    layer: [
      {
        mark: "rect",
        encoding: {
          ...base,
          color: {
            field: "count",
            type: "quantitative",
            scale: { type: "symlog", scheme: "blues" },
            title: "images",
          },
        },
      },
      {
        mark: { type: "text", fontSize: 10 },
        encoding: {
          ...base,
          text: { field: "count", type: "quantitative" },
          color: { condition: { test: "datum.count > 300", value: "white" }, value: "black" },
        },
      },
    ],
  };
}

export function perClassBars(scores: ClassScore[]): TopLevelSpec {
  const values = scores.flatMap((s) => [
    { digit: s.label, metric: "precision", value: s.precision },
    { digit: s.label, metric: "recall", value: s.recall },
    { digit: s.label, metric: "F1", value: s.f1 },
  ]);
  const low = Math.max(0, Math.floor(Math.min(...values.map((v) => v.value)) * 50) / 50 - 0.02);
  return {
    title: "Precision, recall and F1 per digit",
    data: { values },
    width: 480,
    height: 240,
    mark: "bar",
    encoding: {
      x: { field: "digit", type: "ordinal", title: "digit", axis: { labelAngle: 0 } },
      xOffset: { field: "metric", sort: ["precision", "recall", "F1"] },
      y: {
        field: "value",
        type: "quantitative",
        title: null,
        scale: { domain: [low, 1], clamp: true },
        axis: { format: ".0%" },
      },
      color: { field: "metric", type: "nominal", sort: ["precision", "recall", "F1"], title: null },
      tooltip: [{ field: "digit" }, { field: "metric" }, { field: "value", format: ".2%" }],
    },
  };
}

export interface Thumb {
  url: string; // data:image/png;base64,…
  caption: string;
  wrong: boolean;
}

/** A grid of digit thumbnails with captions; wrong ones in red. */
export function thumbnailGrid(thumbs: Thumb[], title: string, columns = 10): TopLevelSpec {
  const size = 56;
  const values = thumbs.map((t, i) => ({ ...t, col: i % columns, row: Math.floor(i / columns) }));
  const rows = Math.ceil(thumbs.length / columns);
  const x = {
    field: "col",
    type: "quantitative" as const,
    scale: { domain: [-0.5, columns - 0.5] },
    axis: null,
  };
  return {
    title,
    data: { values },
    width: columns * (size + 14),
    height: rows * (size + 30),
    layer: [
      {
        mark: { type: "image", width: size, height: size },
        encoding: {
          x,
          y: { field: "row", type: "quantitative", scale: { domain: [rows - 0.5, -0.5] }, axis: null },
          url: { field: "url", type: "nominal" },
        },
      },
      {
        mark: { type: "text", dy: size / 2 + 10, fontSize: 11 },
        encoding: {
          x,
          y: { field: "row", type: "quantitative", scale: { domain: [rows - 0.5, -0.5] }, axis: null },
          text: { field: "caption", type: "nominal" },
          color: { condition: { test: "datum.wrong", value: "#c5221f" }, value: "#222" },
        },
      },
    ],
  };
}

export function reliabilityDiagram(bins: ReliabilityBin[], ece: number): TopLevelSpec {
  const values = bins.filter((b) => b.count > 0).map((b) => ({ ...b, mid: (b.lo + b.hi) / 2 }));
  return {
    title: {
      text: "Reliability diagram",
      subtitle: `expected calibration error ${pct(ece)} (10 bins)`,
    },
    width: 320,
    height: 320,
    layer: [
      {
        data: {
          values: [
            { a: 0, b: 0 },
            { a: 1, b: 1 },
          ],
        },
        mark: { type: "line", strokeDash: [4, 4], color: "#888" },
        encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" } },
      },
      {
        data: { values },
        mark: { type: "bar", opacity: 0.85 },
        encoding: {
          x: {
            field: "lo",
            type: "quantitative",
            title: "confidence (top probability)",
            scale: { domain: [0, 1] },
          },
          x2: { field: "hi" },
          y: { field: "accuracy", type: "quantitative", title: "accuracy", scale: { domain: [0, 1] } },
          y2: { datum: 0 },
          tooltip: [
            { field: "count", title: "images" },
            { field: "confidence", format: ".3f" },
            { field: "accuracy", format: ".3f" },
          ],
        },
      },
      {
        data: { values },
        mark: { type: "text", dy: -6, fontSize: 9 },
        encoding: {
          x: { field: "mid", type: "quantitative" },
          y: { field: "accuracy", type: "quantitative" },
          text: { field: "count", type: "quantitative" },
        },
      },
    ],
  };
}

/** Accuracy under each controlled shift (the robustness suite), against the unshifted test set. */
export function robustnessBars(scores: readonly { shift: string; accuracy: number }[]): TopLevelSpec {
  const base = scores[0]?.accuracy ?? 1;
  const low = Math.max(0, Math.floor(Math.min(...scores.map((s) => s.accuracy)) * 50) / 50 - 0.02);
  return {
    title: {
      text: "Accuracy under controlled shifts",
      subtitle: `the dashed line: unshifted (${pct(base)})`,
    },
    data: { values: scores.map((s) => ({ ...s, worse: s.accuracy < base - 0.005 })) },
    width: 480,
    height: { step: 22 },
    layer: [
      {
        mark: "bar",
        encoding: {
          y: { field: "shift", type: "nominal", sort: null, title: null },
          x: {
            field: "accuracy",
            type: "quantitative",
            scale: { domain: [low, 1], clamp: true },
            axis: { format: ".0%" },
          },
          color: { condition: { test: "datum.worse", value: "#c5221f" }, value: "#4c78a8" },
          tooltip: [{ field: "shift" }, { field: "accuracy", format: ".2%" }],
        },
      },
      { mark: { type: "rule", strokeDash: [4, 4] }, encoding: { x: { datum: base } } },
    ],
  };
}

/** What refusing below a threshold trades: the share answered against the accuracy of those answers. */
export function coverageCurve(points: readonly SelectivePoint[], threshold: number): TopLevelSpec {
  const at = points.reduce((best, p) =>
    Math.abs(p.threshold - threshold) < Math.abs(best.threshold - threshold) ? p : best,
  );
  return {
    title: {
      text: "Knowing when not to guess",
      subtitle: `answers below the threshold are "unsure"; the model's (${pct(threshold, 1)}) answers ${pct(at.coverage, 1)} at ${pct(at.accuracy, 2)} right`,
    },
    width: 420,
    height: 260,
    layer: [
      {
        data: { values: points.map((p) => ({ ...p })) },
        mark: { type: "line", point: true },
        encoding: {
          x: {
            field: "coverage",
            type: "quantitative",
            title: "share of test digits answered",
            scale: { zero: false },
            axis: { format: ".1%" },
          },
          y: {
            field: "accuracy",
            type: "quantitative",
            title: "accuracy of the answers",
            scale: { zero: false },
            axis: { format: ".2%" },
          },
          tooltip: [{ field: "threshold", format: ".2f" }],
        },
      },
      {
        data: { values: [{ ...at }] },
        mark: { type: "point", shape: "diamond", size: 160, filled: true, color: "#c0392b" },
        encoding: {
          x: { field: "coverage", type: "quantitative" },
          y: { field: "accuracy", type: "quantitative" },
        },
      },
    ],
  };
}

/** Accuracy by population (and by digit within each): where the model reads people, and where it does not. */
export function populationBars(
  pops: readonly { name: string; accuracy: number; perDigit: { digit: number; accuracy: number }[] }[],
): TopLevelSpec {
  const values = pops.flatMap((p) =>
    p.perDigit.map((d) => ({ population: p.name, digit: String(d.digit), accuracy: d.accuracy })),
  );
  const low = Math.max(0, Math.floor(Math.min(...values.map((v) => v.accuracy)) * 20) / 20 - 0.05);
  return {
    title: {
      text: "Accuracy by population and digit",
      subtitle: "writers held out whole where the set names them; the dashed line: the mean over the digits",
    },
    data: { values },
    facet: { row: { field: "population", type: "nominal", sort: pops.map((p) => p.name), title: null } },
    spec: {
      width: 420,
      height: 70,
      layer: [
        {
          mark: "bar",
          encoding: {
            x: { field: "digit", type: "ordinal", title: null, axis: { labelAngle: 0 } },
            y: {
              field: "accuracy",
              type: "quantitative",
              scale: { domain: [low, 1], clamp: true },
              axis: { format: ".0%", tickCount: 3 },
              title: null,
            },
            color: { condition: { test: "datum.accuracy < 0.97", value: "#c5221f" }, value: "#4c78a8" },
            tooltip: [{ field: "population" }, { field: "digit" }, { field: "accuracy", format: ".2%" }],
          },
        },
        {
          mark: { type: "rule", strokeDash: [4, 4] },
          encoding: { y: { aggregate: "mean", field: "accuracy", type: "quantitative", title: null } },
        },
      ],
    },
  } as TopLevelSpec;
}
