/**
 * Interop without Python: the Keras layouts round-trip exactly; the TF.js export loads in @tensorflow/tfjs
 * with the same predictions on 1,000 MNIST test digits; exports re-import to the same model; and broken
 * files (truncated zip and HDF5, wrong shapes, unknown layers, missing shards) get an error naming them.
 * (Keras 3 and Python onnxruntime check the same files in test/interop/python.test.ts: `npm run test:interop`.)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { unzipSync, zipSync } from "fflate";
import { beforeAll, describe, expect, it } from "vitest";
import { predict } from "../../src/engine/index.js";
import * as ortWeb from "onnxruntime-web";
import { exportModel, importModel, quantizationCost } from "../../src/interop/index.js";
import { fromKerasLayers, toKerasLayers } from "../../src/interop/layers.js";
import { DEFAULT_MODEL_DIR } from "../../src/paths.js";
import { buildArchitecture } from "../../src/zoo/architectures.js";
import { loadModel } from "../../src/saved/saved-model.js";
import { mnistSlice } from "../helpers/mnist.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "digits-interop-"));
const shipped = loadModel(DEFAULT_MODEL_DIR);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
let x: Float32Array;
let ours: Float32Array;

beforeAll(async () => {
  ({ x } = await mnistSlice("t10k", 0, 1000));
  ours = await predict(shipped.model, x);
  for (const f of ["keras", "h5"] as const) await exportModel(shipped, f, path.join(tmp, `m.${f}`));
  await exportModel(shipped, "tfjs", path.join(tmp, "tfjs"));
});

describe("Keras layouts", () => {
  it.each(["reference", "batchnorm", "wide", "dropout"] as const)("round-trip %s exactly", async (arch) => {
    const model = buildArchitecture(arch, 5);
    const layers = toKerasLayers(model);
    const conv = layers.find((l) => l.className === "Conv2D")!;
    expect(conv.weights[0].shape).toEqual([3, 3, 1, 32]); // HWIO
    const back = fromKerasLayers(layers[0].inputShape, layers);
    const some = x.subarray(0, 20 * 784);
    expect(await predict(back, some)).toEqual(await predict(model, some));
  });
});

describe("exports", () => {
  it("load in TF.js (@tensorflow/tfjs, CPU) with the same predictions on 1,000 test digits", async () => {
    await tf.setBackend("cpu");
    const dir = path.join(tmp, "tfjs");
    const json = JSON.parse(fs.readFileSync(path.join(dir, "model.json"), "utf8"));
    expect(json.modelTopology.keras_version).toMatch(/^2\./);
    expect(json.modelTopology.model_config.config.layers[0].config.batch_input_shape).toEqual([
      null,
      28,
      28,
      1,
    ]);
    const bin = fs.readFileSync(path.join(dir, json.weightsManifest[0].paths[0]));
    const model = await tf.loadLayersModel({
      load: async () => ({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0].weights,
        weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
      }),
    });
    const p = (model.predict(tf.tensor4d(x, [1000, 28, 28, 1])) as tf.Tensor).dataSync();
    expect(maxDiff(p, ours)).toBeLessThan(1e-5);
  });

  it.each(["m.keras", "m.h5", "tfjs"])("%s imports back as the same model", async (file) => {
    const { model } = await importModel(path.join(tmp, file));
    expect(maxDiff(await predict(model, x), ours)).toBeLessThan(1e-6);
  });

  it("writes the .keras zip Keras 3 writes: metadata, config, weights at layers/<name>/vars/<i>", () => {
    const zip = unzipSync(new Uint8Array(fs.readFileSync(path.join(tmp, "m.keras"))));
    expect(Object.keys(zip).sort()).toEqual(["config.json", "metadata.json", "model.weights.h5"]);
    const config = JSON.parse(new TextDecoder().decode(zip["config.json"]));
    expect(config.config.layers.map((l: { class_name: string }) => l.class_name)).toEqual([
      "InputLayer",
      "Conv2D",
      "MaxPooling2D",
      "Conv2D",
      "MaxPooling2D",
      "Flatten",
      "Dense",
      "Dense",
    ]);
  });
});

describe("quantized ONNX for the web", () => {
  it.each(["fp16", "int8"] as const)(
    "%s: smaller, the same answers, and onnxruntime-web runs it",
    async (kind) => {
      const out = path.join(tmp, `m-${kind}.onnx`);
      await exportModel(shipped, "onnx", out, { quantize: kind });
      const bytes = new Uint8Array(fs.readFileSync(out));
      const { labels } = await mnistSlice("t10k", 0, 1000);
      const cost = await quantizationCost(shipped.onnx, bytes, { x, labels });
      expect(cost.bytes[1]).toBeLessThan(cost.bytes[0] * (kind === "fp16" ? 0.55 : 0.3));
      expect(Math.abs(cost.after - cost.before)).toBeLessThanOrEqual(0.002);
      expect(cost.maxProbabilityChange).toBeLessThan(kind === "fp16" ? 5e-3 : 0.1);
      const web = await ortWeb.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
      const out1 = await web.run({
        input: new ortWeb.Tensor("float32", x.subarray(0, 784 * 10), [10, 28, 28, 1]),
      });
      expect(maxDiff(out1.output.data as Float32Array, ours.subarray(0, 100))).toBeLessThan(0.1);
      await web.release();
    },
  );
});

describe("bad files", () => {
  const write = (name: string, bytes: Uint8Array | string) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, bytes);
    return f;
  };

  it("name what is wrong: truncated zip and HDF5, unknown layers, wrong shapes, missing shards", async () => {
    const keras = new Uint8Array(fs.readFileSync(path.join(tmp, "m.keras")));
    const h5 = new Uint8Array(fs.readFileSync(path.join(tmp, "m.h5")));
    await expect(importModel(write("cut.keras", keras.subarray(0, 5000)))).rejects.toThrow(
      /cut\.keras: not a readable \.keras zip/,
    );
    await expect(importModel(write("cut.h5", h5.subarray(0, 3000)))).rejects.toThrow(
      /cut\.h5: not a readable HDF5 file/,
    );
    await expect(importModel(write("text.h5", "hello"))).rejects.toThrow(
      /text\.h5: not a readable HDF5 file/,
    );
    // An LSTM where digits has none, named.
    const entries = unzipSync(keras);
    const config = JSON.parse(new TextDecoder().decode(entries["config.json"]));
    config.config.layers[2] = {
      ...config.config.layers[2],
      class_name: "LSTM",
      config: { name: "lstm", units: 4 },
    };
    const bad = zipSync({ ...entries, "config.json": new TextEncoder().encode(JSON.stringify(config)) });
    await expect(importModel(write("lstm.keras", bad))).rejects.toThrow(
      /layer "lstm" is a LSTM, which digits does not have/,
    );
    // Weights that do not fit the layers: 16 filters declared, 32 in the file.
    const shapes = JSON.parse(new TextDecoder().decode(entries["config.json"]));
    shapes.config.layers[1].config.filters = 16;
    const wrong = zipSync({ ...entries, "config.json": new TextEncoder().encode(JSON.stringify(shapes)) });
    await expect(importModel(write("shapes.keras", wrong))).rejects.toThrow(
      /layer "conv2d": weight kernel has 288 values \(\[3,3,1,32\]\), digits expects 144/,
    );
    // A model.json whose shard is gone.
    const dir = path.join(tmp, "no-shard");
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(tmp, "tfjs", "model.json"), path.join(dir, "model.json"));
    await expect(importModel(dir)).rejects.toThrow(/weight shard group1-shard1of1\.bin is missing/);
    await expect(importModel(write("notes.txt", "x"))).rejects.toThrow(
      /not a \.keras, \.h5 or TF\.js model\.json/,
    );
  });
});
