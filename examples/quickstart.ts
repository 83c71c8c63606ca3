/**
 * The notebook's job as a library user writes it: load MNIST, build the CNN, train, evaluate, save, and read
 * a picture. `npm test` type-checks and runs this file (with DIGITS_EXAMPLE_QUICK=1: a slice, one epoch).
 *
 *   node --import tsx examples/quickstart.ts      (from this folder, after npm run build)
 */
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { loadMnist } from "digits/data";
import {
  adam,
  argmax,
  conv2d,
  dense,
  evaluate,
  fit,
  flatten,
  input,
  maxPooling2d,
  predict,
  sequential,
} from "digits/engine";
import { prepareImage } from "digits/vision";
import { loadModel, saveModel } from "digits/zoo";

const quick = process.env.DIGITS_EXAMPLE_QUICK === "1";
const { train, test } = await loadMnist(quick ? { limit: { train: 2000, test: 500 } } : {});

const model = sequential(
  [
    input([28, 28, 1]),
    conv2d({ filters: 32, kernelSize: 3, activation: "relu" }),
    maxPooling2d({ poolSize: 2 }),
    conv2d({ filters: 64, kernelSize: 3, activation: "relu" }),
    maxPooling2d({ poolSize: 2 }),
    flatten(),
    dense({ units: 128, activation: "relu" }),
    dense({ units: 10, activation: "softmax" }),
  ],
  { seed: 1 },
);
console.log(model.summary());

// train.x is [count, 28, 28, 1] scaled to 0–1; labels are class indices (one-hot rows work too).
const { history } = await fit(model, train.x, train.labels, {
  optimizer: adam(),
  epochs: quick ? 1 : 5,
  batchSize: 128,
  validationSplit: 0.1, // the last 10% of the training set, as Keras's fit takes it
  onEpochEnd: (epoch, logs) =>
    console.log(`epoch ${epoch + 1}: val_accuracy ${logs.val_accuracy?.toFixed(4)}`),
}).done; // trains in a worker thread
const { accuracy, loss } = await evaluate(model, test.x, test.labels);
console.log(
  `${history.length} epoch(s); test accuracy ${(100 * accuracy).toFixed(2)}%, loss ${loss.toFixed(4)}`,
);

// Save it (model.onnx + metadata.json), load it back, and read a picture of a digit: dark ink on white paper.
const dir = path.join(os.tmpdir(), `digits-quickstart-${process.pid}`);
saveModel(dir, model);
const loaded = loadModel(dir);
const digit = test.pixels.subarray(0, 784).map((v) => 255 - v);
const photo = await sharp(Buffer.from(digit), { raw: { width: 28, height: 28, channels: 1 } })
  .resize(140, 140)
  .png()
  .toBuffer();
const { input: x } = await prepareImage(photo);
const p = await predict(loaded.model, x);
console.log(`a picture of a ${test.labels[0]} reads as ${argmax(p)}`);
