/** Reading a written number: several MNIST test digits side by side in one picture, read left to right. */
import { beforeAll, describe, expect, it } from "vitest";
import { argmax } from "../../src/util/argmax.js";
import { DEFAULT_MODEL_DIR } from "../../src/paths.js";
import { Predictor } from "../../src/engine/index.js";
import { Random } from "../../src/util/random.js";
import { loadModel } from "../../src/saved/saved-model.js";
import { NoInkError, preprocess, rgbaLight } from "../../src/vision/preprocess.js";
import { mnistSlice, scaledDigit } from "../helpers/mnist.js";

let predictor: Predictor;
beforeAll(async () => {
  predictor = await Predictor.create(loadModel(DEFAULT_MODEL_DIR).model);
});

/** Digits scaled up and laid out left to right with gaps and a little vertical jitter, dark on white. */
function writeNumber(digits: Uint8Array[], rng: Random): { rgba: Uint8Array; width: number; height: number } {
  const scale = 3 + rng.next() * 2;
  const side = Math.round(28 * scale);
  const gaps = digits.map(() => 4 + Math.round(rng.next() * 20)); // people leave a little space
  const width = 20 + digits.length * side + gaps.reduce((a, b) => a + b, 0);
  const height = side + 40;
  const ink = new Float32Array(width * height);
  let x = 10;
  digits.forEach((d, k) => {
    const big = scaledDigit(d, side);
    const y = 10 + Math.round(rng.next() * 20);
    for (let r = 0; r < side; r++)
      for (let c = 0; c < side; c++)
        ink[(y + r) * width + x + c] = Math.max(ink[(y + r) * width + x + c], big[r * side + c]);
    x += side + gaps[k];
  });
  const rgba = new Uint8Array(width * height * 4);
  ink.forEach((v, i) =>
    rgba.set(
      [255 * (1 - Math.min(1, v)), 255 * (1 - Math.min(1, v)), 255 * (1 - Math.min(1, v)), 255],
      4 * i,
    ),
  );
  return { rgba, width, height };
}

describe("prepareDigits", () => {
  it("reads 100 written numbers of 2–5 MNIST digits, left to right", async () => {
    const { pixels, labels } = await mnistSlice("t10k", 2000, 400);
    const rng = new Random(7);
    let next = 0;
    let numbersRight = 0;
    let digitsRight = 0;
    let digitsTotal = 0;
    for (let n = 0; n < 100; n++) {
      const count = 2 + rng.int(4);
      const idx = Array.from({ length: count }, () => next++ % 400);
      const { rgba, width, height } = writeNumber(
        idx.map((i) => pixels.subarray(i * 784, (i + 1) * 784)),
        rng,
      );
      const prepared = preprocess(rgbaLight(rgba, width, height), { several: true });
      const x = new Float32Array(prepared.length * 784);
      prepared.forEach((p, i) => x.set(p.input, i * 784));
      const probs = await predictor.predict(x);
      const read = prepared.map((_, i) => {
        const row = Array.from(probs.subarray(i * 10, i * 10 + 10));
        return argmax(row);
      });
      const truth = idx.map((i) => labels[i]);
      if (read.join("") === truth.join("")) numbersRight++;
      if (read.length === truth.length) read.forEach((d, i) => (digitsRight += d === truth[i] ? 1 : 0));
      digitsTotal += truth.length;
    }
    // The shipped model gets 340 of these 347 test digits (from 2000 on) right as plain MNIST; reading them as
    // numbers measured 341/347 digits and 94/100 numbers: segmentation loses nothing measurable.
    console.log(
      `written numbers: ${numbersRight}/100 read exactly; ${digitsRight}/${digitsTotal} digits right`,
    );
    expect(numbersRight).toBeGreaterThanOrEqual(90);
    expect(digitsRight / digitsTotal).toBeGreaterThanOrEqual(0.96);
  }, 60_000);

  it("keeps a digit drawn in separate strokes together, and finds no digits on blank paper", () => {
    const w = 120;
    const h = 100;
    const rgba = new Uint8Array(w * h * 4).fill(255);
    const dot = (x: number, y: number) => rgba.set([0, 0, 0, 255], 4 * (y * w + x));
    for (let x = 30; x < 90; x++) for (let y = 10; y < 14; y++) dot(x, y); // a 5's top bar…
    for (let y = 16; y < 90; y++) for (let x = 30; x < 35; x++) dot(x, y); // …and, not touching it, a stem
    expect(preprocess(rgbaLight(rgba, w, h), { several: true })).toHaveLength(1);
    expect(() => preprocess(rgbaLight(new Uint8Array(w * h * 4).fill(255), w, h), { several: true })).toThrow(
      NoInkError,
    );
  });
});
