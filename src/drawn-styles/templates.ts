/**
 * Digits as pen strokes, in the styles people write them — including the ones MNIST's American writers
 * rarely used (a 1 with a long flag, a crossed 7, an open 4, a 9 with a curved tail, a flat-topped 3).
 * Each stroke is a polyline in a unit box (x right, y down), drawn as the page's pen draws it.
 */
export type Point = readonly [number, number];
export type Stroke = readonly Point[];

export interface Template {
  digit: number;
  style: string;
  strokes: readonly Stroke[];
}

/** Points along an elliptical arc (angles in degrees, 0 = right, 90 = down). */
function arc(cx: number, cy: number, rx: number, ry: number, from: number, to: number, n = 16): Point[] {
  return Array.from({ length: n + 1 }, (_, i) => {
    const a = ((from + ((to - from) * i) / n) * Math.PI) / 180;
    return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)] as Point;
  });
}

const line = (...points: Point[]): Stroke => points;

export const TEMPLATES: readonly Template[] = [
  { digit: 0, style: "oval", strokes: [arc(0.5, 0.5, 0.3, 0.45, -90, 270, 32)] },
  { digit: 0, style: "round", strokes: [arc(0.5, 0.5, 0.4, 0.42, -100, 265, 32)] },
  { digit: 1, style: "stick", strokes: [line([0.52, 0.05], [0.48, 0.95])] },
  { digit: 1, style: "flag", strokes: [line([0.2, 0.35], [0.55, 0.05], [0.55, 0.95])] },
  {
    digit: 1,
    style: "flag and base",
    strokes: [line([0.25, 0.3], [0.55, 0.05], [0.55, 0.95]), line([0.3, 0.95], [0.8, 0.95])],
  },
  {
    digit: 2,
    style: "swan",
    strokes: [[...arc(0.5, 0.3, 0.3, 0.25, 200, 380, 12), [0.15, 0.95], [0.85, 0.95]]],
  },
  {
    digit: 2,
    style: "looped",
    strokes: [
      [
        ...arc(0.5, 0.3, 0.3, 0.25, 200, 380, 12),
        [0.25, 0.85],
        ...arc(0.3, 0.85, 0.1, 0.1, -90, 200, 8),
        [0.85, 0.92],
      ],
    ],
  },
  {
    digit: 3,
    style: "round",
    strokes: [[...arc(0.48, 0.28, 0.3, 0.23, 200, 450, 14), ...arc(0.48, 0.72, 0.33, 0.23, -90, 160, 14)]],
  },
  {
    digit: 3,
    style: "flat top",
    strokes: [[[0.2, 0.05], [0.8, 0.05], [0.45, 0.4], ...arc(0.48, 0.68, 0.33, 0.27, -80, 160, 14)]],
  },
  {
    digit: 4,
    style: "closed",
    strokes: [line([0.65, 0.05], [0.1, 0.65], [0.9, 0.65]), line([0.65, 0.05], [0.65, 0.95])],
  },
  {
    digit: 4,
    style: "open",
    strokes: [line([0.25, 0.05], [0.15, 0.6], [0.85, 0.6]), line([0.7, 0.25], [0.7, 0.95])],
  },
  {
    digit: 5,
    style: "two strokes",
    strokes: [
      [[0.3, 0.05], [0.25, 0.45], ...arc(0.48, 0.68, 0.32, 0.27, -120, 150, 14)],
      line([0.3, 0.05], [0.85, 0.05]),
    ],
  },
  {
    digit: 5,
    style: "one stroke",
    strokes: [[[0.85, 0.05], [0.3, 0.05], [0.25, 0.45], ...arc(0.48, 0.68, 0.32, 0.27, -120, 150, 14)]],
  },
  { digit: 6, style: "loop", strokes: [[[0.75, 0.05], ...arc(0.5, 0.68, 0.3, 0.27, 210, 570, 24)]] },
  {
    digit: 6,
    style: "curved",
    strokes: [[...arc(0.72, 0.55, 0.5, 0.5, 260, 180, 10), ...arc(0.5, 0.7, 0.28, 0.25, 180, 540, 20)]],
  },
  { digit: 7, style: "plain", strokes: [line([0.15, 0.05], [0.85, 0.05], [0.4, 0.95])] },
  {
    digit: 7,
    style: "crossbar",
    strokes: [line([0.15, 0.05], [0.85, 0.05], [0.4, 0.95]), line([0.35, 0.5], [0.8, 0.5])],
  },
  { digit: 7, style: "hooked", strokes: [line([0.12, 0.2], [0.15, 0.05], [0.85, 0.05], [0.45, 0.95])] },
  {
    digit: 8,
    style: "two loops",
    strokes: [arc(0.5, 0.27, 0.25, 0.22, 0, 360, 20), arc(0.5, 0.72, 0.3, 0.23, 0, 360, 20)],
  },
  {
    digit: 8,
    style: "one stroke",
    strokes: [[...arc(0.5, 0.27, 0.25, 0.22, 90, 450, 20), ...arc(0.5, 0.72, 0.3, 0.23, -90, 270, 20)]],
  },
  { digit: 9, style: "straight tail", strokes: [[...arc(0.48, 0.3, 0.28, 0.25, 0, 360, 20), [0.76, 0.95]]] },
  {
    digit: 9,
    style: "curved tail",
    strokes: [[...arc(0.48, 0.3, 0.28, 0.25, 0, 360, 20), ...arc(0.46, 0.55, 0.3, 0.4, 0, 110, 8)]],
  },
];
