/**
 * A run's settings (config.json) and what they make: the validation choice, the optimizer, the watch on the
 * validation loss (early stop, keep the best).
 */
import { adam, sgd, type AugmentOptions, type EpochLogs, type Optimizer } from "../engine/index.js";
import type { ArchitectureName } from "../zoo/architectures.js";

export interface TrainConfig {
  /** A named architecture (zoo/architectures.ts) or a JSON file describing one. */
  architecture: ArchitectureName | string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: "adam" | "sgd";
  /** SGD's momentum (default 0.9); Adam takes none. */
  momentum?: number;
  /**
   * "cosine" (default): Keras's CosineDecay of the learning rate to 0 over the run; "none": constant, as the
   * notebook. Cosine lands the main job at 99.2–99.3% where constant lands at 98.9–99.2% (README).
   */
  lrDecay?: "none" | "cosine" | "onecycle";
  /** AdamW's decoupled weight decay (0: plain Adam). */
  weightDecay?: number;
  /** Adam's second-moment decay (default 0.999, Keras's); a short run adapts faster with less. */
  beta2?: number;
  /** The share of a one-cycle schedule spent rising to the peak rate (default 0.3). */
  warmup?: number;
  /** Label smoothing ε of the loss's targets. */
  labelSmoothing?: number;
  /**
   * Stop when the validation loss has not improved for this many epochs (needs a validation split carved
   * from the training set: the test set is never used to choose anything).
   */
  earlyStop?: number;
  /** Which weights the run keeps: the last epoch's (default) or the best epoch's by validation loss. */
  keep?: "last" | "best";
  seed: number;
  /** "test" (the notebook), "split:F" (last fraction F of the training set, as Keras), or "none". */
  validation: string;
  out: string;
  /** Replace a run already in `out` (otherwise that is refused: two runs never mix). */
  overwrite?: boolean;
  /** What `--dataset` takes (data/dataset.ts): "mnist" (default), "usps", "mnist+usps", "folder:PATH", … */
  dataset?: string;
  dataDir?: string;
  /** Data-parallel replicas (default: `fit`'s choice); results depend on it in the last float digits. */
  replicas?: number;
  /** Use only the first N training images (quick runs and tests). */
  limit?: number;
  /** Add this many digits rendered from handwriting fonts (synthetic/fonts.ts) to the training images. */
  synthetic?: number;
  /** Augment every training batch on the fly (see zoo/recipes.ts for the standard setting). */
  augment?: AugmentOptions;
}

export type ValidationSpec = { kind: "test" } | { kind: "none" } | { kind: "split"; fraction: number };

export function parseValidation(spec: string): ValidationSpec {
  if (spec === "test" || spec === "none") return { kind: spec };
  const m = /^split:(0?\.\d+)$/.exec(spec);
  if (m && Number(m[1]) > 0 && Number(m[1]) < 1) return { kind: "split", fraction: Number(m[1]) };
  throw new Error(`--validation must be "test", "none" or "split:F" with 0 < F < 1 (got "${spec}")`);
}

/** The optimizer a run's settings describe, its schedule spanning every step of the run. */
export function optimizerFor(config: TrainConfig, trainCount: number): Optimizer {
  if (config.optimizer === "adam" && config.momentum !== undefined)
    throw new Error("--momentum is an SGD setting; Adam has none");
  if (config.optimizer === "sgd" && config.weightDecay)
    throw new Error("--weight-decay is AdamW's (use --optimizer adam)");
  const decay = config.lrDecay ?? "cosine";
  const rate = {
    learningRate: config.learningRate,
    schedule: decay === "onecycle" ? ("onecycle" as const) : ("cosine" as const),
    decaySteps: decay === "none" ? 0 : config.epochs * Math.ceil(trainCount / config.batchSize),
    warmup: config.warmup, // read by one-cycle only
  };
  return config.optimizer === "adam"
    ? adam({ ...rate, weightDecay: config.weightDecay ?? 0, beta2: config.beta2 })
    : sgd({ ...rate, momentum: config.momentum ?? 0.9 });
}

/**
 * Early stopping and best-epoch keeping, on the validation loss: `observe` after each epoch says whether to
 * stop, and whether this epoch is the best so far; `best` is that epoch (0-based) and its weights.
 */
export function validationWatch(config: TrainConfig, validation: ValidationSpec) {
  const watching = config.earlyStop !== undefined || config.keep === "best";
  if (watching && validation.kind !== "split")
    throw new Error(
      "--early-stop and --keep best choose by validation loss, so they need --validation split:F (a part of the training set; the test set only scores the final model)",
    );
  let bestLoss = Infinity;
  let since = 0;
  const watch = {
    best: undefined as { epoch: number; weights?: Map<string, Float32Array> } | undefined,
    /** `weights` is left out when replaying a resumed run's history (its best weights are in model/). */
    observe(
      epoch: number,
      logs: EpochLogs,
      weights?: Map<string, Float32Array>,
    ): { best: boolean; stop: boolean } {
      const loss = logs.val_loss ?? Infinity;
      const improved = loss < bestLoss;
      if (improved) [bestLoss, since, watch.best] = [loss, 0, { epoch, weights }];
      else since++;
      return { best: improved, stop: config.earlyStop !== undefined && since >= config.earlyStop };
    },
  };
  return watch;
}

export type ValidationWatch = ReturnType<typeof validationWatch>;
