/** Data-parallel steps: the same training as one session on the whole batch, on real MNIST. */
import { describe, expect, it } from "vitest";
import { adam, dense, dropout, flatten, input, sequential, sgd } from "../../src/engine/index.js";
import type { Optimizer } from "../../src/engine/compiler/optimizers.js";
import { DataParallelStepper, defaultReplicas } from "../../src/engine/runtime/replicas.js";
import { SessionStepper, type StepPlan, type Stepper } from "../../src/engine/runtime/step.js";
import { nodeRuntime } from "../../src/engine/runtime/ort.js";
import { parseStepSpec } from "../../src/engine/compiler/train-graph.js";
import { buildArchitecture } from "../../src/zoo/architectures.js";
import { mnistSlice, oneHot } from "../helpers/mnist.js";
import { smallReferenceCnn } from "../helpers/models.js";

const cnn = () => smallReferenceCnn([8, 8], 16, 3);
const PLAIN: StepPlan = { step: parseStepSpec(), seed: 0 };

/** Runs the batches (sizes may vary) through a stepper; returns per-step results and the final weights. */
async function train(stepper: Stepper, x: Float32Array, y: Float32Array, sizes: number[]) {
  const results = [];
  let row = 0;
  for (const n of sizes) {
    results.push(await stepper.run(x.subarray(row * 784), y.subarray(row * 10), n));
    row += n;
  }
  const weights = stepper.weights();
  await stepper.release();
  return { results, weights };
}

function maxRelativeDifference(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [key, va] of a) {
    const vb = b.get(key) as Float32Array;
    for (let i = 0; i < va.length; i++) {
      worst = Math.max(worst, Math.abs(va[i] - vb[i]) / Math.max(1e-3, Math.abs(va[i])));
    }
  }
  return worst;
}

describe("data-parallel training steps", () => {
  const cases: [string, () => Optimizer, number][] = [
    ["Adam, two replicas", () => adam(), 2],
    ["SGD with momentum, three replicas", () => sgd({ learningRate: 0.05, momentum: 0.9 }), 3],
  ];
  for (const [name, optimizer, replicas] of cases) {
    it(`match one session on the whole batch (${name}; uneven and one-image batches too)`, async () => {
      const sizes = [32, 32, 33, 31, 1, 32];
      const slice = await mnistSlice(
        "train",
        0,
        sizes.reduce((a, b) => a + b),
      );
      const y = oneHot(slice.labels);
      const single = await train(
        new SessionStepper(nodeRuntime(), cnn(), optimizer(), PLAIN),
        slice.x,
        y,
        sizes,
      );
      const model = cnn();
      const parallel = await train(
        await DataParallelStepper.create(model, optimizer(), 33, replicas, PLAIN),
        slice.x,
        y,
        sizes,
      );
      parallel.results.forEach((r, i) => {
        expect(r.correct).toBe(single.results[i].correct);
        expect(r.loss).toBeCloseTo(single.results[i].loss, 5);
      });
      // Training moved the weights, and both ways moved them alike (float sums differ only in order).
      expect(maxRelativeDifference(single.weights, model.weights)).toBeGreaterThan(1e-2);
      expect(maxRelativeDifference(single.weights, parallel.weights)).toBeLessThan(1e-4);
    });
  }

  it("gives each replica its own dropout masks, and training still learns", async () => {
    const model = sequential(
      [
        input([28, 28, 1]),
        flatten(),
        dense({ units: 64, activation: "relu" }),
        dropout({ rate: 0.5 }),
        dense({ units: 10, activation: "softmax" }),
      ],
      { seed: 1 },
    );
    const slice = await mnistSlice("train", 0, 2048);
    const y = oneHot(slice.labels);
    // The same 32 images twice: with identical masks the two halves' losses would be equal.
    const twice = new Float32Array(64 * 784);
    twice.set(slice.x.subarray(0, 32 * 784));
    twice.set(slice.x.subarray(0, 32 * 784), 32 * 784);
    const y2 = new Float32Array(64 * 10);
    y2.set(y.subarray(0, 320));
    y2.set(y.subarray(0, 320), 320);
    const stepper = await DataParallelStepper.create(model, adam(), 64, 2, PLAIN);
    const first = await stepper.run(twice, y2, 64);
    const stats = (stepper as unknown as { s: { stats: Float64Array } }).s.stats;
    expect(stats[0]).not.toBe(stats[2]);
    let last = first;
    for (let epoch = 0; epoch < 3; epoch++) {
      for (let b = 0; b < 32; b++)
        last = await stepper.run(slice.x.subarray(b * 64 * 784), y.subarray(b * 640), 64);
    }
    await stepper.release();
    expect(last.loss).toBeLessThan(first.loss / 2);
  });

  it("train batch norm with per-replica statistics: moving means as one session's, and training learns", async () => {
    const slice = await mnistSlice("train", 0, 256);
    const y = oneHot(slice.labels);
    const bn = () => buildArchitecture("batchnorm", 5);
    // One step on 64 images split 32/32: each replica normalises by its own share's statistics, and the
    // moving means, averaged by share, are exactly those of one session on all 64.
    const single = await train(new SessionStepper(nodeRuntime(), bn(), adam(), PLAIN), slice.x, y, [64]);
    const parallel = await train(
      await DataParallelStepper.create(bn(), adam(), 64, 2, PLAIN),
      slice.x,
      y,
      [64],
    );
    for (const key of ["batch_normalization/moving_mean", "batch_normalization_1/moving_mean"]) {
      const [a, b] = [single.weights.get(key) as Float32Array, parallel.weights.get(key) as Float32Array];
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]))), key).toBeLessThan(1e-6);
    }
    // The loss differs a little (each share is normalised by its own statistics), not a lot.
    expect(Math.abs(parallel.results[0].loss - single.results[0].loss)).toBeLessThan(0.05);
    const stepper = await DataParallelStepper.create(bn(), adam(), 64, 2, PLAIN);
    const first = await stepper.run(slice.x, y, 64);
    let last = first;
    for (let epoch = 0; epoch < 3; epoch++)
      for (let b = 0; b < 4; b++)
        last = await stepper.run(slice.x.subarray(b * 64 * 784), y.subarray(b * 640), 64);
    await stepper.release();
    expect(last.loss).toBeLessThan(first.loss / 2);
  });

  it("are chosen for models without batch statistics, one replica per core with ≥ 16 images each", () => {
    expect(defaultReplicas(buildArchitecture("reference", 1), 32, 2)).toBe(2);
    expect(defaultReplicas(buildArchitecture("reference", 1), 32, 8)).toBe(2);
    expect(defaultReplicas(buildArchitecture("reference", 1), 128, 8)).toBe(8);
    expect(defaultReplicas(buildArchitecture("reference", 1), 16, 2)).toBe(1);
    expect(defaultReplicas(buildArchitecture("batchnorm", 1), 128, 2)).toBe(1);
  });

  it("fail clearly when training diverges, and still release their workers", async () => {
    const slice = await mnistSlice("train", 0, 64);
    const stepper = await DataParallelStepper.create(cnn(), sgd({ learningRate: 1e30 }), 64, 2, PLAIN);
    const y = oneHot(slice.labels);
    const run = async () => {
      for (let i = 0; i < 10; i++) await stepper.run(slice.x, y, 64);
    };
    await expect(run()).rejects.toThrow(/diverged/);
    await stepper.release();
  });
});
