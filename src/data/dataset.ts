/**
 * A dataset by name, as `--dataset` spells it: `mnist`, `usps`, `fashion-mnist` (data/known.ts),
 * `idx:IMAGES,LABELS` (an IDX pair of any image size), `folder:PATH` (PATH/<label>/*.png|jpg|webp…), or a
 * mixture `mnist+usps` (training images one after the other, test sets too).
 *
 * Every image becomes MNIST's 28×28: a 28×28 IDX set is taken as it is (MNIST's own format); any other size
 * goes through MNIST's recipe (vision/preprocess: cropped to the ink, fitted into 20×20, centred by mass), as
 * a 16×16 USPS digit that fills its box is not an MNIST digit until it is boxed and centred; a folder's
 * pictures go through the whole recipe a person's picture does (polarity, paper, specks).
 *
 * A set with no test split of its own (USPS, an IDX pair, a folder) has one carved from its training images:
 * every fifth (the 5th, 10th, …), the same every time, so `digits train` never trains on what
 * `digits evaluate --dataset` scores.
 */
import fs from "node:fs";
import path from "node:path";
import { sha256 } from "../util/hash.js";
import { prepareImage } from "../vision/decode.js";
import { mnistFromInk, NoInkError, SIZE } from "../vision/mnist-box.js";
import { parseImages, parseLabels, readIdxBytes, type IdxImages } from "./idx.js";
import { KNOWN, loadKnown, loadKnownFiles, type KnownOptions } from "./known.js";
import { parsePenDigits, renderPenDigits, type PenDigit } from "./strokes.js";
import { splitByWriter } from "./writers.js";
import { concatSplits, DataError, splitOf, toSplit, type Split } from "./split.js";

export interface DatasetPart {
  /** As spelled in the spec: "usps", "idx:a.gz,b.gz", "folder:mine". */
  name: string;
  train: Split;
  test: Split;
  /** The test split was carved from the training images (every fifth): the set has none of its own. */
  carved: boolean;
  /** Images were not 28×28 and went through MNIST's recipe. */
  prepared: boolean;
  source: { kind: string; location: string };
  /** SHA-256 of each file's content (IDX content for IDX files; every picture, in order, for a folder). */
  sha256: Record<string, string>;
  classes: readonly string[];
  /** Who wrote each image, where the set says (pen sets: writers held out whole, never on both sides). */
  writers?: { train: readonly string[]; test: readonly string[] };
}

export interface Dataset {
  spec: string;
  parts: DatasetPart[];
  /** Every part's training images, one part after the other. */
  train: Split;
  /** Every part's test images, one part after the other (`parts` has them one by one). */
  test: Split;
  classes: readonly string[];
}

export interface DatasetOptions extends KnownOptions {
  /** Seeds how pen sets are drawn (pen, size, place, slant per digit); the same seed, the same pictures. */
  renderSeed?: number;
  /** Only the test splits are wanted (evaluating): pen sets leave their training digits undrawn. */
  testOnly?: boolean;
  /** Reports drawing progress (a pen set takes ~1 ms a digit). */
  onDrawn?(name: string, done: number, total: number): void;
}

const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] as const;
const PICTURE = /\.(png|jpe?g|webp|gif|tiff?|bmp|avif)$/i;

/** The names `--dataset` takes, for help texts and errors. */
export const DATASET_FORMS = `${Object.keys(KNOWN).join(", ")}, idx:IMAGES,LABELS, folder:PATH, or a mixture such as mnist+usps (NAME*N repeats a part N times)`;

/** Every fifth image (index 4, 9, …) to the test split, the rest to training. */
export function carve(all: Split): { train: Split; test: Split } {
  const per = all.count ? all.pixels.length / all.count : 0;
  const take = (keep: (i: number) => boolean) => {
    const rows = [...Array(all.count).keys()].filter(keep);
    const pixels = new Uint8Array(rows.length * per);
    rows.forEach((r, k) => pixels.set(all.pixels.subarray(r * per, (r + 1) * per), k * per));
    return splitOf(
      pixels,
      Uint8Array.from(rows, (r) => all.labels[r]),
      rows.length,
    );
  };
  return { train: take((i) => i % 5 !== 4), test: take((i) => i % 5 === 4) };
}

/** IDX images of any size as MNIST's 28×28 (see the top of this file). */
export function toMnistSize(images: IdxImages, file: string): { images: IdxImages; prepared: boolean } {
  if (images.rows === SIZE && images.cols === SIZE) return { images, prepared: false };
  const per = images.rows * images.cols;
  const pixels = new Uint8Array(images.count * SIZE * SIZE);
  const ink = new Float32Array(per);
  for (let i = 0; i < images.count; i++) {
    for (let j = 0; j < per; j++) ink[j] = images.pixels[i * per + j] / 255;
    let input: Float32Array;
    try {
      input = mnistFromInk(ink, images.cols, images.rows).input;
    } catch (e) {
      if (e instanceof NoInkError) throw new DataError(`${file}: image ${i + 1} is blank (no ink)`);
      throw e;
    }
    for (let j = 0; j < SIZE * SIZE; j++) pixels[i * SIZE * SIZE + j] = Math.round(input[j] * 255);
  }
  return { images: { count: images.count, rows: SIZE, cols: SIZE, pixels }, prepared: true };
}

