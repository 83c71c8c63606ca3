/**
 * MNIST's box: ink cropped, fitted into 20×20 keeping the aspect ratio, anti-aliased, and centred in 28×28 by
 * its centre of mass, white ink on black.
 */
import { resize } from "./resample.js";

/** The side of the model's input. */
export const SIZE = 28;
/** The side of the box the digit is fitted into. */
export const BOX = 20;

export class NoInkError extends Error {
  override name = "NoInkError";
  constructor() {
    super("no ink found: the image is blank or has too little contrast to find a digit");
  }
}

export interface Prepared {
  /** 28×28 values in 0–1, white ink on black: the model's input. */
  input: Float32Array;
  /** Whether the picture was dark ink on a light background (and so was inverted). */
  inverted: boolean;
  /** The ink's bounding box in the original picture. */
  box: { x: number; y: number; width: number; height: number };
}

export interface Prepared {
  /** 28×28 values in 0–1, white ink on black: the model's input. */
  input: Float32Array;
  /** Whether the picture was dark ink on a light background (and so was inverted). */
  inverted: boolean;
  /** The ink's bounding box in the original picture. */
  box: { x: number; y: number; width: number; height: number };
}

/** Ink (0–1, any size) → MNIST's 28×28: crop to the ink, fit 20×20 keeping aspect, centre by mass. */
export function mnistFromInk(ink: Float32Array, width: number, height: number): Omit<Prepared, "inverted"> {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] > 0) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) throw new NoInkError();
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const crop = new Float32Array(bw * bh);
  for (let y = 0; y < bh; y++)
    crop.set(ink.subarray((y0 + y) * width + x0, (y0 + y) * width + x0 + bw), y * bw);
  const scale = BOX / Math.max(bw, bh);
  const fw = Math.max(1, Math.round(bw * scale));
  const fh = Math.max(1, Math.round(bh * scale));
  const fitted = resize(crop, bw, bh, fw, fh);

  let mass = 0;
  let cx = 0;
  let cy = 0;
  for (let y = 0; y < fh; y++) {
    for (let x = 0; x < fw; x++) {
      const v = fitted[y * fw + x];
      mass += v;
      cx += v * x;
      cy += v * y;
    }
  }
  // Place the fitted digit so its centre of mass lands where MNIST's do: pixel (14, 14), measured; but never
  // so far that part of it falls out of the 28×28 (a digit with its ink bunched at one end would lose the rest).
  const within = (o: number, extent: number) => Math.min(Math.max(o, 0), SIZE - extent);
  const ox = within(Math.round(SIZE / 2 - cx / mass), fw);
  const oy = within(Math.round(SIZE / 2 - cy / mass), fh);
  const input = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < fh; y++) {
    for (let x = 0; x < fw; x++) {
      const tx = x + ox;
      const ty = y + oy;
      if (tx >= 0 && ty >= 0 && tx < SIZE && ty < SIZE)
        input[ty * SIZE + tx] = Math.min(1, fitted[y * fw + x]);
    }
  }
  return { input, box: { x: x0, y: y0, width: bw, height: bh } };
}
