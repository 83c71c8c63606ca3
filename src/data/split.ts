/** A labelled set of 28×28 digits, and the few ways one is cut and joined. */
import type { IdxImages } from "./idx.js";

/**
 * Floats in shared memory: a training worker reads a split's images where they are, where an ordinary
 * buffer would be copied to it twice (MNIST's 188 MB: ~1 s).
 */
const sharedFloats = (n: number) => new Float32Array(new SharedArrayBuffer(n * 4));

export interface Split {
  /** [count, 28, 28, 1] scaled to 0–1, as the notebook does (in shared memory). */
  readonly x: Float32Array;
  readonly labels: Uint8Array;
  /** The raw 0–255 pixels, [count, 28, 28]. */
  readonly pixels: Uint8Array;
  readonly count: number;
}

export class DataError extends Error {
  override name = "DataError";
}

/** Images start…end of a split (views: nothing is copied). */
export function sliceSplit(s: Split, start: number, end = s.count): Split {
  const per = s.count ? s.pixels.length / s.count : 0;
  const [a, b] = [Math.max(0, Math.min(start, s.count)), Math.max(0, Math.min(end, s.count))];
  return {
    x: s.x.subarray(a * per, b * per),
    labels: s.labels.subarray(a, b),
    pixels: s.pixels.subarray(a * per, b * per),
    count: Math.max(0, b - a),
  };
}

/** Two splits one after the other, as one (copies). */
export function concatSplits(a: Split, b: Split): Split {
  const cat = <T extends Float32Array | Uint8Array>(make: (n: number) => T, u: T, v: T) => {
    const out = make(u.length + v.length);
    out.set(u);
    out.set(v, u.length);
    return out;
  };
  return {
    x: cat(sharedFloats, a.x, b.x),
    labels: cat((n) => new Uint8Array(n), a.labels, b.labels),
    pixels: cat((n) => new Uint8Array(n), a.pixels, b.pixels),
    count: a.count + b.count,
  };
}

export function toSplit(images: IdxImages, labels: Uint8Array): Split {
  if (images.count !== labels.length) {
    throw new DataError(
      `${images.count} images but ${labels.length} labels: the files do not belong together`,
    );
  }
  const x = sharedFloats(images.pixels.length);
  for (let i = 0; i < x.length; i++) x[i] = images.pixels[i] / 255;
  return { x, labels, pixels: images.pixels, count: images.count };
}
