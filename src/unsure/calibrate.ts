/**
 * Knowing when not to guess. Temperature scaling fitted on real digits the model never trained on (by
 * default USPS's held-out fifth and the drawn-styles set: other writers, other pens), folded into the model
 * itself — the final Dense layer's kernel and bias divided by T are its logits divided by T — so every runtime
 * reading model.onnx gets calibrated probabilities. Then the "unsure" threshold: the largest top probability
 * that still answers `coverage` (99%) of those digits, recorded in the metadata, which the CLI, the API and
 * the page read.
 */
import { fromArchitecture, type Predictor, type Sequential } from "../engine/index.js";
import {
  confidences,
  fitTemperature,
  nll,
  reliability,
  temper,
  thresholdFor,
} from "../metrics/calibration.js";
import { saveModel, type LoadedModel } from "../saved/saved-model.js";

export interface Calibration {
  temperature: number;
  /** Below this (calibrated) top probability the answer is "unsure". */
  threshold: number;
  /** The share of the calibration digits answered at the threshold. */
  coverage: number;
  /** What it was fitted on, and how many digits. */
  fittedOn: string[];
  count: number;
  before: { nll: number; ece: number };
  after: { nll: number; ece: number };
}

/** Where the answer threshold sits when a model has no calibration. */
export const DEFAULT_THRESHOLD = 0.6;

/** The threshold below which a model's answers are "unsure". */
export const unsureThreshold = (metadata: { calibration?: { threshold?: number } }) =>
  metadata.calibration?.threshold ?? DEFAULT_THRESHOLD;

export interface LabelledSet {
  name: string;
  x: Float32Array;
  labels: Uint8Array;
}

/** Fits the temperature and threshold on `sets` (their probabilities from `predictor`). */
export async function fitCalibration(
  predictor: Predictor,
  sets: readonly LabelledSet[],
  coverage = 0.99,
): Promise<Calibration> {
  const classes = predictor.classes;
  const parts = await Promise.all(sets.map((s) => predictor.predict(s.x)));
  const probabilities = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (probabilities.set(p, at), at + p.length), 0);
  const labels = Uint8Array.from(sets.flatMap((s) => Array.from(s.labels)));
  const temperature = fitTemperature(probabilities, labels, classes);
  const tempered = temper(probabilities, classes, temperature);
  const top = confidences(tempered, classes);
  const threshold = thresholdFor(top, coverage);
  return {
    temperature,
    threshold,
    coverage: top.filter((v) => v >= threshold).length / top.length,
    fittedOn: sets.map((s) => s.name),
    count: labels.length,
    before: {
      nll: nll(probabilities, labels, classes),
      ece: reliability(probabilities, labels, classes).ece,
    },
    after: { nll: nll(tempered, labels, classes), ece: reliability(tempered, labels, classes).ece },
  };
}

/** A copy of the model with its logits divided by T: the final Dense layer's kernel and bias scaled by 1/T. */
export function tempered(model: Sequential, temperature: number): Sequential {
  const last = model.plan[model.plan.length - 1];
  if (last.layer.className !== "Dense" || last.layer.config.activation !== "softmax")
    throw new Error(
      "calibration folds the temperature into a final Dense softmax layer; this model ends otherwise",
    );
  const weights = new Map(model.weights);
  for (const key of [`${last.name}/kernel`, `${last.name}/bias`]) {
    const w = weights.get(key);
    if (w)
      weights.set(
        key,
        Float32Array.from(w, (v) => v / temperature),
      );
  }
  const copy = fromArchitecture(model.architecture(), { seed: model.seed });
  copy.setWeights(weights);
  return copy;
}

/**
 * Saves `loaded`'s tempered copy (`tempered(loaded.model, calibration.temperature)`) into `out`, the calibration
 * in its metadata, with the test metrics given (the tempered model's loss differs; its accuracy does not).
 */
export function saveCalibrated(
  loaded: LoadedModel,
  model: Sequential,
  calibration: Calibration,
  out: string,
  test?: { accuracy: number; loss: number; count: number },
): void {
  if (loaded.members.length > 1) throw new Error(`${loaded.dir}: an ensemble; calibrate its members`);
  const m = loaded.metadata;
  saveModel(out, model, {
    architectureName: m.architectureName,
    training: m.training,
    history: m.history,
    metrics: test
      ? { ...(m.metrics ?? {}), test: { ...((m.metrics?.test as object) ?? {}), ...test } }
      : m.metrics,
    calibration: { ...calibration },
  });
}
