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

/** Probabilities tempered by T: softmax(log p / T), row by row (T > 1 softens, T < 1 sharpens). */
export function temper(probabilities: Float32Array, classes: number, t: number): Float32Array {
  const out = new Float32Array(probabilities.length);
  for (let r = 0; r < probabilities.length / classes; r++) {
    const row = probabilities.subarray(r * classes, (r + 1) * classes);
    const logs = Array.from(row, (p) => Math.log(Math.max(p, 1e-30)) / t);
    const max = Math.max(...logs);
    const sum = logs.reduce((s, l) => s + Math.exp(l - max), 0);
    logs.forEach((l, c) => (out[r * classes + c] = Math.exp(l - max) / sum));
  }
  return out;
}

/** Mean negative log-likelihood of the true classes. */
export function nll(probabilities: Float32Array, truth: ArrayLike<number>, classes: number): number {
  let s = 0;
  for (let i = 0; i < truth.length; i++)
    s -= Math.log(Math.max(probabilities[i * classes + truth[i]], 1e-30));
  return s / truth.length;
}

/**
 * Temperature scaling (Guo et al. 2017): the T that minimises the negative log-likelihood of held-out digits'
 * tempered probabilities — golden-section search over log T, which NLL is unimodal in.
 */
export function fitTemperature(
  probabilities: Float32Array,
  truth: ArrayLike<number>,
  classes: number,
): number {
  const loss = (logT: number) => nll(temper(probabilities, classes, Math.exp(logT)), truth, classes);
  const phi = (Math.sqrt(5) - 1) / 2;
  let [a, b] = [Math.log(0.05), Math.log(20)];
  for (let i = 0; i < 60; i++) {
    const [c, d] = [b - phi * (b - a), a + phi * (b - a)];
    if (loss(c) < loss(d)) b = d;
    else a = c;
  }
  return Math.exp((a + b) / 2);
}

/** Each row's top probability. */
export function confidences(probabilities: Float32Array, classes: number): Float32Array {
  return Float32Array.from({ length: probabilities.length / classes }, (_, i) =>
    Math.max(...probabilities.subarray(i * classes, (i + 1) * classes)),
  );
}

/** The largest threshold that still answers `coverage` of these digits (their top probabilities). */
export function thresholdFor(top: Float32Array, coverage: number): number {
  const sorted = Float32Array.from(top).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor((1 - coverage) * sorted.length + 1e-9)))];
}

export interface SelectivePoint {
  threshold: number;
  /** Fraction answered (top probability ≥ threshold). */
  coverage: number;
  /** Accuracy on the answered ones. */
  accuracy: number;
}

/** Coverage and accuracy of the answered digits at each threshold: what refusing below it trades. */
export function selective(
  probabilities: Float32Array,
  truth: ArrayLike<number>,
  classes: number,
  thresholds: readonly number[],
): SelectivePoint[] {
  const n = truth.length;
  const best = Array.from({ length: n }, (_, i) => argmax(probabilities, i * classes, classes));
  return thresholds.map((threshold) => {
    let answered = 0;
    let right = 0;
    for (let i = 0; i < n; i++)
      if (probabilities[i * classes + best[i]] >= threshold) {
        answered++;
        if (best[i] === truth[i]) right++;
      }
    return { threshold, coverage: answered / n, accuracy: answered ? right / answered : 1 };
  });
}
