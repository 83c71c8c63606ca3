/**
 * A person's picture of a digit → the 28×28 input the model was trained on, by MNIST's own recipe:
 * white ink on black, fitted into a 20×20 box keeping the aspect ratio, anti-aliased, and centred in 28×28 by
 * its centre of mass. Pure TypeScript over RGBA pixels, so the server, the CLI and the browser run the very
 * same code (decoding differs: sharp in Node, a canvas in the page).
 */

export const SIZE = 28;
/** Longest side a picture is shrunk to before preprocessing: plenty for a 20×20 digit, and it keeps a phone
 * photo's preprocessing to milliseconds (the server and the page both use it). */
export const WORKING_SIZE = 512;
export const BOX = 20;
/**
 * Pictures are analysed box-averaged down by a whole factor, keeping the shorter side at least this long (a
 * 280×280 canvas at 93×93): the analysis then costs about a ninth, and the digit's 20×20 box is still drawn
 * from several pixels per output pixel, so the input hardly changes.
 */
export const ANALYSIS_MIN_SIDE = 90;
/** Ink spanning fewer pixels than this at the reduced size is analysed again at full size. */
const MIN_BOX_PIXELS = 2 * BOX;
/** Ink fainter than this fraction of the strongest ink is noise, paper texture or shadow. */
export const NOISE_FLOOR = 0.15;

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

/** The q-quantile of values in 0–1, to 1/1024 (a histogram: a sort of a photo's pixels is too slow). */
function percentile(values: Float32Array, q: number): number {
  const bins = new Uint32Array(1025);
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    bins[Math.round(values[i] * 1024)]++;
    if (values[i] > max) max = values[i];
  }
  let seen = 0;
  const target = q * (values.length - 1);
  for (let b = 0; b <= 1024; b++) {
    seen += bins[b];
    if (seen > target) return b / 1024 || max;
  }
  return max;
}

/** The values above a trace (2% ink): the pixels that hold any ink at all. */
function inked(ink: Float32Array): Float32Array {
  let count = 0;
  for (let i = 0; i < ink.length; i++) if (ink[i] > 0.02) count++;
  const out = new Float32Array(count);
  for (let i = 0, k = 0; i < ink.length; i++) if (ink[i] > 0.02) out[k++] = ink[i];
  return out;
}

/**
 * Ink intensity in 0–1 per pixel: alpha composited over white paper (a transparent canvas is paper, not
 * ink), greyscale, polarity from the border (the background), background level subtracted, faint noise
 * suppressed, and contrast stretched so a pencil sketch looks like MNIST's strokes.
 */
export function inkFromRgba(
  rgba: ArrayLike<number>,
  width: number,
  height: number,
): { ink: Float32Array; inverted: boolean } {
  return inkFromLight(lightFromRgba(rgba, width, height), width, height);
}

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

/** Full-size light values of RGBA pixels. */
export const lightFromRgba = (rgba: ArrayLike<number>, width: number, height: number) =>
  rgbaLight(rgba, width, height).at(1);

/** inkFromRgba's work after the light values (which the server's PNG fast path decodes straight to). */
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
  if (inverted) for (let i = 0; i < n; i++) ink[i] = Math.max(0, 1 - light[i] - bgInk) * gain;
  else for (let i = 0; i < n; i++) ink[i] = Math.max(0, light[i] - bgInk) * gain;
  // The strongest ink sets the scale (the 99th percentile of the inked pixels, so a few hot pixels do not);
  // what is faint against it is noise, paper texture or shadow. Of the inked pixels only: a thin digit small
  // on a big canvas covers well under 1% of it, and a percentile of every pixel would call it blank.
  const peak = percentile(inked(ink), 0.99);
  if (peak < 0.15) return { ink: new Float32Array(n), inverted };
  const floor = NOISE_FLOOR * peak;
  const scale = 1 / peak;
  for (let i = 0; i < n; i++) ink[i] = ink[i] < floor ? 0 : Math.min(1, ink[i] * scale);
  return { ink, inverted };
}

