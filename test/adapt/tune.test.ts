/**
 * The adaptation the page and `digits finetune` share, on bad input and when stopped: a blank digit, a label
 * outside 0–9, digits of the wrong size, or a tuning stopped part way leave the model's weights exactly as
 * they were.
 */
import { describe, expect, it } from "vitest";
import { adapt, nodeRuntime, type Digits } from "../../src/adapt/index.js";
import { loadModel } from "../../src/saved/saved-model.js";
import { DEFAULT_MODEL_DIR } from "../../src/paths.js";
import { mnistSlice } from "../helpers/mnist.js";

const snapshot = (m: ReturnType<typeof loadModel>["model"]) =>
  new Map([...m.weights].map(([k, v]) => [k, Float32Array.from(v)]));

describe("adapt", () => {
  it("refuses a blank digit, a label outside 0–9 and digits of the wrong size, leaving the model as it was", async () => {
    const { model } = loadModel(DEFAULT_MODEL_DIR);
    const before = snapshot(model);
    const mine = await mnistSlice("t10k", 0, 10);
    const digits: Digits = { x: mine.x.slice(), labels: mine.labels.slice() };
    const rt = nodeRuntime({ threads: 1 });
    const blank = { x: digits.x.slice(), labels: digits.labels };
    blank.x.fill(0, 3 * 784, 4 * 784);
    await expect(adapt(rt, model, blank, undefined, { steps: 2 })).rejects.toThrow(
      `your digits: digit 3 (a ${digits.labels[3]}) is blank`,
    );
    const twelve = { x: digits.x, labels: Uint8Array.from(digits.labels, (l, i) => (i === 5 ? 12 : l)) };
    await expect(adapt(rt, model, twelve, undefined, { steps: 2 })).rejects.toThrow(
      "your digits: digit 5 is labelled 12, outside 0–9",
    );
    await expect(
      adapt(rt, model, { x: digits.x.subarray(0, 700), labels: digits.labels }, undefined),
    ).rejects.toThrow("your digits: 700 values for 10 digits of 784 each");
    expect(snapshot(model)).toEqual(before);
  });

  it("leaves the model as it was when stopped part way; otherwise tunes it and records how", async () => {
    const { model } = loadModel(DEFAULT_MODEL_DIR);
    const before = snapshot(model);
    const mine = await mnistSlice("t10k", 0, 20);
    const replay = await mnistSlice("train", 0, 100);
    const rt = nodeRuntime({ threads: 1 });
    let steps = 0;
    const stop = (step: number) => {
      steps = step;
      if (step === 3) throw new Error("stopped at step 3");
    };
    await expect(adapt(rt, model, mine, replay, { steps: 10 }, { onStep: stop })).rejects.toThrow(
      "stopped at step 3",
    );
    expect(steps).toBe(3);
    expect(snapshot(model)).toEqual(before);
    const record = await adapt(rt, model, mine, replay, { steps: 5 });
    expect(record).toMatchObject({ digits: 20, replay: 100, steps: 5, share: 0.40625, batchSize: 32 });
    expect(record.perClass.reduce((a, b) => a + b)).toBe(20);
    expect(snapshot(model)).not.toEqual(before);
  });
});
