/**
 * Things that are not digits, as people hand them to a digit reader: letters and symbols in handwriting
 * fonts (and DejaVu), scribbles drawn with the page's pens, near-blank pictures (a dot, a few specks, a faint
 * smudge), and textures (stripes, checks, blotches, rings, a ruled grid, photo-like noise). Each is put on
 * the 280×280 pad and goes through MNIST's preprocessing, as a picture would; some never reach the model
 * ("no ink found"), which counts as refused.
 */
import fs from "node:fs";
import { Random } from "../util/random.js";
import { availableFonts, renderFontGlyph } from "../synthetic/fonts.js";
import { drawStrokes, PAD, PENS } from "../vision/pen.js";
import type { Point } from "../drawn-styles/templates.js";
import { NoInkError, preprocess, rgbaLight, SIZE } from "../vision/preprocess.js";

export const KINDS = ["letter", "symbol", "scribble", "near-blank", "texture"] as const;
export type Kind = (typeof KINDS)[number];

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SYMBOLS = "+-=×÷#@&%?!*/\\()[]{}<>~$€£π✓✗";
const DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

export interface NonDigitSet {
  /** The pictures that reached the model: [n, 28, 28, 1]. */
  x: Float32Array;
  /** Each such picture's kind. */
  kinds: Kind[];
  /** Per kind: how many were made, and how many the preprocessing refused (no ink found). */
  made: Record<Kind, number>;
  noInk: Record<Kind, number>;
}

/** A smooth random curve across the pad: a random walk with momentum. */
function scribble(rng: Random): Point[][] {
  const strokes: Point[][] = [];
  for (let s = 0, n = 1 + rng.int(3); s < n; s++) {
    let [x, y] = [rng.uniform(50, 230), rng.uniform(50, 230)];
    let angle = rng.uniform(0, 2 * Math.PI);
    const points: Point[] = [[x, y]];
    for (let i = 0, steps = 8 + rng.int(30); i < steps; i++) {
      angle += rng.uniform(-0.9, 0.9);
      x = Math.min(270, Math.max(10, x + 9 * Math.cos(angle)));
      y = Math.min(270, Math.max(10, y + 9 * Math.sin(angle)));
      points.push([x, y]);
    }
    strokes.push(points);
  }
  return strokes;
}

/** Grey levels 0 (ink) … 1 (paper) → the pad's RGBA. */
function greyPad(value: (x: number, y: number) => number): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(PAD * PAD * 4);
  for (let y = 0; y < PAD; y++)
    for (let x = 0; x < PAD; x++) {
      const v = Math.round(255 * Math.min(1, Math.max(0, value(x, y))));
      rgba.set([v, v, v, 255], 4 * (y * PAD + x));
    }
  return rgba;
}

function texture(rng: Random): Uint8ClampedArray {
  const kind = rng.int(6);
  const f = rng.uniform(0.03, 0.25);
  const a = rng.uniform(0, Math.PI);
  const [c, s] = [Math.cos(a), Math.sin(a)];
  const [cx, cy] = [rng.uniform(60, 220), rng.uniform(60, 220)];
  const blobs = Array.from({ length: 6 + rng.int(10) }, () => [
    rng.uniform(0, PAD),
    rng.uniform(0, PAD),
    rng.uniform(8, 40),
  ]);
  const noise = () => rng.uniform(-0.15, 0.15);
  const pictures: ((x: number, y: number) => number)[] = [
    (x, y) => 0.5 + 0.5 * Math.sin(f * (c * x + s * y)), // stripes
    (x, y) => ((Math.floor(f * x) + Math.floor(f * y)) % 2 ? 0.15 : 0.9), // checks
    (x, y) => (blobs.some(([bx, by, r]) => (x - bx) ** 2 + (y - by) ** 2 < r * r) ? 0.2 : 0.95), // blotches
    (x, y) => 0.5 + 0.5 * Math.cos(f * Math.hypot(x - cx, y - cy)), // rings
    (x, y) => (x % Math.round(10 + 60 * f) < 2 || y % Math.round(10 + 60 * f) < 2 ? 0.3 : 0.97), // ruled grid
    (x, y) => 0.6 + 0.3 * Math.sin(f * x) * Math.cos(f * 0.7 * y) + noise(), // photo-like grain
  ];
  return greyPad(pictures[kind]);
}

function nearBlank(rng: Random): Uint8ClampedArray {
  const kind = rng.int(3);
  if (kind === 0) return drawStrokes([[[rng.uniform(30, 250), rng.uniform(30, 250)]]], PENS[rng.int(3)]); // a dot
  if (kind === 1)
    return drawStrokes(
      Array.from({ length: 2 + rng.int(4) }, () => [[rng.uniform(10, 270), rng.uniform(10, 270)] as Point]),
      4,
    ); // specks
  const [cx, cy, r] = [rng.uniform(80, 200), rng.uniform(80, 200), rng.uniform(30, 90)];
  return greyPad((x, y) => 1 - 0.12 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (r * r))); // a faint smudge
}

/** `perKind` pictures of each kind, the same for the same seed. */
export function nonDigitSet(perKind: number, seed = 1): NonDigitSet {
  const rng = new Random(seed);
  const fonts = [...availableFonts(), ...(fs.existsSync(DEJAVU) ? [DEJAVU] : [])];
  if (fonts.length === 0) throw new Error("no fonts for letters and symbols: install fonts-dejavu-core");
  const glyph = (chars: string) => {
    const { rgba } = renderFontGlyph(
      fonts[rng.int(fonts.length)],
      [...chars][rng.int([...chars].length)],
      rng,
    );
    return rgba;
  };
  const make: Record<Kind, () => ArrayLike<number>> = {
    letter: () => glyph(LETTERS),
    symbol: () => glyph(SYMBOLS),
    scribble: () => drawStrokes(scribble(rng), PENS[rng.int(3)]),
    "near-blank": () => nearBlank(rng),
    texture: () => texture(rng),
  };
  const inputs: Float32Array[] = [];
  const kinds: Kind[] = [];
  const made = Object.fromEntries(KINDS.map((k) => [k, perKind])) as Record<Kind, number>;
  const noInk = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  for (const kind of KINDS)
    for (let i = 0; i < perKind; i++) {
      try {
        inputs.push(preprocess(rgbaLight(make[kind](), PAD, PAD)).input);
        kinds.push(kind);
      } catch (e) {
        if (!(e instanceof NoInkError)) throw e;
        noInk[kind]++;
      }
    }
  const x = new Float32Array(inputs.length * SIZE * SIZE);
  inputs.forEach((v, i) => x.set(v, i * SIZE * SIZE));
  return { x, kinds, made, noInk };
}
