/**
 * USPS as Hastie, Tibshirani & Friedman distribute it (`zip.train.gz`): one digit per line, its label then
 * 256 grey values in [-1, 1] (16×16, row by row, ink high). Converted to IDX with ink 255 on 0, MNIST's
 * polarity: round((v + 1) / 2 · 255).
 */
import { encodeImages, encodeLabels } from "./idx.js";
import { DataError } from "./split.js";

const SIDE = 16;

export function uspsFromZipText(text: string): { images: Uint8Array; labels: Uint8Array } {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const pixels = new Uint8Array(lines.length * SIDE * SIDE);
  const labels = new Uint8Array(lines.length);
  lines.forEach((line, i) => {
    const v = line.trim().split(/\s+/).map(Number);
    const label = v[0];
    if (v.length !== 1 + SIDE * SIDE || !Number.isInteger(label) || label < 0 || label > 9)
      throw new DataError(`zip.train line ${i + 1}: expected a label 0–9 and ${SIDE * SIDE} values`);
    for (let j = 0; j < SIDE * SIDE; j++) {
      const p = v[1 + j];
      if (!(p >= -1 && p <= 1))
        throw new DataError(`zip.train line ${i + 1}: value ${j + 1} is not in [-1, 1]`);
      pixels[i * SIDE * SIDE + j] = Math.round(((p + 1) / 2) * 255);
    }
    labels[i] = label;
  });
  return {
    images: encodeImages({ count: lines.length, rows: SIDE, cols: SIDE, pixels }),
    labels: encodeLabels(labels),
  };
}