export interface Component {
  id: number;
  area: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** 8-connected regions of ink: a label per pixel (-1 for paper) and each region's area and bounding box. */
export function components(
  ink: Float32Array,
  width: number,
  height: number,
): { label: Int32Array; parts: Component[] } {
  const label = new Int32Array(ink.length).fill(-1);
  const parts: Component[] = [];
  const stack: number[] = [];
  for (let start = 0; start < ink.length; start++) {
    if (ink[start] === 0 || label[start] >= 0) continue;
    const part = { id: parts.length, area: 0, x0: width, x1: -1, y0: height, y1: -1 };
    label[start] = part.id;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop() as number;
      const px = p % width;
      const py = (p - px) / width;
      part.area++;
      if (px < part.x0) part.x0 = px;
      if (px > part.x1) part.x1 = px;
      if (py < part.y0) part.y0 = py;
      if (py > part.y1) part.y1 = py;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const qx = px + dx;
          const qy = py + dy;
          if (qx < 0 || qy < 0 || qx >= width || qy >= height) continue;
          const q = qy * width + qx;
          if (ink[q] > 0 && label[q] < 0) {
            label[q] = part.id;
            stack.push(q);
          }
        }
      }
    }
    parts.push(part);
  }
  return { label, parts };
}

/**
 * Keeps the connected ink regions that matter: specks far smaller than the largest stroke are erased.
 * Returns the regions kept.
 */
export function dropSpecks(ink: Float32Array, width: number, height: number, minFraction = 0.08) {
  const { label, parts } = components(ink, width, height);
  const largest = parts.reduce((m, p) => Math.max(m, p.area), 0);
  const keep = new Uint8Array(parts.length);
  for (const p of parts) keep[p.id] = p.area >= minFraction * largest ? 1 : 0;
  for (let i = 0; i < ink.length; i++) if (label[i] >= 0 && !keep[label[i]]) ink[i] = 0;
  return { label, parts: parts.filter((p) => keep[p.id]) };
}

/** 1-D resampling weights: area-averaging when shrinking (anti-aliased), linear interpolation when growing. */
function weights(from: number, to: number): { index: number; weight: number }[][] {
  const scale = from / to;
  return Array.from({ length: to }, (_, j) => {
    if (scale >= 1) {
      const lo = j * scale;
      const hi = lo + scale;
      const out: { index: number; weight: number }[] = [];
      for (let i = Math.floor(lo); i < Math.min(from, Math.ceil(hi)); i++) {
        const overlap = Math.min(hi, i + 1) - Math.max(lo, i);
        if (overlap > 0) out.push({ index: i, weight: overlap / scale });
      }
      return out;
    }
    const centre = Math.min(Math.max((j + 0.5) * scale - 0.5, 0), from - 1);
    const i = Math.floor(centre);
    const t = centre - i;
    return i + 1 < from
      ? [
          { index: i, weight: 1 - t },
          { index: i + 1, weight: t },
        ]
      : [{ index: i, weight: 1 }];
  });
}

/** Resizes a w×h single-channel image to tw×th (separable). */
export function resize(src: Float32Array, w: number, h: number, tw: number, th: number): Float32Array {
  const wx = weights(w, tw);
  const wy = weights(h, th);
  const rows = new Float32Array(h * tw);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < tw; x++) {
      let s = 0;
      for (const { index, weight } of wx[x]) s += src[y * w + index] * weight;
      rows[y * tw + x] = s;
    }
  }
  const out = new Float32Array(th * tw);
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      let s = 0;
      for (const { index, weight } of wy[y]) s += rows[index * tw + x] * weight;
      out[y * tw + x] = s;
    }
  }
  return out;
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
  // Place the fitted digit so its centre of mass lands where MNIST's do: pixel (14, 14), measured.
  const ox = Math.round(SIZE / 2 - cx / mass);
  const oy = Math.round(SIZE / 2 - cy / mass);
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

/** The whole recipe from RGBA pixels. Throws NoInkError for a blank picture. */
export function prepareDigit(rgba: ArrayLike<number>, width: number, height: number): Prepared {
  return prepareLight(rgbaLight(rgba, width, height));
}

