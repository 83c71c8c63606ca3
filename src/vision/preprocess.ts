/**
 * A person's picture → the model's input, by MNIST's own recipe, in steps each in its own module: light values
 * (light.ts), ink (ink.ts), specks dropped (components.ts), MNIST's box (mnist-box.ts), and for a written
 * number the digits apart (segment.ts). Pure TypeScript over pixels, so the server, the CLI and the browser run
 * the very same code (decoding differs: sharp in Node, a canvas in the page). `preprocess` is the entry point.
 */
import { dropSpecks } from "./components.js";
import { inkFromLight } from "./ink.js";
import type { LightSource } from "./light.js";
import { BOX, mnistFromInk, NoInkError, type Prepared } from "./mnist-box.js";
import { digitsOf } from "./segment.js";

export { rgbaLight, type LightSource } from "./light.js";
export { NoInkError, SIZE, type Prepared } from "./mnist-box.js";

/** Longest side a picture is shrunk to before preprocessing: plenty for a 20×20 digit, and it keeps a phone
 * photo's preprocessing to milliseconds (the server and the page both use it). */
export const WORKING_SIZE = 512;
/**
 * Pictures are analysed box-averaged down by a whole factor, keeping the shorter side at least this long (a
 * 280×280 canvas at 93×93): the analysis then costs about a ninth, and the digit's 20×20 box is still drawn
 * from several pixels per output pixel, so the input hardly changes.
 */
const ANALYSIS_MIN_SIDE = 90;
/** Ink spanning fewer pixels than this at the reduced size is analysed again at full size. */
const MIN_BOX_PIXELS = 2 * BOX;

/**
 * A picture → the model's input: one digit (throws NoInkError for a blank picture), or with `several` each
 * digit of a written number, left to right.
 */
export function preprocess(source: LightSource): Prepared;
export function preprocess(source: LightSource, options: { several: true }): Prepared[];
export function preprocess(source: LightSource, options: { several?: boolean } = {}): Prepared | Prepared[] {
  if (options.several)
    return atAnalysisSize(source, (r) => {
      const digits = digitsOf(r.light, r.width, r.height).map((d) => inOriginal(d, r.factor));
      return { result: digits, span: Math.min(...digits.map((d) => d.box.height / r.factor)) };
    });
  return atAnalysisSize(source, (r) => {
    const { ink, inverted } = inkFromLight(r.light, r.width, r.height);
    dropSpecks(ink, r.width, r.height);
    const p = inOriginal({ ...mnistFromInk(ink, r.width, r.height), inverted }, r.factor);
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
function inOriginal(p: Prepared, factor: number): Prepared {
  const { x, y, width, height } = p.box;
  const box = { x: x * factor, y: y * factor, width: width * factor, height: height * factor };
  return { ...p, box };
}
