/** Light values → ink: which pixels are strokes, and how strongly. */

/** Ink fainter than this fraction of the strongest ink is noise, paper texture or shadow. */
export const NOISE_FLOOR = 0.15;

/** Ink above this (2%) is ink at all; the strongest ink is measured among such pixels only. */
const TRACE = 0.02;

/**
 * The q-quantile, to 1/1024, of the values in a histogram of 1,025 bins over 0–1 (`count` values, the
 * largest `max`): a histogram, because sorting a photo's pixels is too slow.
 */
function percentile(bins: Uint32Array, count: number, max: number, q: number): number {
  let seen = 0;
  const target = q * (count - 1);
  for (let b = 0; b <= 1024; b++) {
    seen += bins[b];
    if (seen > target) return b / 1024 || max;
  }
  return max;
}

/**
 * Ink intensity in 0–1 per pixel from light values: polarity from the border (the background), background
 * level subtracted, faint noise suppressed, and contrast stretched so a pencil sketch looks like MNIST's strokes.
 */
export function inkFromLight(
  light: Float32Array,
  width: number,
  height: number,
): { ink: Float32Array; inverted: boolean } {
  const n = width * height;
  const border = new Float32Array(2 * (width + height));
  for (let x = 0; x < width; x++) {
    border[2 * x] = light[x];
    border[2 * x + 1] = light[(height - 1) * width + x];
  }
  for (let y = 0; y < height; y++) {
    border[2 * width + 2 * y] = light[y * width];
    border[2 * width + 2 * y + 1] = light[y * width + width - 1];
  }
  const background = border.sort()[border.length >> 1];
  const inverted = background > 0.5;
  const ink = new Float32Array(n);
  const bgInk = inverted ? 1 - background : background;
  const gain = 1 / Math.max(1e-6, 1 - bgInk);
  // The strongest ink sets the scale (the 99th percentile of the inked pixels, so a few hot pixels do not);
  // what is faint against it is noise, paper texture or shadow. Of the inked pixels only: a thin digit small
  // on a big canvas covers well under 1% of it, and a percentile of every pixel would call it blank. Their
  // histogram is built in the same pass as the ink.
  const bins = new Uint32Array(1025);
  let count = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = Math.fround(Math.max(0, inverted ? 1 - light[i] - bgInk : light[i] - bgInk) * gain);
    ink[i] = v;
    if (v > TRACE) {
      bins[Math.round(v * 1024)]++;
      count++;
      if (v > max) max = v;
    }
  }
  const peak = percentile(bins, count, max, 0.99);
  if (peak < 0.15) return { ink: new Float32Array(n), inverted };
  const floor = NOISE_FLOOR * peak;
  const scale = 1 / peak;
  for (let i = 0; i < n; i++) ink[i] = ink[i] < floor ? 0 : Math.min(1, ink[i] * scale);
  return { ink, inverted };
}
