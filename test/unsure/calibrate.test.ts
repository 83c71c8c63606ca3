/** Temperature scaling, the threshold, the non-digit set, and the calibrated shipped model. */
import { describe, expect, it } from "vitest";
import { predict } from "../../src/engine/index.js";
import { Random } from "../../src/util/random.js";
import {
  confidences,
  fitTemperature,
  selective,
  temper,
  thresholdFor,
} from "../../src/metrics/calibration.js";
import { DEFAULT_MODEL_DIR } from "../../src/paths.js";
import { tempered, unsureThreshold } from "../../src/unsure/calibrate.js";
import { KINDS, nonDigitSet } from "../../src/unsure/nondigits.js";
import { refusals } from "../../src/unsure/refusals.js";
import { loadModel } from "../../src/saved/saved-model.js";
import { mnistSlice } from "../helpers/mnist.js";

describe("temperature scaling", () => {
  it("recovers the temperature that generated the labels", () => {
    // Probabilities softmax(z), labels drawn from softmax(z / 2): the right correction is T = 2.
    const rng = new Random(3);
    const n = 4000;
    const p = new Float32Array(n * 10);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const z = Array.from({ length: 10 }, () => rng.uniform(-1, 1) * 6);
      const row = temper(Float32Array.from(z, Math.exp), 10, 1);
      p.set(row, i * 10);
      const truth = temper(row, 10, 2);
      let u = rng.next();
      labels[i] = truth.findIndex((q) => (u -= q) <= 0);
      if (labels[i] === 255) labels[i] = 9;
    }
    expect(fitTemperature(p, labels, 10)).toBeCloseTo(2, 0);
    expect(Math.abs(fitTemperature(p, labels, 10) - 2)).toBeLessThan(0.15);
  });

  it("folds T into the last layer: the tempered model's probabilities are the tempered probabilities", async () => {
    const { model } = loadModel(DEFAULT_MODEL_DIR);
    const { x } = await mnistSlice("t10k", 0, 20);
    const hot = tempered(model, 3);
    const want = temper(await predict(model, x), 10, 3);
    const got = await predict(hot, x);
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    expect(model.weights.get("dense_1/bias")).not.toEqual(hot.weights.get("dense_1/bias")); // a copy
  });

  it("sets the threshold at the coverage asked, and trades coverage for accuracy", () => {
    const top = Float32Array.from({ length: 100 }, (_, i) => (i + 1) / 100);
    expect(thresholdFor(top, 0.9)).toBeCloseTo(0.11, 6); // 90 of 100 at or above it
    const p = Float32Array.from([0.9, 0.1, 0.4, 0.6, 0.55, 0.45]);
    const [all, strict] = selective(p, [0, 0, 0], 2, [0, 0.58]);
    expect(all).toEqual({ threshold: 0, coverage: 1, accuracy: 2 / 3 });
    expect(strict).toMatchObject({ coverage: 2 / 3, accuracy: 0.5 });
    expect(Array.from(confidences(p, 2))).toEqual([0.9, 0.6, 0.55].map((v) => expect.closeTo(v, 6)));
  });
});

describe("the shipped model, calibrated", () => {
  it("records its temperature and threshold, fitted on digits it never trained on", () => {
    const { metadata } = loadModel(DEFAULT_MODEL_DIR);
    expect(metadata.calibration?.fittedOn).toEqual(["usps (test split)", "drawn styles"]);
    expect(metadata.calibration?.coverage).toBeGreaterThanOrEqual(0.99);
    expect(unsureThreshold(metadata)).toBe(metadata.calibration?.threshold);
    expect(unsureThreshold({})).toBe(0.6);
  });

  it("refuses non-digits of every kind and keeps ≥ 99% of MNIST digits answered", async () => {
    const set = nonDigitSet(30, 7);
    expect(nonDigitSet(30, 7).x).toEqual(set.x); // the same for the same seed
    expect(new Set(set.kinds)).toEqual(new Set(KINDS));
    const loaded = loadModel(DEFAULT_MODEL_DIR);
    const predictor = await loaded.predictor();
    const { x, labels } = await mnistSlice("t10k", 0, 2000);
    const digits = { probabilities: await predictor.predict(x), labels };
    const r = await refusals(predictor, unsureThreshold(loaded.metadata), digits, set);
    await predictor.release();
    expect(r.digits.coverage).toBeGreaterThanOrEqual(0.99);
    const all = r.nonDigits.find((k) => k.kind === "all")!;
    expect(all.made).toBe(150);
    expect(all.refused / all.made).toBeGreaterThan(0.2);
    for (const k of r.nonDigits) expect(k.refused, k.kind).toBeGreaterThan(0);
  });
});
