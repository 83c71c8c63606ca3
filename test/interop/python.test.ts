/**
 * The real consumers, in Python (`npm run test:interop`; scripts/interop-venv.sh makes the venv): the
 * shipped model exported as .keras and .h5 loads in Keras 3 and as model.onnx runs in Python onnxruntime,
 * each with the same probabilities on 1,000 MNIST test digits (max |Δ| < 1e-5); a model Keras itself made
 * (batch norm, same padding, stride 2, dropout) comes in through `digits import` with the same predictions.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { predict } from "../../src/engine/index.js";
import { exportModel, importModel } from "../../src/interop/index.js";
import { DEFAULT_MODEL_DIR, PACKAGE_ROOT } from "../../src/paths.js";
import { loadModel } from "../../src/saved/saved-model.js";
import { mnistSlice } from "../helpers/mnist.js";

const VENV = process.env.DIGITS_VENV ?? path.resolve(PACKAGE_ROOT, "..", "keras-venv");
const PYTHON = path.join(VENV, "bin", "python");
const available = fs.existsSync(PYTHON);
if (!available)
  console.warn(
    `interop: no Keras venv at ${VENV} (no Python package index to make it): the Python round trips are SKIPPED`,
  );

/** A float32 array as a .npy file (NPY format 1.0), for numpy.load. */
function npy(x: Float32Array, shape: number[]): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(", ")}), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const len = Buffer.alloc(2);
  len.writeUInt16LE(header.length);
  return Buffer.concat([
    Buffer.from("\x93NUMPY\x01\x00", "latin1"),
    len,
    Buffer.from(header),
    Buffer.from(x.buffer, x.byteOffset, x.byteLength),
  ]);
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe.skipIf(!available)("Keras 3 and Python onnxruntime", () => {
  it("load digits' exports with the same probabilities, and make a model digits imports", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "digits-python-"));
    const shipped = loadModel(DEFAULT_MODEL_DIR);
    for (const f of ["keras", "h5", "onnx"] as const) await exportModel(shipped, f, path.join(dir, `m.${f}`));
    const { x } = await mnistSlice("t10k", 0, 1000);
    fs.writeFileSync(path.join(dir, "x.npy"), npy(x, [1000, 28, 28, 1]));
    const stdout = execFileSync(PYTHON, [path.join(PACKAGE_ROOT, "test/interop/consumers.py"), dir], {
      encoding: "utf8",
      maxBuffer: 1 << 28,
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "3" },
      stdio: ["ignore", "pipe", "ignore"],
    });
    const got = JSON.parse(stdout) as Record<string, number[][]>;
    const ours = await predict(shipped.model, x);
    for (const f of ["m.keras", "m.h5", "m.onnx"]) expect(maxDiff(got[f].flat(), ours), f).toBeLessThan(1e-5);
    for (const f of ["keras-made.keras", "keras-made.h5"]) {
      const { model } = await importModel(path.join(dir, f));
      expect(maxDiff(await predict(model, x), got["keras-made"].flat()), f).toBeLessThan(1e-5);
    }
  }, 300_000);
});
