/**
 * The page's pen: round-capped, round-joined strokes on the 280×280 pad, anti-aliased by distance. One
 * renderer for everything drawn: the page's pad draws with it (web/pad.ts), and so do the drawn-styles test
 * set and the pen datasets (pendigits, UNIPEN), so training sees, pixel for pixel, what a person's drawing
 * sends the model.
 */

/** The page's pad and pens (web/index.html). */
export const PAD = 280;
export const PENS = [12, 20, 30] as const;

/** A point on the pad, x right and y down, in pad pixels (fractions allowed: pointer events have them). */
export type Point = readonly [number, number];

/**
 * Ink coverage in 0–1 of each pad pixel under round-capped strokes of width `pen`, the strongest cover
 * where strokes cross (so a crossing is not darker than a stroke, as with an opaque canvas pen).
 */
export function inkStrokes(
  strokes: readonly (readonly Point[])[],
  pen: number,
  size = PAD,
  ink: Float32Array<ArrayBufferLike> = new Float32Array(size * size),
): Float32Array<ArrayBufferLike> {
  for (const s of strokes) inkStroke(ink, size, s, pen);
  return ink;
}

/** Round-capped strokes of width `pen` on the pad: RGBA, black ink on white. */
export function drawStrokes(strokes: readonly (readonly Point[])[], pen: number): Uint8ClampedArray {
  return onPaper(inkStrokes(strokes, pen));
}

/** Black ink of the given coverage laid over `rgba` (white paper when absent), as a canvas composites it. */
export function onPaper(ink: ArrayLike<number>, rgba?: Uint8ClampedArray): Uint8ClampedArray {
  const out = rgba ?? new Uint8ClampedArray(ink.length * 4).fill(255);
  for (let i = 0; i < ink.length; i++) {
    const c = ink[i];
    if (c === 0) continue;
    for (let k = 0; k < 3; k++) out[4 * i + k] = Math.round(out[4 * i + k] * (1 - c));
    out[4 * i + 3] = 255;
  }
  return out;
}

/**
 * A polyline without the points less than two pixels from the last one kept, its last point always kept:
 * a chord that short is off a pen's curve by hundredths of a pixel, and drawing gets cheaper.
 */
function thinned(points: readonly Point[]): readonly Point[] {
  const out: Point[] = [points[0]];
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [out[out.length - 1], points[i]];
    if ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2 >= 4 || i === points.length - 1) out.push(b);
  }
  return out;
}

function inkStroke(ink: Float32Array, size: number, stroke: readonly Point[], pen: number): void {
  const r = pen / 2;
  const points = thinned(stroke);
  for (let k = 0; k < Math.max(1, points.length - 1); k++) {
    const [ax, ay] = points[k];
    const [bx, by] = points[Math.min(k + 1, points.length - 1)];
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - r - 1));
    const x1 = Math.min(size - 1, Math.ceil(Math.max(ax, bx) + r + 1));
    const y0 = Math.max(0, Math.floor(Math.min(ay, by) - r - 1));
    const y1 = Math.min(size - 1, Math.ceil(Math.max(ay, by) + r + 1));
    const dx = bx - ax;
    const dy = by - ay;
    const len2 = dx * dx + dy * dy || 1;
    for (let y = y0; y <= y1; y++)
      for (let x = x0; x <= x1; x++) {
        const px = x + 0.5 - ax;
        const py = y + 0.5 - ay;
        const dot = (px * dx + py * dy) / len2;
        const t = dot < 0 ? 0 : dot > 1 ? 1 : dot;
        const ex = px - t * dx;
        const ey = py - t * dy;
        const cover = r + 0.5 - Math.sqrt(ex * ex + ey * ey);
        if (cover > ink[y * size + x]) ink[y * size + x] = cover > 1 ? 1 : cover;
      }
  }
}
