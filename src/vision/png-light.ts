/**
 * The server's fast path for the picture it gets most: an 8-bit, non-interlaced PNG no larger than the working
 * size (the page's canvas, a screenshot, a scan) decoded straight to the light values preprocessing starts
 * from — zlib's inflate, the five PNG row filters undone in one typed-array pass, each pixel composited over
 * white as it goes. It does what sharp does for such files, at a third of the CPU (sharp's pipeline costs
 * ~2.5 ms a picture here, inflate and this loop ~0.8 ms), and gives the same light values to the last bit
 * (test/vision/png-light.test.ts). Anything else — palettes, transparency keys, 16 bits, interlacing, colour
 * profiles, orientation, bigger pictures, anything malformed — is left to sharp (undefined).
 */
import zlib from "node:zlib";

/** Per pixel, the picture composited over white paper, in 0–1 (what `lightFromRgba` computes from RGBA). */
export interface Light {
  light: Float32Array;
  width: number;
  height: number;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Channels per colour type: grey, RGB, grey + alpha, RGBA (8 bits each). */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };
/** Chunks whose meaning sharp would apply (or that we do not): their pictures take sharp's path. */
const LEAVE_TO_SHARP = new Set(["PLTE", "tRNS", "iCCP", "eXIf", "sBIT", "cICP"]);

/** An opaque pixel's alpha as lightFromRgba computes it (255 · 1/255, which need not be exactly 1). */
const OPAQUE = 255 * (1 / 255);

const u32 = (b: Uint8Array, o: number) =>
  ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

export function pngLight(b: Uint8Array, maxSide: number): Light | undefined {
  if (b.length < 45 || SIGNATURE.some((v, i) => b[i] !== v)) return undefined;
  let o = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  while (o + 12 <= b.length) {
    const length = u32(b, o);
    const type = String.fromCharCode(b[o + 4], b[o + 5], b[o + 6], b[o + 7]);
    const data = o + 8;
    if (data + length + 4 > b.length) return undefined;
    // A damaged chunk is sharp's to report (libpng checks the CRCs of the chunks that matter).
    if (
      (type === "IHDR" || type === "IDAT") &&
      zlib.crc32(b.subarray(o + 4, data + length)) !== u32(b, data + length)
    )
      return undefined;
    if (type === "IHDR") {
      if (o !== 8 || length !== 13) return undefined;
      width = u32(b, data);
      height = u32(b, data + 4);
      const [depth, colour, compression, filter, interlace] = b.subarray(data + 8, data + 13);
      channels = CHANNELS[colour] ?? 0;
      if (depth !== 8 || !channels || compression !== 0 || filter !== 0 || interlace !== 0) return undefined;
      if (width < 1 || height < 1 || width > maxSide || height > maxSide) return undefined;
    } else if (type === "IDAT") idat.push(b.subarray(data, data + length));
    else if (type === "IEND") break;
    else if (LEAVE_TO_SHARP.has(type)) return undefined;
    o = data + length + 4;
  }
  if (!channels || idat.length === 0) return undefined;
  const stride = width * channels;
  let raw: Buffer;
  try {
    raw = zlib.inflateSync(idat.length === 1 ? idat[0] : Buffer.concat(idat), {
      maxOutputLength: height * (stride + 1), // a bomb stops at the size the header declares
    });
  } catch {
    return undefined;
  }
  if (raw.length !== height * (stride + 1)) return undefined;
  return unfilter(raw, width, height, channels);
}

/** Undoes each row's filter in place and composites every pixel over white, as sharp's RGBA would give. */
function unfilter(raw: Uint8Array, width: number, height: number, channels: number): Light | undefined {
  const stride = width * channels;
  const light = new Float32Array(width * height);
  let prev = -1; // offset of the previous row's first byte in raw (none for the first row)
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1) + 1;
    const filter = raw[row - 1];
    if (filter === 1)
      for (let i = channels; i < stride; i++) raw[row + i] = (raw[row + i] + raw[row + i - channels]) & 255;
    else if (filter === 2) {
      if (prev >= 0) for (let i = 0; i < stride; i++) raw[row + i] = (raw[row + i] + raw[prev + i]) & 255;
    } else if (filter === 3) {
      for (let i = 0; i < stride; i++) {
        const left = i >= channels ? raw[row + i - channels] : 0;
        const up = prev >= 0 ? raw[prev + i] : 0;
        raw[row + i] = (raw[row + i] + ((left + up) >> 1)) & 255;
      }
    } else if (filter === 4) {
      for (let i = 0; i < stride; i++) {
        const a = i >= channels ? raw[row + i - channels] : 0;
        const bUp = prev >= 0 ? raw[prev + i] : 0;
        const c = i >= channels && prev >= 0 ? raw[prev + i - channels] : 0;
        const p = a + bUp - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - bUp);
        const pc = Math.abs(p - c);
        raw[row + i] = (raw[row + i] + (pa <= pb && pa <= pc ? a : pb <= pc ? bUp : c)) & 255;
      }
    } else if (filter !== 0) return undefined;
    prev = row;
    // The same arithmetic, in the same order, as lightFromRgba (preprocess.ts) on sharp's RGBA.
    const out = y * width;
    if (channels === 4)
      for (let x = 0, j = row; x < width; x++, j += 4) {
        const a = raw[j + 3] * (1 / 255);
        light[out + x] = a * (0.299 * raw[j] + 0.587 * raw[j + 1] + 0.114 * raw[j + 2]) * (1 / 255) + (1 - a);
      }
    else if (channels === 3)
      for (let x = 0, j = row; x < width; x++, j += 3)
        light[out + x] =
          OPAQUE * (0.299 * raw[j] + 0.587 * raw[j + 1] + 0.114 * raw[j + 2]) * (1 / 255) + (1 - OPAQUE);
    else if (channels === 2)
      for (let x = 0, j = row; x < width; x++, j += 2) {
        const a = raw[j + 1] * (1 / 255);
        const v = raw[j];
        light[out + x] = a * (0.299 * v + 0.587 * v + 0.114 * v) * (1 / 255) + (1 - a);
      }
    else
      for (let x = 0, j = row; x < width; x++, j++) {
        const v = raw[j];
        light[out + x] = OPAQUE * (0.299 * v + 0.587 * v + 0.114 * v) * (1 / 255) + (1 - OPAQUE);
      }
  }
  return { light, width, height };
}
