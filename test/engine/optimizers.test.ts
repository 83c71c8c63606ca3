/** Optimizer step sizes, including Keras's cosine learning-rate decay, and their effect on training. */
import { describe, expect, it } from "vitest";
import { adam, dense, fit, flatten, input, sequential, sgd } from "../../src/engine/index.js";
import { mnistSlice } from "../helpers/mnist.js";

const cosine = (lr: number, steps: number, alpha: number, t: number) =>
  lr * (alpha + (1 - alpha) * 0.5 * (1 + Math.cos((Math.PI * Math.min(t - 1, steps)) / steps)));

describe("learning-rate decay", () => {
  it("follows Keras's CosineDecay in Adam's bias-corrected step size and in SGD's rate", () => {
    const a = adam({ learningRate: 0.01, decaySteps: 4 });
    for (const t of [1, 2, 3, 4, 5, 6]) {
      const corrected = (cosine(0.01, 4, 0, t) * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
      expect(a.scalars(t).adam_alpha).toBeCloseTo(corrected, 12);
    }
    expect(a.scalars(1).adam_alpha).toBeCloseTo((0.01 * Math.sqrt(1 - 0.999)) / (1 - 0.9), 12);
    expect(a.scalars(5).adam_alpha).toBe(0);
    const s = sgd({ learningRate: 0.01, decaySteps: 4, decayAlpha: 0.1 });
    expect(s.scalars(3).sgd_lr).toBeCloseTo(0.0055, 12);
    expect(s.scalars(99).sgd_lr).toBeCloseTo(0.001, 12);
    expect(adam().scalars(1000).adam_alpha).toBeCloseTo(
      (0.001 * Math.sqrt(1 - 0.999 ** 1000)) / (1 - 0.9 ** 1000),
      12,
    );
    expect(() => adam({ decaySteps: -1 })).toThrow(/decaySteps/);
  });

  it("stops moving the weights once a decay to zero has run its steps", async () => {
    const train = await mnistSlice("train", 0, 256);
    const model = sequential([input([28, 28, 1]), flatten(), dense({ units: 10, activation: "softmax" })], {
      seed: 1,
    });
    const snapshots: Map<string, Float32Array>[] = [];
    const { done } = fit(model, train.x, train.labels, {
      optimizer: adam({ learningRate: 0.01, decaySteps: 8 }), // two epochs of 4 batches
      epochs: 3,
      batchSize: 64,
      inProcess: true,
      onEpochEnd: (_e, _logs, weights) => void snapshots.push(weights),
    });
    await done;
    const kernel = (i: number) => snapshots[i].get("dense/kernel") as Float32Array;
    expect(kernel(1)).not.toEqual(kernel(0));
    expect(kernel(2)).toEqual(kernel(1));
  });
});