/** An IDX image/label pair, as MNIST's 28×28 (any image size; see toMnistSize). */
export async function loadIdxPair(
  imagesFile: string,
  labelsFile: string,
): Promise<Split & { prepared: boolean; sha256: { images: string; labels: string } }> {
  const bytes = await readIdxBytes(imagesFile);
  const labelBytes = await readIdxBytes(labelsFile);
  const { images, prepared } = toMnistSize(parseImages(bytes, imagesFile), imagesFile);
  const labels = parseLabels(labelBytes, labelsFile).labels;
  if (images.count !== labels.length)
    throw new DataError(
      `${imagesFile} has ${images.count} images but ${labelsFile} has ${labels.length} labels: the files do not belong together`,
    );
  // Assigned, not spread: a spread would read the split's floats, which are made only when first read.
  return Object.assign(toSplit(images, labels), {
    prepared,
    sha256: { images: sha256(bytes), labels: sha256(labelBytes) },
  });
}

async function idxPart(name: string, spec: string): Promise<DatasetPart> {
  const files = spec.split(",");
  if (files.length !== 2 || files.some((f) => f === ""))
    throw new DataError(`--dataset ${name}: give idx:IMAGES,LABELS (two IDX files, comma-separated)`);
  const [imagesFile, labelsFile] = files;
  const all = await loadIdxPair(imagesFile, labelsFile);
  return {
    name,
    ...carve(all),
    carved: true,
    prepared: all.prepared,
    source: { kind: "idx", location: path.resolve(imagesFile) },
    sha256: all.sha256,
    classes: DIGITS,
  };
}

/** PATH/<label>/<picture>: labels 0–9, pictures through the whole recipe; anything else is an error. */
async function folderPart(name: string, dir: string): Promise<DatasetPart> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new DataError(`${dir}: folder not found (a folder dataset is PATH/<label>/<pictures>)`);
  const visible = (d: string) => fs.readdirSync(d).filter((f) => !f.startsWith("."));
  const files: { file: string; label: number }[] = [];
  for (const entry of visible(dir).sort()) {
    const sub = path.join(dir, entry);
    if (!fs.statSync(sub).isDirectory())
      throw new DataError(`${sub}: not a label folder (a folder dataset is PATH/<label>/<pictures>)`);
    if (!/^[0-9]$/.test(entry))
      throw new DataError(`${sub}: unknown label "${entry}" (label folders are named 0–9)`);
    for (const f of visible(sub).sort()) {
      const file = path.join(sub, f);
      if (!PICTURE.test(f) || !fs.statSync(file).isFile())
        throw new DataError(`${file}: not a picture (png, jpg, webp, gif, tiff, bmp or avif)`);
      files.push({ file, label: Number(entry) });
    }
  }
  if (files.length === 0) throw new DataError(`${dir}: no pictures in its label folders`);
  const pixels = new Uint8Array(files.length * SIZE * SIZE);
  const digest = new Map<string, string>();
  for (let i = 0; i < files.length; i += 8)
    // a few at a time: sharp decodes on its own threads
    await Promise.all(
      files.slice(i, i + 8).map(async ({ file }, k) => {
        const bytes = fs.readFileSync(file);
        digest.set(file, sha256(bytes));
        let input: Float32Array;
        try {
          input = (await prepareImage(bytes, file)).input;
        } catch (e) {
          throw new DataError(e instanceof NoInkError ? `${file}: no ink found` : (e as Error).message);
        }
        for (let j = 0; j < SIZE * SIZE; j++) pixels[(i + k) * SIZE * SIZE + j] = Math.round(input[j] * 255);
      }),
    );
  const all = toSplit(
    { count: files.length, rows: SIZE, cols: SIZE, pixels },
    Uint8Array.from(files, (f) => f.label),
  );
  const listing = files.map((f) => `${path.relative(dir, f.file)} ${digest.get(f.file)}`).join("\n");
  return {
    name,
    ...carve(all),
    carved: true,
    prepared: true,
    source: { kind: "folder", location: path.resolve(dir) },
    sha256: { pictures: sha256(new TextEncoder().encode(listing)) },
    classes: DIGITS,
  };
}

async function knownPart(name: string, options: DatasetOptions): Promise<DatasetPart> {
  const d = KNOWN[name];
  const known = await loadKnown(d, options);
  const what = (k: string) => path.join(known.source.location, d.files[k as keyof typeof d.files]!.name);
  const train = toMnistSize(known.train.images, what("trainImages"));
  const all = toSplit(train.images, known.train.labels);
  const own = known.test && {
    test: toSplit(toMnistSize(known.test.images, what("testImages")).images, known.test.labels),
  };
  return {
    name,
    ...(own ? { train: all, test: own.test } : carve(all)),
    carved: !own,
    prepared: train.prepared,
    source: known.source,
    sha256: known.sha256 as Record<string, string>,
    classes: d.classes,
  };
}

