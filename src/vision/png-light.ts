/**
 * The server's fast path for the picture it gets most: an 8-bit, non-interlaced PNG no larger than the working
 * size (the page's canvas, a screenshot, a scan) decoded straight to the light values preprocessing starts
 * from — zlib's inflate, the five PNG row filters undone in one typed-array pass, each pixel composited over
 * white by the loop every decoder's pixels go through (preprocess.ts's pixelLight). It does what sharp does for such files, at a third of the CPU (sharp's pipeline costs
 * ~2.5 ms a picture here, inflate and this loop ~0.8 ms), and gives the same light values to the last bit
 * (test/vision/png-light.test.ts). Anything else — palettes, transparency keys, 16 bits, interlacing, colour
 * profiles, orientation, bigger pictures, anything malformed — is left to sharp (undefined).
 */
import zlib from "node:zlib";
import { pixelLight, type LightSource } from "./light.js";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Channels per colour type: grey, RGB, grey + alpha, RGBA (8 bits each). */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };
/** Chunks whose meaning sharp would apply (or that we do not): their pictures take sharp's path. */
const LEAVE_TO_SHARP = new Set(["PLTE", "tRNS", "iCCP", "eXIf", "sBIT", "cICP"]);

const u32 = (b: Uint8Array, o: number) =>
  ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

export function pngLight(b: Uint8Array, maxSide: number): LightSource | undefined {
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
  if (raw.length !== height * (stride + 1) || !unfilter(raw, width, height, channels)) return undefined;
  return pixelLight(raw, 1, stride + 1, channels as 1 | 2 | 3 | 4, width, height);
}

/** Undoes each row's filter in place (raw: per row, a filter byte then the row's bytes); false if one is unknown. */
function unfilter(raw: Uint8Array, width: number, height: number, channels: number): boolean {
  const stride = width * channels;
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1) + 1;
    const up = row - stride - 1; // the previous row's first byte (none for the first row)
    const filter = raw[row - 1];
    if (filter === 0) continue;
    if (filter > 4) return false;
    if (y === 0 && filter !== 1) {
      // No row above: Up adds nothing, Average adds half the left byte, Paeth picks the left byte.
      if (filter === 3)
        for (let i = channels; i < stride; i++)
          raw[row + i] = (raw[row + i] + (raw[row + i - channels] >> 1)) & 255;
      else if (filter === 4)
        for (let i = channels; i < stride; i++) raw[row + i] = (raw[row + i] + raw[row + i - channels]) & 255;
      continue;
    }
    if (filter === 1)
      for (let i = channels; i < stride; i++) raw[row + i] = (raw[row + i] + raw[row + i - channels]) & 255;
    else if (filter === 2) for (let i = 0; i < stride; i++) raw[row + i] = (raw[row + i] + raw[up + i]) & 255;
    else if (filter === 3) {
      for (let i = 0; i < channels; i++) raw[row + i] = (raw[row + i] + (raw[up + i] >> 1)) & 255;
      for (let i = channels; i < stride; i++)
        raw[row + i] = (raw[row + i] + ((raw[row + i - channels] + raw[up + i]) >> 1)) & 255;
    } else {
      for (let i = 0; i < channels; i++) raw[row + i] = (raw[row + i] + raw[up + i]) & 255; // Paeth of (0, b, 0) is b
      for (let i = channels; i < stride; i++) {
        const a = raw[row + i - channels];
        const b = raw[up + i];
        const c = raw[up + i - channels];
        const pa = b > c ? b - c : c - b; // |p − a| with p = a + b − c
        const pb = a > c ? a - c : c - a;
        const pc = a + b - 2 * c > 0 ? a + b - 2 * c : 2 * c - a - b;
        raw[row + i] = (raw[row + i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
      }
    }
  }
  return true;
}
