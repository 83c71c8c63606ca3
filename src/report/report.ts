/**
 * `digits report`: a self-contained HTML report of a model (and its training run), with every figure also
 * written as SVG and PNG: training curves, confusion matrix, per-class scores, sample predictions, the most
 * confident mistakes, and a reliability diagram with the expected calibration error.
 */
import fs from "node:fs";
import path from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { sliceSplit, type Split } from "../data/split.js";
import { score } from "../engine/index.js";
import type { Dataset } from "../data/dataset.js";
import { classificationReport } from "../metrics/classification.js";
import {
  populationsTable,
  scoreParts,
  worstWritersTable,
  type PopulationScore,
} from "../metrics/populations.js";
import type { LoadedModel, SavedEpoch } from "../saved/saved-model.js";
import { pct } from "../util/format.js";
import { inputToPng } from "../vision/png.js";

import { reliability, selective } from "../metrics/calibration.js";
import { unsureThreshold } from "../unsure/calibrate.js";
import { nonDigitSet } from "../unsure/nondigits.js";
import { refusals, type Refusals } from "../unsure/refusals.js";

/** Non-digits of each kind the report measures refusals on. */
const NON_DIGITS = 100;
import { robustness, type ShiftScore } from "../robustness/suite.js";
import {
  confusionHeatmap,
  perClassBars,
  populationBars,
  reliabilityDiagram,
  coverageCurve,
  robustnessBars,
  thumbnailGrid,
  trainingCurves,
  type Thumb,
} from "./charts.js";
import { renderChart } from "./render.js";

export interface Figure {
  name: string;
  title: string;
  svg: string;
  files: { svg: string; png: string };
  size: { width: number; height: number };
}

export interface ReportResult {
  html: string;
  figures: Figure[];
  accuracy: number;
  loss: number;
  ece: number;
  /** What the model's "unsure" threshold refuses. */
  refusals: Refusals;
  robustness?: ShiftScore[];
  populations?: PopulationScore[];
}

/** A test digit as people see digits (dark on white), 56×56, as a data URL for a Vega image mark. */
/** Image i of a split as a PNG data URL. */
function thumbnailOf(split: Split, i: number): string {
  const per = split.pixels.length / split.count;
  return thumbnail(split.pixels.subarray(i * per, (i + 1) * per));
}

function thumbnail(pixels: Uint8Array): string {
  const png = inputToPng(
    Float32Array.from(pixels, (v) => 1 - v / 255),
    2,
  );
  return `data:image/png;base64,${png.toString("base64")}`;
}

export async function writeFigure(
  out: string,
  name: string,
  title: string,
  spec: TopLevelSpec,
  say: (m: string) => void,
): Promise<Figure> {
  const r = await renderChart(spec);
  const files = { svg: path.join(out, `${name}.svg`), png: path.join(out, `${name}.png`) };
  fs.writeFileSync(files.svg, r.svg);
  fs.writeFileSync(files.png, r.png);
  say(`wrote ${files.svg} and ${path.basename(files.png)} (${r.width}×${r.height})`);
  return { name, title, svg: r.svg, files, size: { width: r.width, height: r.height } };
}

const escape = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] as string);

