/**
 * What a threshold does: on real digits, how many it still answers and how right those answers are; on the
 * non-digit set, how many of each kind it refuses (below the threshold, or no ink found at all).
 */
import type { Predictor } from "../engine/index.js";
import { confidences, selective } from "../metrics/calibration.js";
import { KINDS, type Kind, type NonDigitSet } from "./nondigits.js";

export interface Refusals {
  threshold: number;
  digits: { count: number; coverage: number; accuracyAnswered: number };
  nonDigits: { kind: Kind | "all"; made: number; refused: number; noInk: number }[];
}

/** `digits.probabilities`: the model's answers on the real digits, as the caller already holds them. */
export async function refusals(
  predictor: Predictor,
  threshold: number,
  digits: { probabilities: Float32Array; labels: Uint8Array },
  nonDigits: NonDigitSet,
): Promise<Refusals> {
  const classes = predictor.classes;
  const [real] = selective(digits.probabilities, digits.labels, classes, [threshold]);
  const top = confidences(await predictor.predict(nonDigits.x), classes);
  const perKind = KINDS.map((kind) => {
    const below = nonDigits.kinds.filter((k, i) => k === kind && top[i] < threshold).length;
    return {
      kind,
      made: nonDigits.made[kind],
      refused: below + nonDigits.noInk[kind],
      noInk: nonDigits.noInk[kind],
    };
  });
  const sum = (f: (r: (typeof perKind)[number]) => number) => perKind.reduce((s, r) => s + f(r), 0);
  return {
    threshold,
    digits: { count: digits.labels.length, coverage: real.coverage, accuracyAnswered: real.accuracy },
    nonDigits: [
      ...perKind,
      { kind: "all", made: sum((r) => r.made), refused: sum((r) => r.refused), noInk: sum((r) => r.noInk) },
    ],
  };
}
