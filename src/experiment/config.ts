/**
 * An experiment: a grid of training settings × seeds, each cell a training run. The configuration file:
 *
 *   { "name": "future-work", "seeds": [1, 2, 3],
 *     "base": { "epochs": 10, "batchSize": 32, "validation": "split:0.1" },
 *     "grid": { "architecture": ["reference", "dropout", "batchnorm"], "augment": ["none", "standard"] } }
 *
 * Every grid value is a training setting (`digits train`'s, by its TrainConfig name); `augment` takes what
 * `--augment` takes. Validation is a split of the training set or none: the test set only scores the final
 * models, so it cannot pick the winner.
 *
 * `also` names more test sets every final model is scored on, beside MNIST's — what matters is handwriting
 * unlike MNIST's: `{ "drawn styles": "styles", "usps": "idx:IMAGES,LABELS" }` ("styles" is the drawn-styles
 * set of `digits evaluate --styles`, "styles:N" with N per style and pen; "idx:" an IDX pair, its paths relative
 * to the experiment file; "dataset:NAME" a named set's test split — a pen set's held-out writers — found
 * through the base's `dataDir`, itself relative to the experiment file). A grid over `dataset` compares
 * training sets (`"dataset": ["mnist", "mnist+usps", "mnist+usps+pendigits+unipen+optdigits"]`).
 */
import path from "node:path";
import { z } from "zod";
import { readJson } from "../util/json.js";
import { parseOptions } from "../util/options.js";

const setting = z.union([z.string(), z.number(), z.boolean()]);
const settings = z.record(z.string(), setting);

export const experimentSchema = z
  .object({
    name: z.string().regex(/^[\w.-]+$/, "letters, digits, _ . -"),
    seeds: z.array(z.number().int().nonnegative()).min(1),
    base: settings.default({}),
    grid: z
      .record(z.string(), z.array(setting).min(1))
      .refine((g) => Object.keys(g).length > 0, "an empty grid"),
    also: z
      .record(
        z.string().regex(/^[\w .-]+$/, "letters, digits, spaces, _ . -"),
        z
          .string()
          .regex(
            /^(styles(:[1-9]\d*)?|idx:[^,]+,[^,]+|dataset:[\w.+:-]+)$/,
            "styles, styles:N, idx:IMAGES,LABELS or dataset:NAME",
          ),
      )
      .default({}),
  })
  .strict();
export type Experiment = z.infer<typeof experimentSchema>;

export const TRAIN_SETTINGS = [
  "architecture",
  "epochs",
  "batchSize",
  "learningRate",
  "optimizer",
  "momentum",
  "lrDecay",
  "weightDecay",
  "labelSmoothing",
  "augment",
  "synthetic",
  "validation",
  "replicas",
  "limit",
  "earlyStop",
  "keep",
  "dataset",
  "dataDir",
] as const;

export function readExperiment(file: string): Experiment {
  const e = parseOptions(experimentSchema, file, readJson(file, "experiment file"));
  for (const key of [...Object.keys(e.base), ...Object.keys(e.grid)])
    if (!(TRAIN_SETTINGS as readonly string[]).includes(key))
      throw new Error(`${file}: "${key}" is not a training setting (${TRAIN_SETTINGS.join(", ")})`);
  if (e.base.validation === "test" || (e.grid.validation ?? []).includes("test"))
    throw new Error(
      `${file}: an experiment validates on a split of the training set (or none), never on the test set`,
    );
  const here = path.dirname(file);
  if (typeof e.base.dataDir === "string") e.base.dataDir = path.resolve(here, e.base.dataDir);
  for (const [name, spec] of Object.entries(e.also))
    if (spec.startsWith("idx:"))
      e.also[name] = `idx:${spec
        .slice(4)
        .split(",")
        .map((f) => path.resolve(here, f))
        .join(",")}`;
  return e;
}

/** Every point of the grid, in order: the settings that vary, by name. */
export function gridPoints(grid: Experiment["grid"]): Record<string, string | number | boolean>[] {
  return Object.entries(grid).reduce<Record<string, string | number | boolean>[]>(
    (points, [key, values]) => points.flatMap((p) => values.map((v) => ({ ...p, [key]: v }))),
    [{}],
  );
}

/** A grid point's directory name: "architecture=dropout,augment=standard". */
export const pointName = (point: Record<string, unknown>) =>
  Object.entries(point)
    .map(([k, v]) => `${k}=${String(v).replace(/[^\w.-]+/g, "_")}`)
    .join(",");
