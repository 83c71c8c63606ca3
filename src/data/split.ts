/** A labelled set of 28×28 digits, and the few ways one is cut and joined. */
import type { IdxImages } from "./idx.js";

/** A pixel's largest value: a split's floats are its pixels divided by it. */
export const PIXEL_MAX = 255;

export interface Split {
  /**
   * [count, 28, 28, 1] scaled to 0–1, as the notebook does: made from the pixels when first read (training
   * reads the bytes, scaled batch by batch, and never needs them all: MNIST's are 188 MB).
   */
  readonly x: Float32Array;
  readonly labels: Uint8Array;
  /** The raw 0–255 pixels, [count, 28, 28]. */
  readonly pixels: Uint8Array;
  readonly count: number;
}

export class DataError extends Error {
  override name = "DataError";
}

/** A split of these pixels and labels; its floats (`x`) are made when first read. */
export function splitOf(pixels: Uint8Array, labels: Uint8Array, count: number): Split {
  let x: Float32Array | undefined;
  return {
    get x() {
      if (!x) {
        x = new Float32Array(pixels.length);
        for (let i = 0; i < x.length; i++) x[i] = pixels[i] / PIXEL_MAX;
      }
      return x;
    },
    labels,
    pixels,
    count,
  };
}

/** Images start…end of a split (views of its pixels: nothing is copied). */
export function sliceSplit(s: Split, start: number, end = s.count): Split {
  const per = s.count ? s.pixels.length / s.count : 0;
  const [a, b] = [Math.max(0, Math.min(start, s.count)), Math.max(0, Math.min(end, s.count))];
  return splitOf(s.pixels.subarray(a * per, b * per), s.labels.subarray(a, b), Math.max(0, b - a));
}

/** Two splits one after the other, as one (copies). */
export function concatSplits(a: Split, b: Split): Split {
  const cat = (u: Uint8Array, v: Uint8Array) => {
    const out = new Uint8Array(u.length + v.length);
    out.set(u);
    out.set(v, u.length);
    return out;
  };
  return splitOf(cat(a.pixels, b.pixels), cat(a.labels, b.labels), a.count + b.count);
}

export function toSplit(images: IdxImages, labels: Uint8Array): Split {
  if (images.count !== labels.length) {
    throw new DataError(
      `${images.count} images but ${labels.length} labels: the files do not belong together`,
    );
  }
  return splitOf(images.pixels, labels, images.count);
}
