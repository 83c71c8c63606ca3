import fs from "node:fs";
import { Command } from "commander";
import { toMnistSize } from "../data/dataset.js";
import { IMAGES_MAGIC, parseImages, readIdxBytes } from "../data/idx.js";
import { unsureThreshold } from "../unsure/calibrate.js";
import { prepareImage, prepareImageDigits } from "../vision/decode.js";
import { NoInkError, SIZE } from "../vision/preprocess.js";
import { openModel } from "../saved/resolve.js";
import { pct } from "../util/format.js";
import { printJson } from "../util/json.js";

interface Input {
  source: string;
  x: Float32Array;
  /** Which picture a digit came from, when pictures are read as numbers. */
  picture?: string;
}

/**
 * One file's inputs: an IDX image file (any size; `.gz` is inflated only when the name says so, and never past
 * what its header declares), or a picture (one digit, or a written number with `asNumber`).
 */
async function readInputs(file: string, asNumber: boolean): Promise<Input[]> {
  if (!fs.existsSync(file)) throw new Error(`${file}: file not found`);
  const bytes = file.endsWith(".gz") ? await readIdxBytes(file) : new Uint8Array(fs.readFileSync(file));
  const magic = bytes.length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, false) : 0;
  if (magic === IMAGES_MAGIC) {
    const { images } = toMnistSize(parseImages(bytes, file), file);
    return Array.from({ length: images.count }, (_, i) => ({
      source: `${file}#${i}`,
      x: Float32Array.from(images.pixels.subarray(i * PIXELS, (i + 1) * PIXELS), (p) => p / 255),
    }));
  }
  try {
    if (asNumber) {
      const digits = await prepareImageDigits(bytes, file);
      return digits.map((d, i) => ({ source: `${file}#${i}`, x: d.input, picture: file }));
    }
    return [{ source: file, x: (await prepareImage(bytes, file)).input }];
  } catch (e) {
    if (e instanceof NoInkError) throw new Error(`${file}: ${e.message}`, { cause: e });
    throw e;
  }
}

const PIXELS = SIZE * SIZE;
const SHADES = " .:-=+*#%@";

/** A 28×28 input as text, two characters per pixel so it looks square in a terminal. */
export function asText(x: Float32Array): string {
  const rows: string[] = [];
  for (let y = 0; y < 28; y++) {
    let row = "";
    for (let i = 0; i < 28; i++) {
      const c = SHADES[Math.min(SHADES.length - 1, Math.floor(x[y * 28 + i] * SHADES.length))];
      row += c + c;
    }
    rows.push(row.trimEnd());
  }
  return rows.join("\n");
}

export function predictCommand(): Command {
  return new Command("predict")
    .description("recognise digits in PNG/JPEG/WebP images or an IDX image file")
    .argument("<files...>", "images or IDX files")
    .option("--model <dir>", "model or run directory (default: the shipped model)")
    .option("--number", "read each picture as a written number (several digits, left to right)")
    .option("--show", "also draw the 28×28 image the model saw, in text")
    .option("--json", "print one JSON object per input (a JSON array) on stdout")
    .action(async (files: string[], o) => {
      const loaded = openModel(o.model);
      // Each file on its own: a bad one is reported and the rest are still read (the exit code says so).
      const failed: { input: string; error: string }[] = [];
      const read = await Promise.all(
        files.map((f) =>
          readInputs(f, Boolean(o.number)).catch((e: Error) => {
            failed.push({ input: f, error: e.message });
            return [] as Input[];
          }),
        ),
      );
      const inputs = read.flat();
      failed.sort((a, b) => files.indexOf(a.input) - files.indexOf(b.input)); // in the order given
      if (failed.length) {
        process.exitCode = 1;
        for (const f of failed) process.stderr.write(`digits: error: ${f.error}\n`);
      }
      if (inputs.length === 0) {
        if (o.json) printJson(failed);
        return;
      }
      const x = new Float32Array(inputs.length * PIXELS);
      inputs.forEach((inp, i) => x.set(inp.x, i * PIXELS));
      const predictor = await loaded.predictor();
      const threshold = unsureThreshold(loaded.metadata);
      const probabilities = await predictor.predict(x);
      await predictor.release();
      const results = inputs.map((inp, i) => {
        const p = Array.from(probabilities.subarray(i * 10, (i + 1) * 10));
        const ranked = p
          .map((v, d) => ({ digit: d, probability: v }))
          .sort((a, b) => b.probability - a.probability);
        return {
          input: inp.source,
          digit: ranked[0].digit,
          confidence: ranked[0].probability,
          /** Below the model's threshold (its calibrated one, or 60%): the answer is a guess. */
          unsure: ranked[0].probability < threshold,
          probabilities: p,
          top3: ranked.slice(0, 3),
        };
      });
      if (o.number) {
        const pictures = [...new Set(inputs.map((i) => i.picture ?? i.source))];
        const numbers = pictures.map((picture) => {
          const digits = results.filter((_, i) => (inputs[i].picture ?? inputs[i].source) === picture);
          return { input: picture, number: digits.map((d) => d.digit).join(""), digits };
        });
        if (o.json) return printJson([...numbers, ...failed]);
        for (const n of numbers) {
          const conf = n.digits
            .map((d) => `${d.digit} ${pct(d.confidence, 1)}${d.unsure ? " unsure" : ""}`)
            .join(", ");
          process.stdout.write(`${n.input}: ${n.number}   (${conf})\n`);
        }
        return;
      }
      if (o.json) return printJson([...results, ...failed]);
      results.forEach((r, i) => {
        const top = r.top3.map((t) => `${t.digit} ${pct(t.probability, 1)}`).join(", ");
        const answer = r.unsure ? `unsure (maybe ${r.digit})` : String(r.digit);
        process.stdout.write(`${r.input}: ${answer}   (${top})\n`);
        if (o.show) process.stdout.write(`${asText(inputs[i].x)}\n`);
      });
    });
}