/**
 * Pen sets drawn in this process, by content and seed: an experiment's cells, and a run's sets scored
 * again, draw each set once (~1 ms a digit).
 */
const drawn = new Map<string, Uint8Array>();

/** A pen set: split by writer (every fifth writer held out), each digit drawn as the page draws it. */
async function penPart(name: string, options: DatasetOptions, times = 1): Promise<DatasetPart> {
  const d = KNOWN[name];
  const { bytes, source, sha256 } = await loadKnownFiles(d, options);
  const digits = parsePenDigits(bytes.strokes!, path.join(source.location, d.files.strokes!.name));
  const { train, test } = splitByWriter(digits);
  const seed = options.renderSeed ?? 1;
  const draw = (set: PenDigit[], which: string, salt: number) => {
    const key = `${sha256.strokes} ${seed} ${which} ${set.length}`;
    let pixels = drawn.get(key);
    if (!pixels) {
      pixels = renderPenDigits(set, seed * 7919 + salt, (done, total) =>
        options.onDrawn?.(`${name} ${which}`, done, total),
      );
      drawn.set(key, pixels);
    }
    return toSplit(
      { count: set.length, rows: SIZE, cols: SIZE, pixels },
      Uint8Array.from(set, (p) => p.label),
    );
  };
  return {
    name,
    // Each repeat drawn anew: other pens, sizes, places and slants (salt 1 is the test split's).
    train: [...Array(times).keys()]
      .map((k) => draw(options.testOnly ? [] : train, `train ${k + 1}`, k ? k + 1 : 0))
      .reduce((a, b) => concatSplits(a, b)),
    test: draw(test, "test", 1),
    carved: false,
    prepared: true,
    source,
    sha256: sha256 as Record<string, string>,
    classes: d.classes,
    writers: {
      train: options.testOnly
        ? []
        : Array<string[]>(times)
            .fill(train.map((p) => p.writer))
            .flat(),
      test: test.map((p) => p.writer),
    },
  };
}

/** A part's training images `times` over, one copy after the other. */
function repeated(part: DatasetPart, times: number): DatasetPart {
  if (times === 1) return part;
  const train = Array<Split>(times)
    .fill(part.train)
    .reduce((a, b) => concatSplits(a, b));
  return { ...part, train };
}

/**
 * A part as the mixture names it; "NAME*N" repeats its training images N times (a pen set's drawn anew
 * each time), to give a small set more weight beside MNIST's 60,000.
 */
async function partOf(spec: string, options: DatasetOptions): Promise<DatasetPart> {
  const m = /^(.+)\*(\d+)$/.exec(spec);
  const [name, times] = m ? [m[1], Number(m[2])] : [spec, 1];
  if (!(times >= 1 && times <= 20))
    throw new DataError(`--dataset: "${spec}" repeats a part ${times} times (give 1 to 20)`);
  if (KNOWN[name]?.files.strokes) return penPart(name, options, times);
  return repeated(await unrepeatedPart(name, options), times);
}

function unrepeatedPart(name: string, options: DatasetOptions): Promise<DatasetPart> {
  if (name.startsWith("idx:")) return idxPart(name, name.slice(4));
  if (name.startsWith("folder:")) return folderPart(name, name.slice(7));
  if (KNOWN[name]?.files.strokes) return penPart(name, options);
  if (KNOWN[name]) return knownPart(name, options);
  throw new DataError(`unknown dataset "${name}": give ${DATASET_FORMS}`);
}

export async function loadDataset(spec: string, options: DatasetOptions = {}): Promise<Dataset> {
  const names = spec.split("+"); // so a path in a mixture cannot hold a "+"
  if (names.some((n) => n === "")) throw new DataError(`--dataset "${spec}": an empty part`);
  const parts: DatasetPart[] = [];
  for (const [k, name] of names.entries())
    try {
      parts.push(await partOf(name, options));
    } catch (e) {
      // In a mixture, say which part could not be had: the message alone may name only a file or a mirror.
      if (names.length === 1 || !(e instanceof DataError)) throw e;
      throw new DataError(`${name} (part ${k + 1} of ${spec}): ${e.message}`, { cause: e });
    }
  const classes = parts[0].classes;
  for (const p of parts)
    if (p.classes.join() !== classes.join())
      throw new DataError(
        `--dataset ${spec}: ${p.name}'s classes (${p.classes.join(", ")}) are not ${parts[0].name}'s`,
      );
  const join = (pick: (p: DatasetPart) => Split) => parts.map(pick).reduce((a, b) => concatSplits(a, b));
  return { spec, parts, train: join((p) => p.train), test: join((p) => p.test), classes };
}
