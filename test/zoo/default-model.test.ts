/**
 * The model shipped in models/default: loads, is as good as its metadata says on the MNIST test set, and
 * reads the pen sets' held-out writers (people it never saw, drawn as the page draws them).
 */
import { describe, expect, it } from "vitest";
import path from "node:path";
import { loadDataset } from "../../src/data/dataset.js";
import { loadMnist } from "../../src/data/mnist.js";
import { scoreParts } from "../../src/metrics/populations.js";
import { argmaxRows } from "../../src/util/argmax.js";
import { evaluate } from "../../src/engine/index.js";
import { DEFAULT_MODEL_DIR } from "../../src/paths.js";
import { loadModel } from "../../src/saved/saved-model.js";

describe("the shipped default model", () => {
  it("loads and reaches ≥ 99.0% on the 10,000 MNIST test digits, as recorded in its metadata", async () => {
    const { model, metadata } = loadModel(DEFAULT_MODEL_DIR);
    const { test } = await loadMnist();
    const result = await evaluate(model, test.x, test.labels);
    expect(result.accuracy).toBeGreaterThanOrEqual(0.99);
    expect(result.accuracy).toBeCloseTo((metadata.metrics?.test as { accuracy: number }).accuracy, 6);
    expect(metadata.training?.epochs).toBe(10);
  });

  it("reads ≥ 98% of the held-out pendigits and UNIPEN writers, drawn as the page draws them", async () => {
    const data = await loadDataset("pendigits+unipen", {
      dataDir: path.resolve(import.meta.dirname, "../../../shared/datasets"),
      testOnly: true,
    });
    const predictor = await loadModel(DEFAULT_MODEL_DIR).predictor();
    const probabilities = await predictor.predict(data.test.x);
    await predictor.release();
    const [pen, unipen] = scoreParts(data.parts, argmaxRows(probabilities, 10));
    expect([pen.writers!.count, unipen.writers!.count]).toEqual([6, 53]);
    expect(pen.accuracy).toBeGreaterThanOrEqual(0.98);
    expect(unipen.accuracy).toBeGreaterThanOrEqual(0.98);
  }, 120_000);
});
