/** Classification metrics from true and predicted labels: confusion matrix and per-class scores. */

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
  const pct = (v: number) => (100 * v).toFixed(2).padStart(7);
  const lines = ["class  precision   recall       f1  support"];
  for (const p of r.perClass) {
    lines.push(
      `${String(p.label).padStart(5)}  ${pct(p.precision)}% ${pct(p.recall)}% ${pct(p.f1)}% ${String(p.support).padStart(8)}`,
    );
  }
  lines.push(`macro F1 ${pct(r.macroF1)}%`, "", "confusion matrix (rows: true digit, columns: predicted)");
  const width = Math.max(4, ...r.confusion.flat().map((v) => String(v).length + 1));
  lines.push(`     ${r.confusion.map((_, c) => String(c).padStart(width)).join("")}`);
  r.confusion.forEach((row, t) =>
    lines.push(`${String(t).padStart(4)} ${row.map((v) => String(v).padStart(width)).join("")}`),
  );
  return lines.join("\n");
}