/** The whole recipe from a picture's light values. */
export function prepareLight(source: LightSource): Prepared {
  return atAnalysisSize(source, (r) => {
    const { ink, inverted } = inkFromLight(r.light, r.width, r.height);
    dropSpecks(ink, r.width, r.height);
    const p = inOriginal(mnistFromInk(ink, r.width, r.height), inverted, r.factor);
    return { result: p, span: Math.max(p.box.width, p.box.height) / r.factor };
  });
}

interface Reduced {
  light: Float32Array;
  width: number;
  height: number;
  factor: number;
}

/**
 * Runs `analyse` on the picture reduced for analysis; a small digit on a big picture (its ink spanning too few
 * reduced pixels), or one lost at that size, is analysed again at full size.
 */
function atAnalysisSize<T>(source: LightSource, analyse: (r: Reduced) => { result: T; span: number }): T {
  const reduced = (factor: number): Reduced => ({
    light: source.at(factor),
    width: Math.floor(source.width / factor),
    height: Math.floor(source.height / factor),
    factor,
  });
  const factor = Math.max(1, Math.floor(Math.min(source.width, source.height) / ANALYSIS_MIN_SIDE));
  const full = () => analyse(reduced(1)).result;
  if (factor === 1) return full();
  try {
    const coarse = analyse(reduced(factor));
    return coarse.span < MIN_BOX_PIXELS ? full() : coarse.result;
  } catch (e) {
    if (e instanceof NoInkError) return full();
    throw e;
  }
}

/** A result analysed at a reduced size, its box in the picture's own pixels. */
function inOriginal(p: Omit<Prepared, "inverted">, inverted: boolean, factor: number): Prepared {
  const { x, y, width, height } = p.box;
  const box = { x: x * factor, y: y * factor, width: width * factor, height: height * factor };
  return { input: p.input, box, inverted };
}

/**
 * Several digits in one picture (a written number), left to right. Ink regions are grouped into digits by
 * horizontal overlap, so a digit drawn in several strokes (a 5's bar, a 4's two strokes) stays one digit;
 * each digit then goes through MNIST's recipe on its own.
 */
export function prepareDigits(rgba: ArrayLike<number>, width: number, height: number): Prepared[] {
  return prepareLightDigits(rgbaLight(rgba, width, height));
}

/** prepareDigits from light values. */
export function prepareLightDigits(source: LightSource): Prepared[] {
  return atAnalysisSize(source, (r) => {
    const digits = digitsAt(r.light, r.width, r.height, r.factor);
    return { result: digits, span: Math.min(...digits.map((d) => d.box.height / r.factor)) };
  });
}

function digitsAt(light: Float32Array, width: number, height: number, factor: number): Prepared[] {
  const { ink, inverted } = inkFromLight(light, width, height);
  const { label, parts } = dropSpecks(ink, width, height);
  if (parts.length === 0) throw new NoInkError();
  const groups: { x0: number; x1: number; ids: Set<number> }[] = [];
  for (const p of [...parts].sort((a, b) => a.x0 - b.x0)) {
    const g = groups[groups.length - 1];
    const overlap = g ? Math.min(g.x1, p.x1) - Math.max(g.x0, p.x0) + 1 : 0;
    const narrower = g ? Math.min(g.x1 - g.x0, p.x1 - p.x0) + 1 : 1;
    if (g && overlap >= 0.5 * narrower) {
      g.x0 = Math.min(g.x0, p.x0);
      g.x1 = Math.max(g.x1, p.x1);
      g.ids.add(p.id);
    } else groups.push({ x0: p.x0, x1: p.x1, ids: new Set([p.id]) });
  }
  return groups.map((g) => {
    const own = new Float32Array(ink.length);
    for (let i = 0; i < ink.length; i++) if (label[i] >= 0 && g.ids.has(label[i])) own[i] = ink[i];
    return inOriginal(mnistFromInk(own, width, height), inverted, factor);
  });
}
