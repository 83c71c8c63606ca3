/** The robustness suite: a model's accuracy on the MNIST test set under each controlled shift (shifts.ts). */
import { score, type Predictor } from "../engine/index.js";
import { pct } from "../util/format.js";
import { renderTable } from "../util/table.js";
import { SHIFTS } from "./shifts.js";

export interface ShiftScore {
  shift: string;
  description: string;
  accuracy: number;
  /** Accuracy minus the unshifted accuracy, in points (0–100 scale). */
  change: number;
  count: number;
}

/** Scores `predictor` (a model's, an ensemble's) under every shift; the caller releases it. */
export async function robustness(
  predictor: Predictor,
  test: { x: Float32Array; labels: Uint8Array; count: number },
  onProgress: (m: string) => void = () => {},
): Promise<ShiftScore[]> {
  const scores: ShiftScore[] = [];
  {
    for (const shift of SHIFTS) {
      onProgress(`robustness: ${shift.name}`);
      const x = await shift.apply(test.x, test.count);
      const { accuracy } = score(await predictor.predict(x), test.labels, predictor.classes);
      const base = scores[0]?.accuracy ?? accuracy;
      scores.push({
        shift: shift.name,
        description: shift.description,
        accuracy,
        change: 100 * (accuracy - base),
        count: test.count,
      });
    }
  }
  return scores;
}

export function robustnessTable(scores: readonly ShiftScore[]): string {
  return renderTable(
    ["shift", "accuracy", "change", "what"],
    scores.map((s) => [
      s.shift,
      pct(s.accuracy),
      s.shift === "none" ? "" : `${s.change.toFixed(2)}`,
      s.description,
    ]),
    { right: [1, 2] },
  );
}
