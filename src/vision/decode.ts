/**
 * Image bytes → RGBA pixels in Node (sharp), with limits: a decompression bomb or an absurdly large picture
 * is refused before it is decoded, and big photos are shrunk first (a digit needs no 12-megapixel detail).
 */
import sharp from "sharp";
import { pngLight } from "./png-light.js";
import { rgbaLight, type LightSource, preprocess, WORKING_SIZE, type Prepared } from "./preprocess.js";

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

/**
 * The raster formats taken, by their first bytes: PNG, JPEG, WebP, GIF (its first frame), AVIF/HEIF and TIFF.
 * Not SVG (librsvg would fetch what it links to) nor PDF and the rest sharp could reach through its plugins.
 */
export const IMAGE_FORMATS = "PNG, JPEG, WebP, GIF, AVIF or TIFF";

export function sniffImage(b: Uint8Array): string | undefined {
  const at = (i: number, ...v: number[]) => v.every((x, k) => b[i + k] === x);
  const text = (i: number, t: string) => at(i, ...Array.from(t, (c) => c.charCodeAt(0)));
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "png";
  if (at(0, 0xff, 0xd8, 0xff)) return "jpeg";
  if (text(0, "RIFF") && text(8, "WEBP")) return "webp";
  if (text(0, "GIF87a") || text(0, "GIF89a")) return "gif";
  if (text(4, "ftyp") && ["avif", "avis", "heic", "heix", "mif1", "msf1"].some((brand) => text(8, brand)))
    return "heif";
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return "tiff";
  return undefined;
}

export async function decodeImage(bytes: Uint8Array, what = "image"): Promise<Rgba> {
  if (!sniffImage(bytes))
    throw new ImageError(`${what}: not a readable image (not a ${IMAGE_FORMATS} file by its first bytes)`);
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

/** Image bytes → light values (preprocess.ts): small plain PNGs by the fast path, everything else by sharp. */
export async function decodeLight(bytes: Uint8Array, what = "image"): Promise<LightSource> {
  const fast = pngLight(bytes, WORKING_SIZE);
  if (fast) return fast;
  const { rgba, width, height } = await decodeImage(bytes, what);
  return rgbaLight(rgba, width, height);
}

/** Image bytes → the model's 28×28 input by MNIST's recipe (see preprocess.ts). */
export async function prepareImage(bytes: Uint8Array, what = "image"): Promise<Prepared> {
  return preprocess(await decodeLight(bytes, what));
}

/** Image bytes → one 28×28 input per digit of a written number, left to right. */
export async function prepareImageDigits(bytes: Uint8Array, what = "image"): Promise<Prepared[]> {
  return preprocess(await decodeLight(bytes, what), { several: true });
}
