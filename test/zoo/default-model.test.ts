/** The model shipped in models/default: loads, and is as good as its metadata says on the MNIST test set. */
import { describe, expect, it } from "vitest";
import { loadMnist } from "../../src/data/mnist.js";
import { evaluate } from "../../src/engine/index.js";
import { DEFAULT_MODEL_DIR } from "../../src/paths.js";
import { loadModel } from "../../src/zoo/saved-model.js";

describe("the shipped default model", () => {
  it("loads and reaches ≥ 99.0% on the 10,000 MNIST test digits, as recorded in its metadata", async () => {
    const { model, metadata } = loadModel(DEFAULT_MODEL_DIR);
    const { test } = await loadMnist();
    const result = await evaluate(model, test.x, test.labels);
    expect(result.accuracy).toBeGreaterThanOrEqual(0.99);
    expect(result.accuracy).toBeCloseTo((metadata.metrics?.test as { accuracy: number }).accuracy, 6);
    expect(metadata.training?.epochs).toBe(10);
  });
});
