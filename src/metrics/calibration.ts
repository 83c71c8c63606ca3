/** Calibration: are the model's confidences right? Reliability bins and the expected calibration error. */
import { argmax } from "../util/argmax.js";

export interface ReliabilityBin {
  lo: number;
  hi: number;
  count: number;
  /** Mean top probability of the predictions in the bin. */
  confidence: number;
  /** Fraction of them that were right. */
  accuracy: number;
}

export function reliability(
  probabilities: Float32Array,
  truth: ArrayLike<number>,
  classes: number,
  bins = 10,
): { bins: ReliabilityBin[]; ece: number } {
  const count = truth.length;
  const acc = Array.from({ length: bins }, (_, i) => ({
    lo: i / bins,
    hi: (i + 1) / bins,
    count: 0,
    conf: 0,
    right: 0,
  }));
  for (let i = 0; i < count; i++) {
    const best = argmax(probabilities, i * classes, classes);
    const p = probabilities[i * classes + best];
    const b = acc[Math.min(bins - 1, Math.floor(p * bins))];
    b.count++;
    b.conf += p;
    if (best === truth[i]) b.right++;
  }
  let ece = 0;
  const out = acc.map((b) => {
    const confidence = b.count ? b.conf / b.count : 0;
    const accuracy = b.count ? b.right / b.count : 0;
    ece += (b.count / count) * Math.abs(accuracy - confidence);
    return { lo: b.lo, hi: b.hi, count: b.count, confidence, accuracy };
  });
  return { bins: out, ece };
}
