/** `digits export` and `digits import`: a digits model to and from Keras, legacy HDF5, TF.js and ONNX files. */
import fs from "node:fs";
import path from "node:path";
import { Predictor, score, type Sequential } from "../engine/index.js";
import { writeAtomic, writeDir } from "../util/fs.js";
import type { LoadedModel } from "../saved/saved-model.js";
import { fromH5, fromKeras, fromTfjs, h5Bytes, kerasBytes, tfjsFiles } from "./formats.js";
import { InteropError } from "./layers.js";
import { quantizeOnnx, type Quantization } from "./quantize.js";

export { InteropError } from "./layers.js";
export { QUANTIZATIONS, quantizeOnnx, type Quantization } from "./quantize.js";
export const EXPORT_FORMATS = ["onnx", "keras", "h5", "tfjs"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Writes `loaded` as `format` at `out` (a file; a folder for tfjs); returns the files written. */
export async function exportModel(
  loaded: LoadedModel,
  format: ExportFormat,
  out: string,
  options: { quantize?: Quantization } = {},
): Promise<string[]> {
  if (options.quantize && format !== "onnx") throw new InteropError("--quantize is for --format onnx");
  if (loaded.members.length > 1 && format !== "onnx")
    throw new InteropError(
      `${loaded.dir}: an ensemble exports only as onnx (Keras files hold one Sequential model)`,
    );
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  if (format === "onnx") {
    writeAtomic(out, options.quantize ? quantizeOnnx(loaded.onnx, options.quantize) : loaded.onnx);
    return [out];
  }
  if (format === "keras" || format === "h5") {
    writeAtomic(out, format === "keras" ? await kerasBytes(loaded.model) : await h5Bytes(loaded.model));
    return [out];
  }
  // A folder, whole or not at all.
  const files = tfjsFiles(loaded.model);
  if (fs.existsSync(out) && fs.readdirSync(out).length)
    throw new InteropError(`${out}: already exists and is not empty`);
  writeDir(out, files, { replace: false });
  return Object.keys(files).map((f) => path.join(out, f));
}

/** A Keras `.keras` / `.h5` or a TF.js `model.json` (or its folder) as a digits model. */
export async function importModel(file: string): Promise<{ model: Sequential; format: string }> {
  const target =
    fs.existsSync(file) && fs.statSync(file).isDirectory() ? path.join(file, "model.json") : file;
  if (target.endsWith(".keras")) return { model: await fromKeras(target), format: "keras" };
  if (/\.(h5|hdf5)$/.test(target)) return { model: await fromH5(target), format: "h5" };
  if (target.endsWith(".json")) return { model: fromTfjs(target), format: "tfjs" };
  throw new InteropError(`${file}: not a .keras, .h5 or TF.js model.json`);
}

/** What storing the weights smaller costs: both models on the same digits. */
export async function quantizationCost(
  original: Uint8Array,
  quantized: Uint8Array,
  test: { x: Float32Array; labels: Uint8Array },
): Promise<{ before: number; after: number; maxProbabilityChange: number; bytes: [number, number] }> {
  const run = async (onnx: Uint8Array) => {
    const p = await Predictor.fromOnnx(onnx, [28, 28, 1], 10);
    try {
      return await p.predict(test.x);
    } finally {
      await p.release();
    }
  };
  const [a, b] = [await run(original), await run(quantized)];
  return {
    before: score(a, test.labels, 10).accuracy,
    after: score(b, test.labels, 10).accuracy,
    maxProbabilityChange: a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0),
    bytes: [original.length, quantized.length],
  };
}
