/** Classification metrics from true and predicted labels: confusion matrix and per-class scores. */
import { pct } from "../util/format.js";
import { renderTable } from "../util/table.js";

export interface ClassScore {
  label: number;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface Report {
  accuracy: number;
  count: number;
  /** confusion[true][predicted] */
  confusion: number[][];
  perClass: ClassScore[];
  macroF1: number;
}

export function classificationReport(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classes: number,
): Report {
  if (truth.length !== predicted.length)
    throw new Error(`${truth.length} labels but ${predicted.length} predictions`);
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    confusion[truth[i]][predicted[i]]++;
    if (truth[i] === predicted[i]) correct++;
  }
  const perClass = confusion.map((row, c) => {
    const tp = row[c];
    const support = row.reduce((a, b) => a + b, 0);
    const predictedAs = confusion.reduce((s, r) => s + r[c], 0);
    const precision = predictedAs ? tp / predictedAs : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { label: c, precision, recall, f1, support };
  });
  return {
    accuracy: truth.length ? correct / truth.length : NaN,
    count: truth.length,
    confusion,
    perClass,
    macroF1: perClass.reduce((s, p) => s + p.f1, 0) / classes,
  };
}

/** The report as text: per-class table, then the confusion matrix (rows true, columns predicted). */
export function formatReport(r: Report): string {
  const scores = renderTable(
    ["class", "precision", "recall", "f1", "support"],
    r.perClass.map((p) => [String(p.label), pct(p.precision), pct(p.recall), pct(p.f1), String(p.support)]),
    { right: [0, 1, 2, 3, 4] },
  );
  const classes = r.confusion.map((_, c) => String(c));
  const confusion = renderTable(
    ["true \\ predicted", ...classes],
    r.confusion.map((row, t) => [String(t), ...row.map(String)]),
    { right: classes.map((_, c) => c + 1) },
  );
  return `${scores}\nmacro F1 ${pct(r.macroF1)}\n\nconfusion matrix (rows: true digit, columns: predicted)\n${confusion}`;
}
