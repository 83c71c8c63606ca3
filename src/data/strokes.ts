/**
 * Pen datasets (pendigits, UNIPEN): digits as the writer's pen moved, one JSON object a line, turned into
 * pictures exactly as the page turns a person's drawing into one — placed on the 280×280 pad at the sizes
 * and places people draw at, drawn by the page's own pen renderer (vision/pen.ts) with one of its pens, then
 * the page's preprocessing — so training sees what the server sees. Size, place, aspect, slant and pen vary
 * per digit, from a seed.
 */
import fs from "node:fs";
import zlib from "node:zlib";
import { Random } from "../util/random.js";
import { inkStrokes, onPaper, PAD, PENS, type Point } from "../vision/pen.js";
import { preprocess, rgbaLight, SIZE } from "../vision/preprocess.js";
import { DataError } from "./split.js";

/** More than any pen set digits knows (UNIPEN is 21 MB): a larger file is not one of them. */
const MAX_TEXT_BYTES = 256 << 20;

export interface PenDigit {
  label: number;
  /** Who wrote it, unique within the set ("12", "apb/amywldrp"). */
  writer: string;
  /** The site that collected it, where the set says (UNIPEN's donor). */
  site?: string;
  strokes: Point[][];
}

/** A file's bytes, gunzipped when gzipped, refusing a decompression bomb. */
export async function readGzipText(file: string): Promise<Uint8Array> {
  let raw: Buffer;
  try {
    raw = await fs.promises.readFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new DataError(
      `${file}: ${err.code === "ENOENT" ? "file not found" : `cannot read (${err.message})`}`,
    );
  }
  if (!(raw[0] === 0x1f && raw[1] === 0x8b)) return new Uint8Array(raw);
  try {
    return new Uint8Array(zlib.gunzipSync(raw, { maxOutputLength: MAX_TEXT_BYTES }));
  } catch (e) {
    const why =
      (e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE"
        ? `inflates to more than ${MAX_TEXT_BYTES >> 20} MB`
        : `corrupt gzip data (${(e as Error).message})`;
    throw new DataError(`${file}: ${why}`);
  }
}

const isPoint = (p: unknown): p is [number, number] =>
  Array.isArray(p) && p.length >= 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]);

/**
 * The digits of a pen set's JSON lines: `label` 0–9, `strokes` a list of non-empty lists of [x, y] (y down),
 * `writer` (and UNIPEN's `donor`, the site). Anything else is an error naming the file and the line.
 */
export function parsePenDigits(bytes: Uint8Array, file: string): PenDigit[] {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  const out: PenDigit[] = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    const bad = (why: string) => new DataError(`${file} line ${i + 1}: ${why} (not a pen-strokes file?)`);
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw bad("not JSON");
    }
    if (typeof o !== "object" || o === null) throw bad("not a JSON object");
    const { label, strokes, writer, donor } = o;
    if (!Number.isInteger(label) || (label as number) < 0 || (label as number) > 9) throw bad("no label 0–9");
    if (
      !Array.isArray(strokes) ||
      strokes.length === 0 ||
      !strokes.every((s) => Array.isArray(s) && s.length > 0 && s.every(isPoint))
    )
      throw bad("no strokes (a list of lists of [x, y] points)");
    if (writer === undefined || writer === null || writer === "") throw bad("no writer");
    const site = typeof donor === "string" ? donor : undefined;
    out.push({
      label: label as number,
      writer: site ? `${site}/${String(writer)}` : String(writer),
      ...(site ? { site } : {}),
      strokes: (strokes as [number, number][][]).map((s) => s.map(([x, y]) => [x, y] as const)),
    });
  });
  if (out.length === 0) throw new DataError(`${file}: no digits in it`);
  return out;
}

/**
 * A digit's strokes placed on the pad as a person draws: its height 45–80% of the pad (its width
 * following, squeezed or stretched by up to 15%), slanted by up to ±12°, anywhere it fits.
 */
export function placeOnPad(strokes: readonly (readonly Point[])[], rng: Random, pen: number): Point[][] {
  const all = strokes.flat();
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const [w, h] = [maxX - minX, maxY - minY];
  const margin = pen / 2 + 2;
  const aspect = rng.uniform(0.85, 1.15);
  const slant = Math.tan((rng.uniform(-12, 12) * Math.PI) / 180);
  // Tall digits by their height; a wide one (a flat 7's bar, a dash-like 1) no wider than the pad allows.
  const height = rng.uniform(0.45, 0.8) * PAD;
  const scale = Math.min(height / Math.max(h, 1e-9), (0.8 * PAD) / Math.max(w * aspect, 1e-9));
  const [sw, sh] = [w * aspect * scale + Math.abs(slant) * h * scale, h * scale];
  const cx = rng.uniform(Math.min(PAD / 2, margin + sw / 2), Math.max(PAD / 2, PAD - margin - sw / 2));
  const cy = rng.uniform(Math.min(PAD / 2, margin + sh / 2), Math.max(PAD / 2, PAD - margin - sh / 2));
  return strokes.map((s) =>
    s.map(([x, y]) => {
      const v = (y - (minY + maxY) / 2) * scale;
      const u = (x - (minX + maxX) / 2) * scale * aspect - v * slant;
      return [cx + u, cy + v] as const;
    }),
  );
}

/** Pad-sized buffers drawn into again and again: allocating them per digit costs more than drawing. */
interface Scratch {
  ink: Float32Array;
  rgba: Uint8ClampedArray;
}

const newScratch = (): Scratch => ({
  ink: new Float32Array(PAD * PAD),
  rgba: new Uint8ClampedArray(PAD * PAD * 4),
});

/** One digit as the page would send it to the model: placed, drawn with `pen`, preprocessed (28×28, 0–1). */
export function renderPenDigit(
  d: PenDigit,
  rng: Random,
  pen: number = PENS[rng.int(PENS.length)],
  scratch = newScratch(),
): Float32Array {
  scratch.ink.fill(0);
  scratch.rgba.fill(255);
  inkStrokes(placeOnPad(d.strokes, rng, pen), pen, PAD, scratch.ink);
  return preprocess(rgbaLight(onPaper(scratch.ink, scratch.rgba), PAD, PAD)).input;
}

/** Every digit rendered once, from `seed`: 0–255 pixels [count, 28, 28], MNIST's layout. */
export function renderPenDigits(
  digits: readonly PenDigit[],
  seed: number,
  onProgress?: (done: number, total: number) => void,
): Uint8Array {
  const pixels = new Uint8Array(digits.length * SIZE * SIZE);
  const rng = new Random(seed);
  const scratch = newScratch();
  digits.forEach((d, i) => {
    const r = rng.fork();
    const input = renderPenDigit(d, r, PENS[r.int(PENS.length)], scratch);
    for (let j = 0; j < SIZE * SIZE; j++) pixels[i * SIZE * SIZE + j] = Math.round(input[j] * 255);
    if (onProgress && (i % 500 === 499 || i === digits.length - 1)) onProgress(i + 1, digits.length);
  });
  return pixels;
}
