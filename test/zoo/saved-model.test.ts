import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { predict } from "../../src/engine/index.js";
import { buildArchitecture } from "../../src/zoo/architectures.js";
import { loadModel, saveModel } from "../../src/saved/saved-model.js";
import { Predictor } from "../../src/engine/index.js";
import { mnistSlice } from "../helpers/mnist.js";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "digits-model-"));

describe("saved model directory", () => {
  it.each(["reference", "dropout", "batchnorm"] as const)(
    "round-trips %s: identical predictions after reload",
    async (arch) => {
      const model = buildArchitecture(arch, 3);
      if (arch === "batchnorm") {
        // non-default moving statistics must survive the trip too
        const mean = model.weights.get("batch_normalization/moving_mean") as Float32Array;
        mean.fill(0.25);
      }
      const dir = path.join(tmp(), "m");
      saveModel(dir, model, { architectureName: arch, metrics: { test: { accuracy: 0.5 } } });
      const loaded = loadModel(dir);
      expect(loaded.metadata.architectureName).toBe(arch);
      expect(loaded.metadata.parameters).toEqual(model.countParams());
      const { x } = await mnistSlice("t10k", 0, 20);
      const a = await predict(model, x);
      const b = await predict(loaded.model, x);
      expect(Array.from(b)).toEqual(Array.from(a));
      // model.onnx alone (as a browser or another runtime would use it) gives the same answers
      const fromFile = await Predictor.fromOnnx(loaded.onnx, [28, 28, 1], 10);
      expect(Array.from(await fromFile.predict(x))).toEqual(Array.from(a));
    },
  );

  it("replaces an existing directory atomically, leaving no temp files", () => {
    const parent = tmp();
    const dir = path.join(parent, "m");
    saveModel(dir, buildArchitecture("reference", 1));
    saveModel(dir, buildArchitecture("reference", 2));
    expect(loadModel(dir).metadata.seed).toBe(2);
    expect(fs.readdirSync(parent)).toEqual(["m"]);
  });

  it("fails clearly on missing, corrupt or mismatched files", () => {
    const dir = path.join(tmp(), "m");
    saveModel(dir, buildArchitecture("reference", 1));
    expect(() => loadModel(path.join(dir, "nope"))).toThrow(/model directory not found/);
    const onnx = path.join(dir, "model.onnx");
    const bytes = fs.readFileSync(onnx);
    bytes[bytes.length - 10] ^= 1;
    fs.writeFileSync(onnx, bytes);
    expect(() => loadModel(dir)).toThrow(/model.onnx: checksum mismatch with metadata.json/);
    fs.writeFileSync(path.join(dir, "metadata.json"), "{ not json");
    expect(() => loadModel(dir)).toThrow(/metadata.json: not valid JSON/);
    fs.writeFileSync(path.join(dir, "metadata.json"), JSON.stringify({ format: "something-else" }));
    expect(() => loadModel(dir)).toThrow(/not a digits model/);
  });

  it("fails clearly when the architecture and the weights disagree", () => {
    const dir = path.join(tmp(), "m");
    saveModel(dir, buildArchitecture("reference", 1));
    const metaFile = path.join(dir, "metadata.json");
    const meta = JSON.parse(fs.readFileSync(metaFile, "utf8"));
    meta.architecture.layers[5].config.units = 64;
    fs.writeFileSync(metaFile, JSON.stringify(meta));
    expect(() => loadModel(dir)).toThrow(/do not agree.*dense\/kernel.*has 204800 values, expected 102400/);
  });
});

describe("a zipped model directory", () => {
  it("loads as the directory does (files at the top or in one folder), and refuses broken zips", async () => {
    const dir = path.join(tmp(), "m");
    const model = buildArchitecture("reference", 4);
    saveModel(dir, model);
    const files = Object.fromEntries(
      ["model.onnx", "metadata.json"].map((f) => [f, new Uint8Array(fs.readFileSync(path.join(dir, f)))]),
    );
    const zipped = path.join(tmp(), "tuned.zip");
    fs.writeFileSync(zipped, zipSync({ "tuned-model": files }));
    const loaded = loadModel(zipped);
    const { x } = await mnistSlice("t10k", 0, 8);
    expect(await predict(loaded.model, x)).toEqual(await predict(model, x));
    const flat = path.join(tmp(), "flat.zip");
    fs.writeFileSync(flat, zipSync(files));
    expect(loadModel(flat).metadata.seed).toBe(4);

    const bytes = fs.readFileSync(zipped);
    const truncated = path.join(tmp(), "truncated.zip");
    fs.writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
    expect(() => loadModel(truncated)).toThrow(/truncated\.zip: not a readable zip/);
    const half = path.join(tmp(), "half.zip");
    fs.writeFileSync(half, zipSync({ "model.onnx": files["model.onnx"] }));
    expect(() => loadModel(half)).toThrow(/half\.zip: holds no metadata\.json/);
    const changed = path.join(tmp(), "changed.zip");
    const onnx = Uint8Array.from(files["model.onnx"]);
    onnx[onnx.length - 10] ^= 1;
    fs.writeFileSync(changed, zipSync({ ...files, "model.onnx": onnx }));
    expect(() => loadModel(changed)).toThrow(/changed\.zip\/model\.onnx: checksum mismatch/);
  });
});
