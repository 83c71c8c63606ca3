/** Optimizer step sizes, including Keras's cosine learning-rate decay, and their effect on training. */
import { describe, expect, it } from "vitest";
import { adam, dense, fit, flatten, input, predict, sequential, sgd } from "../../src/engine/index.js";
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

describe("one-cycle and step schedules", () => {
  it("one-cycle warms up from lr/div to lr, then anneals to lr/(div·finalDiv); step multiplies by γ", () => {
    const s = sgd({
      learningRate: 0.1,
      schedule: "onecycle",
      decaySteps: 10,
      warmup: 0.3,
      div: 10,
      finalDiv: 100,
    });
    const lr = (t: number) => s.learningRate(t);
    expect(lr(1)).toBeCloseTo(0.01, 12);
    expect(lr(4)).toBeCloseTo(0.1, 12); // the peak after 3 warm-up steps
    expect(lr(2)).toBeGreaterThan(lr(1));
    expect(lr(3)).toBeGreaterThan(lr(2));
    expect(lr(5)).toBeLessThan(lr(4));
    expect(lr(11)).toBeCloseTo(0.1 / 1000, 12);
    expect(lr(50)).toBeCloseTo(0.1 / 1000, 12);
    const step = sgd({ learningRate: 0.1, schedule: "step", stepEvery: 3, stepGamma: 0.5 });
    expect([1, 3, 4, 7, 10].map((t) => step.learningRate(t))).toEqual([0.1, 0.1, 0.05, 0.025, 0.0125]);
    expect(() => sgd({ schedule: "onecycle" })).toThrow(/one-cycle schedule needs decaySteps/);
    expect(() => sgd({ schedule: "step" })).toThrow(/step schedule needs stepEvery/);
  });
});

describe("AdamW and label smoothing", () => {
  const linear = (seed: number) =>
    sequential([input([28, 28, 1]), flatten(), dense({ units: 10, activation: "softmax" })], { seed });

  it("AdamW takes exactly lr·wd of each weight per step, besides Adam's own step", async () => {
    const a = adam({ learningRate: 0.01, weightDecay: 0.1 });
    expect(a.scalarInputs).toEqual(["adam_alpha", "adam_decay"]);
    expect(a.scalars(3).adam_decay).toBeCloseTo(0.001, 12);
    expect(adam().scalarInputs).toEqual(["adam_alpha"]);
    // One step on one batch from the same weights: AdamW's result is Adam's minus lr·wd·w0.
    const train = await mnistSlice("train", 0, 64);
    const after = async (weightDecay: number) => {
      const model = linear(1);
      await fit(model, train.x, train.labels, {
        optimizer: adam({ learningRate: 0.01, weightDecay }),
        batchSize: 64,
        shuffle: false,
        inProcess: true,
      }).done;
      return model.weights.get("dense/kernel") as Float32Array;
    };
    const w0 = linear(1).weights.get("dense/kernel") as Float32Array;
    const [plain, decayed] = [await after(0), await after(0.5)];
    const worst = Math.max(...w0.map((w, i) => Math.abs(decayed[i] - (plain[i] - 0.01 * 0.5 * w))));
    expect(worst).toBeLessThan(1e-6);
  });

  it("label smoothing trains on (1 − ε)·one-hot + ε/K: a step's loss is the smoothed cross-entropy", async () => {
    const train = await mnistSlice("train", 0, 256);
    const model = linear(3);
    await fit(model, train.x, train.labels, {
      optimizer: adam({ learningRate: 0.01 }),
      epochs: 3,
      inProcess: true,
    }).done;
    const before = await predict(model, train.x.subarray(0, 64 * 784));
    const firstLoss = async (labelSmoothing: number, replicas = 1) => {
      const copy = linear(3);
      copy.setWeights(model.weights);
      const { history } = await fit(copy, train.x.subarray(0, 64 * 784), train.labels.subarray(0, 64), {
        optimizer: sgd({ learningRate: 1e-9 }),
        batchSize: 64,
        shuffle: false,
        step: { labelSmoothing },
        replicas,
        inProcess: true,
      }).done;
      return history[0].loss;
    };
    const expected = (eps: number) => {
      let loss = 0;
      for (let i = 0; i < 64; i++)
        for (let c = 0; c < 10; c++)
          loss -= ((c === train.labels[i] ? 1 - eps : 0) + eps / 10) * Math.log(before[i * 10 + c]);
      return loss / 64;
    };
    expect(expected(0.1) - expected(0)).toBeGreaterThan(0.05); // a trained model: smoothing changes the loss
    for (const eps of [0, 0.1]) expect(await firstLoss(eps)).toBeCloseTo(expected(eps), 3);
    expect(await firstLoss(0.1, 2)).toBeCloseTo(expected(0.1), 3); // data-parallel replicas smooth too
  });
});
