/**
 * Images → the model's 28×28 input, for images already shaped like MNIST digits: decoded with sharp,
 * alpha flattened, greyscale, inverted when the background is light (MNIST is white ink on black), and
 * resized to 28×28 if needed.
 */
import sharp, { type OutputInfo } from "sharp";

export class ImageError extends Error {
  override name = "ImageError";
}

export async function simpleDigit(input: string | Uint8Array, what = "image"): Promise<Float32Array> {
  let data: Buffer;
  let info: OutputInfo;
  try {
    ({ data, info } = await sharp(input, { limitInputPixels: 40_000_000 })
      .flatten({ background: "#ffffff" }) // a transparent canvas means paper, not ink
      .greyscale()
      .resize(28, 28, { fit: "contain", background: "#ffffff" })
      .raw()
      .toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw new ImageError(`${what}: not a readable image (${(e as Error).message})`);
  }
  if (info.channels !== 1) throw new ImageError(`${what}: expected one grey channel, got ${info.channels}`);
  let border = 0;
  for (let i = 0; i < 28; i++) border += data[i] + data[27 * 28 + i] + data[i * 28] + data[i * 28 + 27];
  const invert = border / (4 * 28) > 127;
  return Float32Array.from(data, (v) => (invert ? 255 - v : v) / 255);
}
