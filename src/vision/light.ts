/**
 * A picture as light values: per pixel, composited over white paper (a transparent canvas is paper), greyscale,
 * in 0–1. The first step of the recipe, shared by every decoder (sharp's RGBA, a canvas's, the PNG fast path).
 */

/**
 * A picture as light values — per pixel, composited over white paper (a transparent canvas is paper),
 * greyscale, in 0–1 — at full size (`factor` 1) or shrunk by a whole factor, each value the mean of a
 * factor × factor block (the last partial row and column of blocks dropped).
 */
export interface LightSource {
  width: number;
  height: number;
  at(factor: number): Float32Array;
}

/**
 * Light values of 8-bit pixels with 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels, row y starting
 * at data[base + y · rowStride]. One loop for every source (sharp's RGBA, a canvas's, the PNG fast path's
 * rows), so a picture gives the same values to the last bit whichever way it was decoded.
 *
 * In integers, exactly: a pixel's darkness is alpha · (255,000 − luma), luma = 299 r + 587 g + 114 b (BT.601
 * in thousandths), and light = 1 − darkness / (255 · 255,000) — i.e. alpha · luma / 255 + (1 − alpha) over
 * white. A block's darkness is summed before the one division, so a reduced picture costs a few integer
 * operations a pixel.
 */
export function pixelLight(
  data: ArrayLike<number>,
  base: number,
  rowStride: number,
  channels: 1 | 2 | 3 | 4,
  width: number,
  height: number,
): LightSource {
  return {
    width,
    height,
    at(factor) {
      const w = Math.floor(width / factor);
      const h = Math.floor(height / factor);
      const out = new Float32Array(w * h);
      const sums = new Float64Array(w);
      const scale = 1 / (DARKEST * factor * factor);
      for (let y = 0; y < h * factor; y++) {
        darknessRow(data, base + y * rowStride, channels, w, factor, sums);
        if ((y + 1) % factor === 0) {
          const o = ((y + 1) / factor - 1) * w;
          for (let x = 0; x < w; x++) out[o + x] = 1 - sums[x] * scale;
          sums.fill(0);
        }
      }
      return out;
    },
  };
}

/** An opaque black pixel's darkness. */
const DARKEST = 255 * 255_000;

/** Adds each block's darkness along one row (w blocks of `factor` pixels) into sums. */
function darknessRow(
  d: ArrayLike<number>,
  j: number,
  channels: number,
  w: number,
  factor: number,
  sums: Float64Array,
) {
  if (channels === 4)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = 0; k < factor; k++, j += 4)
        s += d[j + 3] * (255_000 - (299 * d[j] + 587 * d[j + 1] + 114 * d[j + 2]));
      sums[x] += s;
    }
  else if (channels === 3)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = 0; k < factor; k++, j += 3) s += 255_000 - (299 * d[j] + 587 * d[j + 1] + 114 * d[j + 2]);
      sums[x] += 255 * s;
    }
  else if (channels === 2)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = 0; k < factor; k++, j += 2) s += d[j + 1] * (255 - d[j]);
      sums[x] += 1000 * s;
    }
  else
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = 0; k < factor; k++, j++) s += 255 - d[j];
      sums[x] += 255_000 * s;
    }
}

/** RGBA pixels (sharp's, a canvas's) as a light source. */
export function rgbaLight(rgba: ArrayLike<number>, width: number, height: number): LightSource {
  if (rgba.length !== width * height * 4)
    throw new Error(`expected ${width * height * 4} RGBA values for ${width}×${height}, got ${rgba.length}`);
  // Bytes are in range by their type; any other array (a library caller's) is checked: NaN, ±Infinity or a
  // value outside 0–255 would otherwise pass for ink or paper.
  if (!(rgba instanceof Uint8Array || rgba instanceof Uint8ClampedArray))
    for (let i = 0; i < rgba.length; i++) {
      const v = rgba[i];
      if (!(v >= 0 && v <= 255))
        throw new RangeError(`RGBA value ${v} at ${i}: each channel is a number from 0 to 255`);
    }
  return pixelLight(rgba, 0, width * 4, 4, width, height);
}
