/** Ensembles: one ONNX model whose output is the mean of its members', saved, loaded and served as any model. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { buildEnsembleGraph, predict, Predictor, toOnnx } from "../../src/engine/index.js";
import { WEB_DIST_DIR } from "../../src/paths.js";
import { buildApp } from "../../src/server/app.js";
import { architectureFrom } from "../../src/zoo/architectures.js";
import { loadModel, saveEnsemble, saveModel } from "../../src/saved/saved-model.js";
import { mnistSlice } from "../helpers/mnist.js";

const members = [
  architectureFrom("reference", 1),
  architectureFrom("dropout", 2),
  architectureFrom("reference", 3),
];

describe("ensembles", () => {
  it("output the mean of their members' probabilities", async () => {
    const { x } = await mnistSlice("t10k", 0, 100);
    const each = await Promise.all(members.map((m) => predict(m, x)));
    const predictor = await Predictor.fromOnnx(toOnnx(buildEnsembleGraph(members)), [28, 28, 1], 10);
    const together = await predictor.predict(x);
    await predictor.release();
    const worst = Math.max(
      ...together.map((v, i) => Math.abs(v - (each[0][i] + each[1][i] + each[2][i]) / 3)),
    );
    expect(worst).toBeLessThan(1e-6);
    expect(() => buildEnsembleGraph(members.slice(0, 1))).toThrow(/at least two/);
  });

  it("save and load as a model directory, checked member by member, and the server answers with them", async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "digits-ensemble-")), "ens");
    saveEnsemble(
      dir,
      members.map((model, i) => ({ model, from: `member-${i}` })),
    );
    const loaded = loadModel(dir);
    expect(loaded.members).toHaveLength(3);
    expect(loaded.metadata.architectureName).toBe("ensemble of 3");
    expect(loaded.metadata.parameters.total).toBe(members.reduce((n, m) => n + m.countParams().total, 0));
    const { x, pixels } = await mnistSlice("t10k", 0, 20);
    const p = await loaded.predictor();
    const fromDisk = await p.predict(x);
    await p.release();
    const each = await Promise.all(members.map((m) => predict(m, x)));
    expect(
      Math.max(...fromDisk.map((v, i) => Math.abs(v - (each[0][i] + each[1][i] + each[2][i]) / 3))),
    ).toBeLessThan(1e-6);

    const app = await buildApp({ model: loaded, webDir: WEB_DIST_DIR });
    try {
      const png = await sharp(Buffer.from(pixels.subarray(0, 784)), {
        raw: { width: 28, height: 28, channels: 1 },
      })
        .resize(140, 140)
        .png()
        .toBuffer();
      const r = await app.inject({
        method: "POST",
        url: "/api/predict",
        headers: { "content-type": "image/png" },
        payload: png,
      });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json().probabilities).toHaveLength(10);
      expect((await app.inject({ url: "/model.onnx" })).rawPayload.length).toBe(loaded.onnx.length);
    } finally {
      await app.close();
    }

    // A metadata that names three members over a one-model file does not load.
    const single = path.join(path.dirname(dir), "single");
    saveModel(single, members[0]);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, "metadata.json"), "utf8"));
    const onnx = fs.readFileSync(path.join(single, "model.onnx"));
    meta.files["model.onnx"] = JSON.parse(fs.readFileSync(path.join(single, "metadata.json"), "utf8")).files[
      "model.onnx"
    ];
    fs.writeFileSync(path.join(single, "metadata.json"), JSON.stringify(meta));
    expect(onnx.length).toBeGreaterThan(0);
    expect(() => loadModel(single)).toThrow(
      /metadata.json and model.onnx do not agree .*"conv2d\/kernel" is missing/,
    );
  });
});
