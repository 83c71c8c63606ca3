/**
 * Image bytes → RGBA pixels in Node (sharp), with limits: a decompression bomb or an absurdly large picture
 * is refused before it is decoded, and big photos are shrunk first (a digit needs no 12-megapixel detail).
 */
import { PNG } from "pngjs";
import sharp from "sharp";
import { prepareDigit, prepareDigits, WORKING_SIZE, type Prepared } from "./preprocess.js";

export class ImageError extends Error {
  override name = "ImageError";
}

/** Pixels decoded at most; more is refused as a likely decompression bomb. */
export const MAX_INPUT_PIXELS = 40_000_000;

export interface Rgba {
  rgba: Uint8Array;
  width: number;
  height: number;
}

export async function decodeImage(bytes: Uint8Array, what = "image"): Promise<Rgba> {
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, pages: 1 })
      .rotate() // respect EXIF orientation: phones store photos sideways
      .resize(WORKING_SIZE, WORKING_SIZE, { fit: "inside", withoutEnlargement: true })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      rgba: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
    };
  } catch (e) {
    const message = (e as Error).message;
    if (/pixel limit/i.test(message)) {
      throw new ImageError(
        `${what}: the image is too large (more than ${MAX_INPUT_PIXELS.toLocaleString("en-US")} pixels)`,
        { cause: e },
      );
    }
    throw new ImageError(`${what}: not a readable image (${message})`, { cause: e });
  }
}

/** Image bytes → the model's 28×28 input by MNIST's recipe (see preprocess.ts). */
export async function prepareImage(bytes: Uint8Array, what = "image"): Promise<Prepared> {
  const { rgba, width, height } = await decodeImage(bytes, what);
  return prepareDigit(rgba, width, height);
}

/** Image bytes → one 28×28 input per digit of a written number, left to right. */
export async function prepareImageDigits(bytes: Uint8Array, what = "image"): Promise<Prepared[]> {
  const { rgba, width, height } = await decodeImage(bytes, what);
  return prepareDigits(rgba, width, height);
}

/**
 * A 28×28 input as a grey PNG (white on black), each pixel scaled to scale×scale for people: what the model
 * saw. pngjs, not sharp: for 784 pixels sharp's round trip through its thread pool costs ~1 ms per call, a
 * quarter of the server's work per request, where pngjs takes ~0.05 ms.
 */
export function inputToPng(input: Float32Array, scale = 1): Buffer {
  const side = 28 * scale;
  const png = new PNG({ width: side, height: side, colorType: 0 });
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const v = Math.round(
        Math.min(1, Math.max(0, input[Math.floor(y / scale) * 28 + Math.floor(x / scale)])) * 255,
      );
      const o = (y * side + x) * 4;
      png.data[o] = png.data[o + 1] = png.data[o + 2] = v;
      png.data[o + 3] = 255;
    }
  }
  return PNG.sync.write(png, { colorType: 0 });
}
