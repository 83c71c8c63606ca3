/** fit / evaluate / predict on real MNIST: learning, reproducibility, the worker, stopping, bad input. */
import { describe, expect, it } from "vitest";
import {
  adam,
  dense,
  evaluate,
  fit,
  flatten,
  input,
  predict,
  sequential,
  sgd,
  conv2d,
  maxPooling2d,
  dropout,
  batchNormalization,
} from "../../src/engine/index.js";
import { mnistSlice } from "../helpers/mnist.js";

const small = (seed = 1) =>
  sequential(
    [
      input([28, 28, 1]),
      conv2d({ filters: 8, kernelSize: 3, activation: "relu" }),
      maxPooling2d(),
      flatten(),
      dense({ units: 32, activation: "relu" }),
      dense({ units: 10, activation: "softmax" }),
    ],
    { seed },
  );

describe("fit", () => {
  it("learns real digits, in a worker, and evaluate agrees with the reported validation", async () => {
    const train = await mnistSlice("train", 0, 3000);
    const test = await mnistSlice("t10k", 0, 1000);
    const model = small();
    const before = await evaluate(model, test.x, test.labels);
    const progress: number[] = [];
    const { done } = fit(model, train.x, train.labels, {
      optimizer: adam(),
      epochs: 3,
      batchSize: 32,
      validationData: { x: test.x, labels: test.labels },
      onBatch: (p) => progress.push(p.batch),
    });
    const result = await done;
    expect(result.history).toHaveLength(3);
    expect(result.history[2].loss).toBeLessThan(result.history[0].loss);
    expect(progress.length).toBeGreaterThan(0);
    const after = await evaluate(model, test.x, test.labels);
    expect(before.accuracy).toBeLessThan(0.3);
    expect(after.accuracy).toBeGreaterThan(0.85);
    expect(after.accuracy).toBeCloseTo(result.history[2].val_accuracy as number, 6);
    expect(after.loss).toBeCloseTo(result.history[2].val_loss as number, 4);
  });

  it("is reproducible from a seed, in-process or in a worker", async () => {
    const train = await mnistSlice("train", 0, 500);
    const run = async (inProcess: boolean) => {
      const model = small(7);
      await fit(model, train.x, train.labels, {
        optimizer: adam(),
        epochs: 1,
        batchSize: 50,
        seed: 3,
        inProcess,
      }).done;
      return model.weights.get("dense_1/kernel") as Float32Array;
    };
    const [a, b] = [await run(true), await run(false)];
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it("trains on images kept as bytes exactly as on their floats, in-process, in a worker and with a held-out split", async () => {
    const train = await mnistSlice("train", 0, 500);
    const run = async (x: Float32Array | { bytes: Uint8Array; divisor: number }, inProcess: boolean) => {
      const model = small(7);
      const r = await fit(model, x, train.labels, {
        optimizer: adam(),
        epochs: 1,
        batchSize: 50,
        seed: 3,
        validationSplit: 0.2,
        inProcess,
      }).done;
      const { loss, accuracy, val_loss, val_accuracy } = r.history[0];
      return {
        kernel: Array.from(model.weights.get("dense_1/kernel") as Float32Array),
        loss,
        accuracy,
        val_loss,
        val_accuracy,
      };
    };
    const floats = await run(train.x, true);
    const bytes = { bytes: train.pixels, divisor: 255 };
    expect(await run(bytes, true)).toEqual(floats);
    expect(await run(bytes, false)).toEqual(floats);
    const halved = await run({ bytes: train.pixels, divisor: 510 }, true);
    expect(halved.kernel).not.toEqual(floats.kernel);
    expect(() =>
      fit(small(), { bytes: train.pixels, divisor: 0 }, train.labels, { optimizer: adam() }),
    ).toThrow(/divisor 0 is not a positive number/);
    expect(() =>
      fit(small(), { bytes: new Uint8Array(700), divisor: 255 }, [1], { optimizer: adam() }),
    ).toThrow(/700 bytes are not a whole number of examples of 784/);
  });

  it("trains the last partial batch, SGD with momentum, dropout and batch norm", async () => {
    const train = await mnistSlice("train", 0, 130);
    const model = sequential([
      input([28, 28, 1]),
      conv2d({ filters: 4, kernelSize: 3 }),
      batchNormalization(),
      maxPooling2d(),
      flatten(),
      dropout({ rate: 0.5 }),
      dense({ units: 10, activation: "softmax" }),
    ]);
    const mean0 = Array.from(model.weights.get("batch_normalization/moving_mean") as Float32Array);
    const r = await fit(model, train.x, train.labels, {
      optimizer: sgd({ learningRate: 0.05, momentum: 0.9 }),
      epochs: 2,
      batchSize: 32,
      inProcess: true,
    }).done;
    expect(r.history).toHaveLength(2);
    expect(Number.isFinite(r.history[1].loss)).toBe(true);
    expect(Array.from(model.weights.get("batch_normalization/moving_mean") as Float32Array)).not.toEqual(
      mean0,
    );
    const p = await predict(model, train.x.subarray(0, 784 * 3));
    expect(p).toHaveLength(30);
  });

  it("stops early when onEpochEnd says so, and stop() ends a run with its weights", async () => {
    const train = await mnistSlice("train", 0, 640);
    const model = small();
    const r = await fit(model, train.x, train.labels, {
      optimizer: adam(),
      epochs: 5,
      batchSize: 64,
      onEpochEnd: (e) => e === 1,
    }).done;
    expect(r.history).toHaveLength(2);
    expect(r.stopped).toBe(true);

    const model2 = small();
    const initial = Float32Array.from(model2.weights.get("dense/kernel") as Float32Array);
    const handle = fit(model2, train.x, train.labels, {
      optimizer: adam(),
      epochs: 50,
      batchSize: 16,
      onBatch: () => handle.stop(),
    });
    const r2 = await handle.done;
    expect(r2.stopped).toBe(true);
    expect(r2.epochsDone).toBeLessThan(50);
    expect(Array.from(model2.weights.get("dense/kernel") as Float32Array)).not.toEqual(Array.from(initial));
  });

  it("leaves frozen layers as they are and trains the others, in process and on replicas", async () => {
    const train = await mnistSlice("train", 0, 512);
    for (const replicas of [1, 2]) {
      const model = small();
      const before = new Map([...model.weights].map(([k, v]) => [k, Float32Array.from(v)]));
      await fit(model, train.x, train.labels, {
        optimizer: adam(),
        epochs: 1,
        batchSize: 64,
        replicas,
        inProcess: true,
        step: { frozen: ["conv2d", "dense"] },
      }).done;
      for (const [key, was] of before) {
        const moved = model.weights.get(key)!.some((v, i) => v !== was[i]);
        expect(moved, `${key} with ${replicas} replica(s)`).toBe(key.startsWith("dense_1/"));
      }
    }
    const frozenWrong = fit(small(), train.x, train.labels, {
      optimizer: adam(),
      inProcess: true,
      step: { frozen: ["max_pooling2d", "conv9"] },
    });
    await expect(frozenWrong.done).rejects.toThrow(
      /frozen names no layer with trainable weights: max_pooling2d, conv9/,
    );
  });

  it("rejects bad input with clear errors", async () => {
    const model = small();
    const x = new Float32Array(784 * 2);
    expect(() => fit(model, new Float32Array(700), [1], { optimizer: adam() })).toThrow(
      /not a whole number of examples of 784/,
    );
    expect(() => fit(model, x, [1, 10], { optimizer: adam() })).toThrow(/label 1 is 10, not a class 0–9/);
    expect(() => fit(model, x, [1], { optimizer: adam() })).toThrow(/1 labels for 2 examples/);
    const nan = x.slice();
    nan[5] = NaN;
    expect(() => fit(model, nan, [1, 2], { optimizer: adam() })).toThrow(/input value 5 .* is NaN/);
    expect(() => fit(model, x, [1, 2], { optimizer: adam(), batchSize: 0 })).toThrow(/batchSize/);
    expect(() => fit(model, x, [1, 2], { optimizer: adam(), batchSize: 4, replicas: 5 })).toThrow(
      /replicas must be an integer from 1 to the batch size \(4\)/,
    );
    expect(() => adam({ learningRate: -1 })).toThrow(/learningRate/);
    // @ts-expect-error an unknown option is an error, not silently ignored
    expect(() => conv2d({ filters: 3, kernelSize: 3, kernal: 2 })).toThrow(/Unrecognized key.*kernal/);
    expect(() => sequential([input([28, 28, 1]), dense({ units: 3 })])).toThrow(/flat input/);
    await expect(predict(model, new Float32Array(10))).rejects.toThrow(/whole number of examples/);
    // @ts-expect-error a typo in fit's options is an error (Keras's name is epochs)
    expect(() => fit(model, x, [1, 2], { optimizer: adam(), epoch: 3 })).toThrow(
      /fit: .*Unrecognized key.*epoch/,
    );
    // @ts-expect-error an optimizer is required, and must be one
    expect(() => fit(model, x, [1, 2], { optimizer: "adam" })).toThrow(
      /fit: optimizer: must be an optimizer/,
    );
    expect(() =>
      fit(model, x, [1, 2], {
        optimizer: adam(),
        validationSplit: 0.5,
        validationData: { x, labels: [1, 2] },
      }),
    ).toThrow(/validationData or validationSplit, not both/);
    expect(() => fit(model, x, [1, 2], { optimizer: adam(), validationSplit: 0.1 })).toThrow(
      /leaves no training or validation data/,
    );
    // @ts-expect-error labels are required to evaluate
    await expect(evaluate(model, x)).rejects.toThrow(/labels are required/);
    await expect(evaluate(model, new Float32Array(0), [])).rejects.toThrow(/no examples/);
  });

  it("holds out the last validationSplit of the examples, as Keras does, and scores them each epoch", async () => {
    const { x, labels } = await mnistSlice("train", 0, 1000);
    const model = small(3);
    const { history } = await fit(model, x, labels, {
      optimizer: adam(),
      epochs: 2,
      batchSize: 50,
      validationSplit: 0.2,
      inProcess: true,
    }).done;
    expect(history.map((h) => h.images_per_second > 0 && h.val_accuracy !== undefined)).toEqual([true, true]);
    // The validation score is exactly the model's on the last 200 examples, which it never trained on.
    const last = await evaluate(model, x.subarray(800 * 784), labels.subarray(800));
    expect(history[1].val_accuracy).toBeCloseTo(last.accuracy, 6);
    expect(history[1].val_loss).toBeCloseTo(last.loss, 4);
  });
});
