/** Named training settings beside the notebook's: augmentation presets, recipes, and how the CLI spells them. */
import type { AugmentOptions } from "../engine/index.js";

/**
 * The ways people's digits differ from MNIST's that geometry and pen can model: a slant or tilt of up to
 * 12°, sizes ±12%, shear up to 10°, shifts of 2 pixels, a wobble of 1.5 pixels, and pens up to half a
 * dilation thicker or thinner.
 */
export const STANDARD_AUGMENT: AugmentOptions = {
  rotation: 12,
  scale: 0.12,
  shear: 10,
  translate: 2,
  elastic: { alpha: 1.5, cells: 4 },
  thickness: 0.5,
};

/**
 * `--augment` as typed: "none", "standard", or comma-separated settings such as
 * "rotation=10,scale=0.1,elastic=1.5,thickness=0.5" (elastic is the displacement in pixels).
 */
export function parseAugmentSpec(spec: string): AugmentOptions {
  if (spec === "none") return {}; // every setting 0: nothing changes
  if (spec === "standard") return STANDARD_AUGMENT;
  const out: Record<string, unknown> = {};
  for (const part of spec.split(",")) {
    const m = /^(rotation|scale|shear|translate|elastic|thickness)=([\d.]+)$/.exec(part.trim());
    if (!m || !Number.isFinite(Number(m[2])))
      throw new Error(
        `--augment: "${part}" is not NAME=NUMBER with NAME rotation, scale, shear, translate, elastic or thickness (or use "standard" or "none")`,
      );
    out[m[1]] = m[1] === "elastic" ? { alpha: Number(m[2]) } : Number(m[2]);
  }
  return out as AugmentOptions;
}

/** What a recipe sets; options given on the command line win. */
export interface Recipe {
  description: string;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  lrDecay?: "cosine" | "onecycle" | "none";
  /** Adam's second-moment decay. */
  beta2?: number;
  /** The rising share of a one-cycle schedule. */
  warmup?: number;
  labelSmoothing?: number;
  validation?: string;
  augment?: AugmentOptions;
  synthetic?: number;
  /** What to train on, as `--dataset` spells it. */
  dataset?: string;
  /** The seed of the run a recipe reproduces (a shipped model's). */
  seed?: number;
}

export const RECIPES = {
  notebook: {
    description: "the notebook's CNN and recipe (Adam, 10 epochs, batch 32), with the cosine decay",
  },
  best: {
    description:
      "the shipped model: the notebook's CNN on MNIST, USPS and real handwriting from other countries (pendigits, UNIPEN and optdigits, each three times over: needs --data-dir), standard augmentation, label smoothing 0.1, seed 1",
    dataset: "mnist+usps+pendigits*3+unipen*3+optdigits*3",
    augment: STANDARD_AUGMENT,
    labelSmoothing: 0.1,
    seed: 1,
  },
  fast: {
    description:
      "one epoch at batch 200, one-cycle up to a high Adam rate (0.02, a quarter of it rising, Adam's β₂ 0.99), label smoothing 0.1, no per-epoch validation: ~99.1% in ~10 s",
    epochs: 1,
    batchSize: 200,
    learningRate: 0.02,
    lrDecay: "onecycle",
    warmup: 0.25,
    beta2: 0.99,
    labelSmoothing: 0.1,
    validation: "none",
  },
} as const satisfies Record<string, Recipe>;
export type RecipeName = keyof typeof RECIPES;

/** Settings a recipe can set, by the names training runs use (TrainConfig's). */
export type RecipeSettings = Omit<Recipe, "description">;

/**
 * A recipe laid over settings: each setting the recipe has replaces the default, unless it was given
 * explicitly (`given`, by name): what the person said wins, then the recipe, then the defaults.
 */
export function applyRecipe<C extends RecipeSettings>(
  name: RecipeName,
  settings: C,
  given: ReadonlySet<string>,
): C {
  const { description: _, ...recipe } = RECIPES[name] as Recipe;
  const out: Record<string, unknown> = { ...settings };
  for (const [key, value] of Object.entries(recipe))
    if (value !== undefined && !given.has(key)) out[key] = value;
  return out as C;
}