export function page(title: string, intro: string, figures: Figure[], tables: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>
body{font-family:"DejaVu Sans",system-ui,sans-serif;max-width:1100px;margin:0 auto;padding:1.5rem;color:#111;background:#fafafa}
h1{margin-bottom:.25rem} .intro{color:#444} section{background:#fff;border-radius:10px;padding:1rem;margin:1rem 0;box-shadow:0 1px 3px #0002}
table{border-collapse:collapse;font-variant-numeric:tabular-nums} td,th{padding:.25rem .75rem;border-bottom:1px solid #ddd;text-align:right} th:first-child,td:first-child{text-align:left}
svg{max-width:100%;height:auto} .files{color:#666;font-size:.85rem}
</style></head><body>
<h1>${escape(title)}</h1><p class="intro">${intro}</p>
${tables}
${figures.map((f) => `<section id="${f.name}"><h2>${escape(f.title)}</h2>${f.svg}<p class="files">${escape(path.basename(f.files.svg))} · ${escape(path.basename(f.files.png))}</p></section>`).join("\n")}
</body></html>
`;
}

const ROBUSTNESS_SAMPLE = 2000;

export interface ReportInput {
  /** Also run the robustness suite (a figure and a table) on the first 2,000 test digits (~15 s). */
  robustness?: boolean;
  loaded: LoadedModel;
  history?: readonly SavedEpoch[];
  test: Split;
  /** Also score these parts (MNIST, USPS, the pen sets' held-out writers…) population by population. */
  populations?: Dataset;
  out: string;
  onProgress?(m: string): void;
}

/** What the report shows, computed before anything is drawn. */
interface ReportData {
  probabilities: Float32Array;
  predicted: Uint8Array;
  loss: number;
  /** The probability of each prediction. */
  confidence: Float32Array;
  report: ReturnType<typeof classificationReport>;
  calibration: ReturnType<typeof reliability>;
  threshold: number;
  refused: Refusals;
  /** The robustness suite's sample and scores, when asked for. */
  shifts?: { sample: Split; scores: ShiftScore[] };
  populations?: { data: Dataset; predicted: Uint8Array; scores: PopulationScore[] };
}

/** Scores the model: the test split, calibration, refusals of non-digits, and (when asked) populations and shifts. */
async function computeReport(input: ReportInput, say: (m: string) => void): Promise<ReportData> {
  const { loaded, test } = input;
  const { model, metadata } = loaded;
  say(`evaluating ${loaded.dir} on ${test.count} test images`);
  const predictor = await loaded.predictor();
  try {
    const probabilities = await predictor.predict(test.x);
    const classes = model.outputShape[0];
    const { predicted, loss } = score(probabilities, test.labels, classes);
    const threshold = unsureThreshold(metadata);
    say(`drawing ${NON_DIGITS} non-digits of each kind`);
    const refused = await refusals(
      predictor,
      threshold,
      { probabilities, labels: test.labels },
      nonDigitSet(NON_DIGITS),
    );
    let populations: ReportData["populations"];
    if (input.populations) {
      const data = input.populations;
      say(`scoring ${data.test.count} digits of ${data.parts.map((p) => p.name).join(", ")}`);
      const scored = score(await predictor.predict(data.test.x), data.test.labels, classes);
      populations = { data, predicted: scored.predicted, scores: scoreParts(data.parts, scored.predicted) };
    }
    // The suite on a sample: its placement and paper shifts run pictures through the preprocessing (~5 ms each).
    const sample = sliceSplit(test, 0, ROBUSTNESS_SAMPLE);
    const shifts = input.robustness
      ? { sample, scores: await robustness(predictor, sample, say) }
      : undefined;
    return {
      probabilities,
      predicted,
      loss,
      confidence: Float32Array.from(predicted, (p, i) => probabilities[i * classes + p]),
      report: classificationReport(test.labels, predicted, classes),
      calibration: reliability(probabilities, test.labels, classes),
      threshold,
      refused,
      shifts,
      populations,
    };
  } finally {
    await predictor.release();
  }
}

/** Every figure, written as SVG and PNG. */
async function drawFigures(
  d: ReportData,
  input: ReportInput,
  history: readonly SavedEpoch[],
  say: (m: string) => void,
): Promise<Figure[]> {
  const { test, out } = input;
  const classes = input.loaded.model.outputShape[0];
  const figure = (name: string, title: string, spec: TopLevelSpec) =>
    writeFigure(out, name, title, spec, say);
  const figures: Figure[] = [];
  if (history.length) {
    const rows = history.map((h, epoch) => ({ run: "run", epoch: epoch + 1, ...h }));
    figures.push(await figure("training-curves", "Training curves", trainingCurves(rows)));
  } else say("no training history in this model: skipping the training curves");
  figures.push(await figure("confusion-matrix", "Confusion matrix", confusionHeatmap(d.report.confusion)));
  figures.push(
    await figure("per-class", "Per-class precision, recall and F1", perClassBars(d.report.perClass)),
  );
  const samples: Thumb[] = Array.from({ length: Math.min(40, test.count) }, (_, i) => ({
    url: thumbnailOf(test, i),
    caption:
      d.predicted[i] === test.labels[i] ? `${d.predicted[i]}` : `${d.predicted[i]} (is ${test.labels[i]})`,
    wrong: d.predicted[i] !== test.labels[i],
  }));
  figures.push(
    await figure(
      "samples",
      "Test samples and predictions",
      thumbnailGrid(samples, "The first 40 test digits: prediction (truth when wrong)"),
    ),
  );
  const mistakes: Thumb[] = [...d.predicted.keys()]
    .filter((i) => d.predicted[i] !== test.labels[i])
    .sort((a, b) => d.confidence[b] - d.confidence[a])
    .slice(0, 20)
    .map((i) => ({
      url: thumbnailOf(test, i),
      caption: `${test.labels[i]}→${d.predicted[i]} ${(100 * d.confidence[i]).toFixed(0)}%`,
      wrong: true,
    }));
  if (mistakes.length)
    figures.push(
      await figure(
        "mistakes",
        "Most confident mistakes",
        thumbnailGrid(mistakes, "Most confident mistakes: true→predicted, confidence"),
      ),
    );
  figures.push(
    await figure("reliability", "Calibration", reliabilityDiagram(d.calibration.bins, d.calibration.ece)),
  );
  const thresholds = [
    ...new Set([0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, d.threshold]),
  ].sort();
  figures.push(
    await figure(
      "unsure",
      "Knowing when not to guess",
      coverageCurve(selective(d.probabilities, test.labels, classes, thresholds), d.threshold),
    ),
  );
  if (d.populations) {
    const { data, predicted, scores } = d.populations;
    figures.push(await figure("populations", "By population", populationBars(scores)));
    const worst = worstWritersMistakes(data, predicted, scores);
    if (worst.length)
      figures.push(
        await figure(
          "worst-writers",
          "The worst writers' mistakes",
          thumbnailGrid(worst, "The worst held-out writers' mistakes: true→predicted"),
        ),
      );
  }
  if (d.shifts) figures.push(await figure("robustness", "Robustness", robustnessBars(d.shifts.scores)));
  return figures;
}

/** The worst writers' mistakes, so one can see whose handwriting it misreads and how. */
function worstWritersMistakes(data: Dataset, predicted: Uint8Array, scores: PopulationScore[]): Thumb[] {
  const thumbs: Thumb[] = [];
  let at = 0;
  for (const [k, part] of data.parts.entries()) {
    const worst = new Set(scores[k].writers?.worst.map((w) => w.writer));
    for (let i = 0; i < part.test.count && thumbs.length < 40; i++)
      if (part.writers && worst.has(part.writers.test[i]) && predicted[at + i] !== part.test.labels[i])
        thumbs.push({
          url: thumbnailOf(part.test, i),
          caption: `${part.test.labels[i]}→${predicted[at + i]}`,
          wrong: true,
        });
    at += part.test.count;
  }
  return thumbs;
}

/** The report's tables as HTML: the summary, populations, refusals, robustness. */
function reportTables(d: ReportData, input: ReportInput, epochs: number): string {
  const { test } = input;
  const { metadata } = input.loaded;
  const summary = `<section><h2>Summary</h2><table>
<tr><th>test accuracy</th><td>${pct(d.report.accuracy)}</td></tr>
<tr><th>test loss</th><td>${d.loss.toFixed(4)}</td></tr>
<tr><th>macro F1</th><td>${pct(d.report.macroF1)}</td></tr>
<tr><th>expected calibration error</th><td>${pct(d.calibration.ece)}</td></tr>
<tr><th>mistakes</th><td>${test.count - Math.round(d.report.accuracy * test.count)} of ${test.count}</td></tr>
<tr><th>parameters</th><td>${metadata.parameters.total.toLocaleString("en-US")}</td></tr>
<tr><th>epochs trained</th><td>${epochs || "–"}</td></tr>
</table></section>`;
  const pre = (t: string) => `<pre>${escape(t)}</pre>`;
  const populations = d.populations
    ? `<section><h2>By population</h2><p>Each part of <code>${escape(d.populations.data.spec)}</code> on its own; pen sets are scored on writers held out whole (<code>digits evaluate --dataset</code> prints the same).</p>${pre(populationsTable(d.populations.scores))}<h3>Worst writers</h3>${pre(worstWritersTable(d.populations.scores))}</section>`
    : "";
  const r = d.refused;
  const refused = `<section><h2>Not digits</h2><p>Letters, symbols, scribbles, near-blank pictures and textures (<code>src/unsure/nondigits.ts</code>): how many the model's threshold (${pct(d.threshold, 1)}${metadata.calibration ? `, calibrated on ${escape(metadata.calibration.fittedOn.join(" and "))}` : ", uncalibrated"}) refuses, while it answers ${pct(r.digits.coverage)} of the test digits.</p><table><tr><th>not a digit</th><th>pictures</th><th>refused</th><th>no ink found</th></tr>${r.nonDigits
    .map(
      (n) =>
        `<tr><td>${escape(n.kind)}</td><td>${n.made}</td><td>${pct(n.refused / n.made, 1)}</td><td>${n.noInk}</td></tr>`,
    )
    .join("")}</table></section>`;
  const shifts = d.shifts
    ? `<section><h2>Robustness</h2><p>The first ${d.shifts.sample.count.toLocaleString("en-US")} test digits under one shift at a time (<code>digits evaluate --robustness</code> runs all of them).</p><table><tr><th>shift</th><th>accuracy</th><th>change (points)</th><th>what</th></tr>${d.shifts.scores
        .map(
          (s) =>
            `<tr><td>${escape(s.shift)}</td><td>${pct(s.accuracy)}</td><td>${s.shift === "none" ? "" : s.change.toFixed(2)}</td><td style="text-align:left">${escape(s.description)}</td></tr>`,
        )
        .join("")}</table></section>`
    : "";
  return summary + populations + refused + shifts;
}

/** Writes the report into `out`: index.html and every figure as SVG and PNG. */
export async function writeReport(input: ReportInput): Promise<ReportResult> {
  const say = input.onProgress ?? (() => {});
  fs.mkdirSync(input.out, { recursive: true });
  const { loaded, test } = input;
  const { metadata } = loaded;
  const d = await computeReport(input, say);
  const history = input.history ?? metadata.history ?? [];
  const figures = await drawFigures(d, input, history, say);
  const intro = `Model <code>${escape(loaded.dir)}</code> (${escape(metadata.architectureName ?? "custom")}), created ${escape(metadata.createdAt)}, evaluated on the ${test.count.toLocaleString("en-US")} MNIST test images.`;
  const htmlFile = path.join(input.out, "index.html");
  fs.writeFileSync(
    htmlFile,
    page("digits — model report", intro, figures, reportTables(d, input, history.length)),
  );
  say(`wrote ${htmlFile}`);
  return {
    html: htmlFile,
    figures,
    accuracy: d.report.accuracy,
    loss: d.loss,
    ece: d.calibration.ece,
    refusals: d.refused,
    robustness: d.shifts?.scores,
    ...(d.populations ? { populations: d.populations.scores } : {}),
  };
}
