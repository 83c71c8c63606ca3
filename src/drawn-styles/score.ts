/** A model on the style test set: accuracy overall and per style, and what each style is mistaken for. */
import { score, type Predictor } from "../engine/index.js";
import { pct } from "../util/format.js";
import { renderTable } from "../util/table.js";
import type { StyleSet } from "./draw.js";

export interface StyleScore {
  style: string;
  count: number;
  accuracy: number;
  /** The commonest wrong answer and how often it was given. */
  mistakenFor?: { digit: number; count: number };
}

/** Scores `predictor` (a model's, an ensemble's) on the set; the caller releases it. */
export async function scoreStyles(
  predictor: Predictor,
  set: StyleSet,
): Promise<{ accuracy: number; count: number; styles: StyleScore[] }> {
  const { predicted, accuracy } = score(await predictor.predict(set.x), set.labels, predictor.classes);
  const by = new Map<string, { count: number; right: number; wrong: Map<number, number> }>();
  set.styles.forEach((style, i) => {
    const s = by.get(style) ?? { count: 0, right: 0, wrong: new Map<number, number>() };
    s.count++;
    if (predicted[i] === set.labels[i]) s.right++;
    else s.wrong.set(predicted[i], (s.wrong.get(predicted[i]) ?? 0) + 1);
    by.set(style, s);
  });
  const styles = [...by].map(([style, s]) => {
    const [digit, count] = [...s.wrong].sort((a, b) => b[1] - a[1])[0] ?? [];
    return {
      style,
      count: s.count,
      accuracy: s.right / s.count,
      ...(count ? { mistakenFor: { digit, count } } : {}),
    };
  });
  return { accuracy, count: set.count, styles };
}

export function stylesTable(styles: readonly StyleScore[]): string {
  return renderTable(
    ["style", "digits", "accuracy", "mistaken for"],
    styles.map((s) => [
      s.style,
      String(s.count),
      pct(s.accuracy, 1),
      s.mistakenFor ? `${s.mistakenFor.digit} (${s.mistakenFor.count}×)` : "",
    ]),
    { right: [1, 2] },
  );
}
