/**
 * Accuracy by population (MNIST, USPS, each pen set, the drawn styles…) and, where a set says who wrote
 * each digit, by writer: the worst writers and the confusions that dominate — what a single accuracy over
 * everything hides.
 */
import { pct } from "../util/format.js";
import { renderTable } from "../util/table.js";

export interface Confusion {
  truth: number;
  predicted: number;
  count: number;
}

export interface WriterScore {
  writer: string;
  count: number;
  accuracy: number;
  confusions: Confusion[];
}

export interface PopulationScore {
  name: string;
  count: number;
  accuracy: number;
  /** Each digit's recall: the share of its images read right. */
  perDigit: { digit: number; count: number; accuracy: number }[];
  /** The commonest mistakes, most frequent first. */
  confusions: Confusion[];
  /** Writers held out whole (sets that name them): how many, and the worst first. */
  writers?: { count: number; worst: WriterScore[]; meanAccuracy: number };
}

/** The `top` commonest (truth → predicted) mistakes among `rows`. */
function confusionsOf(
  labels: ArrayLike<number>,
  predicted: ArrayLike<number>,
  rows: Iterable<number>,
  top: number,
): Confusion[] {
  const counts = new Map<number, number>();
  for (const i of rows)
    if (predicted[i] !== labels[i]) {
      const key = labels[i] * 100 + predicted[i];
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, top)
    .map(([key, count]) => ({ truth: Math.floor(key / 100), predicted: key % 100, count }));
}

/**
 * One population's scores from its labels and the model's answers (`writers` aligned with them, when
 * known). Writers with fewer than `minDigits` digits are left out of the worst list: a score over a handful
 * says little.
 */
export function scorePopulation(
  name: string,
  labels: ArrayLike<number>,
  predicted: ArrayLike<number>,
  writers?: readonly string[],
  { worst = 5, minDigits = 20 } = {},
): PopulationScore {
  const n = labels.length;
  const all = [...Array(n).keys()];
  const right = all.filter((i) => predicted[i] === labels[i]).length;
  const perDigit = [...Array(10).keys()]
    .map((digit) => {
      const rows = all.filter((i) => labels[i] === digit);
      const ok = rows.filter((i) => predicted[i] === digit).length;
      return { digit, count: rows.length, accuracy: rows.length ? ok / rows.length : NaN };
    })
    .filter((d) => d.count > 0);
  const score: PopulationScore = {
    name,
    count: n,
    accuracy: n ? right / n : NaN,
    perDigit,
    confusions: confusionsOf(labels, predicted, all, 5),
  };
  if (!writers) return score;
  const by = new Map<string, number[]>();
  for (const i of all) {
    const rows = by.get(writers[i]);
    if (rows) rows.push(i);
    else by.set(writers[i], [i]);
  }
  const scored = [...by].map(([writer, rows]) => ({
    writer,
    count: rows.length,
    accuracy: rows.filter((i) => predicted[i] === labels[i]).length / rows.length,
    confusions: confusionsOf(labels, predicted, rows, 3),
  }));
  return {
    ...score,
    writers: {
      count: scored.length,
      meanAccuracy: scored.reduce((s, w) => s + w.accuracy, 0) / Math.max(1, scored.length),
      worst: scored
        .filter((w) => w.count >= minDigits)
        .sort((a, b) => a.accuracy - b.accuracy || a.writer.localeCompare(b.writer))
        .slice(0, worst),
    },
  };
}

/** Each part of a dataset as a population: the parts' test images lie one after the other in `predicted`. */
export function scoreParts(
  parts: readonly {
    name: string;
    test: { labels: Uint8Array; count: number };
    writers?: { test: readonly string[] };
  }[],
  predicted: ArrayLike<number>,
): PopulationScore[] {
  let at = 0;
  return parts.map((p) => {
    const from = at;
    at += p.test.count;
    return scorePopulation(
      p.name,
      p.test.labels,
      Array.prototype.slice.call(predicted, from, at),
      p.writers?.test,
    );
  });
}

const said = (c: readonly Confusion[]) => c.map((x) => `${x.truth}→${x.predicted} ×${x.count}`).join(", ");

/** One row per population: accuracy, its weakest digit, its commonest mistakes, its worst writer. */
export function populationsTable(pops: readonly PopulationScore[]): string {
  return renderTable(
    ["population", "digits", "accuracy", "weakest digit", "commonest mistakes", "writers", "worst writer"],
    pops.map((p) => {
      const weakest = [...p.perDigit].sort((a, b) => a.accuracy - b.accuracy)[0];
      const w = p.writers?.worst[0];
      return [
        p.name,
        String(p.count),
        pct(p.accuracy),
        weakest ? `${weakest.digit}: ${pct(weakest.accuracy, 1)}` : "",
        said(p.confusions.slice(0, 3)),
        p.writers ? String(p.writers.count) : "",
        w ? `${w.writer} ${pct(w.accuracy, 1)} of ${w.count}` : "",
      ];
    }),
    { right: [1, 2] },
  );
}

/** The worst writers across populations, each with the mistakes that sank them. */
export function worstWritersTable(pops: readonly PopulationScore[], top = 8): string {
  const rows = pops
    .flatMap((p) => (p.writers?.worst ?? []).map((w) => ({ ...w, population: p.name })))
    .sort((a, b) => a.accuracy - b.accuracy)
    .slice(0, top);
  return renderTable(
    ["population", "writer", "digits", "accuracy", "mistakes"],
    rows.map((w) => [w.population, w.writer, String(w.count), pct(w.accuracy, 1), said(w.confusions)]),
    { right: [2, 3] },
  );
}
