/** Every named architecture trains (its loss falls on real digits), and architectures come from JSON files. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { adam, fit } from "../../src/engine/index.js";
import { ARCHITECTURES, architectureFrom, type ArchitectureName } from "../../src/zoo/architectures.js";
import { mnistSlice } from "../helpers/mnist.js";

describe("architectures", () => {
  it.each(Object.keys(ARCHITECTURES) as ArchitectureName[])(
    "%s trains a few real steps and its loss falls",
    async (name) => {
      const { x, labels } = await mnistSlice("train", 0, 256);
      const model = architectureFrom(name, 1);
      const { history } = await fit(model, x, labels, {
        optimizer: adam({ learningRate: 2e-3 }),
        epochs: 3,
        batchSize: 64,
        inProcess: true,
      }).done;
      expect(history[2].loss).toBeLessThan(0.8 * history[0].loss);
    },
  );

  it("reads a JSON file in the saved-model form, and names what is wrong with a bad one", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "digits-arch-"));
    const file = path.join(dir, "tiny.json");
    const layers = [
      { className: "Conv2D", config: { filters: 4, kernelSize: 3, activation: "relu" } },
      { className: "MaxPooling2D", config: {} },
      { className: "Flatten", config: {} },
      { className: "Dense", config: { units: 10, activation: "softmax" } },
    ];
    fs.writeFileSync(file, JSON.stringify({ input: [28, 28, 1], layers }));
    const model = architectureFrom(file, 1);
    expect(model.countParams().total).toBe(4 * 9 + 4 + 13 * 13 * 4 * 10 + 10);
    expect(architectureFrom(file, 1).architecture()).toEqual(model.architecture());
    fs.writeFileSync(
      file,
      JSON.stringify({ input: [28, 28, 1], layers: [{ className: "LSTM", config: {} }] }),
    );
    expect(() => architectureFrom(file, 1)).toThrow(/tiny\.json: unknown layer type "LSTM"/);
    fs.writeFileSync(
      file,
      JSON.stringify({ input: [28, 28, 1], layers: [{ className: "Dense", config: { unit: 3 } }] }),
    );
    expect(() => architectureFrom(file, 1)).toThrow(/tiny\.json: .*Unrecognized key.*unit/);
    fs.writeFileSync(file, "{ not json");
    expect(() => architectureFrom(file, 1)).toThrow(/tiny\.json: not valid JSON/);
    expect(() => architectureFrom("resnet", 1)).toThrow(
      /unknown architecture "resnet": one of reference, dropout/,
    );
  });
});
