/**
 * A picture as light values: per pixel, composited over white paper (a transparent canvas is paper), greyscale,
 * in 0–1. The first step of the recipe, shared by every decoder (sharp's RGBA, a canvas's, the PNG fast path's).
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

/** An opaque black pixel's darkness. */
const DARKEST = 255 * 255_000;

/**
 * Light values of RGBA pixels, in integers, exactly: a pixel's darkness is alpha · (255,000 − luma), luma =
 * 299 r + 587 g + 114 b (BT.601 in thousandths), and light = 1 − darkness / (255 · 255,000) — i.e. alpha ·
 * luma / 255 + (1 − alpha) over white. A block's darkness is summed before the one division, so a reduced
 * picture costs a few integer operations a pixel. The PNG fast path's kernel (png-kernel.wat) does the same
 * arithmetic for every PNG colour type, so a picture gives the same values to the last bit whichever way it
 * was decoded.
 */
function rgbaBlocks(d: ArrayLike<number>, width: number, height: number): LightSource {
  return blockLight(width, height, (w, h, factor) => {
    const sums = new Float64Array(w * h);
    for (let y = 0; y < h * factor; y++) {
      let j = y * width * 4;
      const o = Math.floor(y / factor) * w;
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let k = 0; k < factor; k++, j += 4)
          s += d[j + 3] * (255_000 - (299 * d[j] + 587 * d[j + 1] + 114 * d[j + 2]));
        sums[o + x] += s;
      }
    }
    return sums;
  });
}

/**
 * A light source from a decoder's block sums: `darkness(w, h, factor)` gives each of the w × h blocks' summed
 * darkness (factor × factor pixels each), and the light values are worked out from them here, for every decoder.
 */
export function blockLight(
  width: number,
  height: number,
  darkness: (w: number, h: number, factor: number) => Float64Array,
): LightSource {
  return {
    width,
    height,
    at(factor) {
      const sums = darkness(Math.floor(width / factor), Math.floor(height / factor), factor);
      const out = new Float32Array(sums.length);
      const scale = 1 / (DARKEST * factor * factor);
      for (let i = 0; i < out.length; i++) out[i] = 1 - sums[i] * scale;
      return out;
    },
  };
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
  return rgbaBlocks(rgba, width, height);
}
