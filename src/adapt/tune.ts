/**
 * Learning one person's handwriting from a few of their digits: the one implementation the page's worker
 * (onnxruntime-web) and `digits finetune` (onnxruntime-node) both run, over the engine's training step.
 *
 * A fixed number of steps, not epochs, so the time it takes does not grow with the digits mixed in: each
 * batch is `share` the person's digits (drawn with replacement, augmented) and the rest digits of other
 * writers (MNIST's), which keep the model from forgetting everyone else.
 */
import { adam, type Optimizer } from "../engine/compiler/optimizers.js";
import { parseStepSpec, type StepSpec } from "../engine/compiler/train-graph.js";
import type { AugmentOptions } from "../engine/compiler/augment.js";
import { sizeOf } from "../engine/graph/ir.js";
import type { Sequential } from "../engine/model/sequential.js";
import { SessionStepper, type StepRuntime } from "../engine/runtime/step.js";
import { Random } from "../util/random.js";
import { STANDARD_AUGMENT } from "../zoo/recipes.js";

/** Digits as the model reads them: x is [n, ...the model's input] in 0–1. */
export interface Digits {
  x: Float32Array;
  labels: Uint8Array;
}

export interface AdaptSettings {
  steps: number;
  batchSize: number;
  learningRate: number;
  /** The person's digits' share of each batch (the rest are the replay digits). */
  share: number;
  augment: AugmentOptions | null;
  /** Layers left as they are (by name: "conv2d"). */
  frozen: string[];
  seed: number;
}

/** What wins on the writer protocol (docs/adapt.md has the measurements). */
export const ADAPT: AdaptSettings = {
  steps: 200,
  batchSize: 32,
  learningRate: 1e-4,
  share: 0.4,
  augment: STANDARD_AUGMENT,
  frozen: [],
  seed: 1,
};

/** How many other writers' digits (MNIST's) the page and `digits finetune` mix in. */
export const REPLAY_DIGITS = 6000;

/** What a tuned model records of its tuning (in metadata.json's training.finetuned). */
export interface AdaptRecord {
  digits: number;
  perClass: number[];
  replay: number;
  steps: number;
  batchSize: number;
  share: number;
  optimizer: { name: string; config: Record<string, unknown> };
  augment: AugmentOptions | null;
  frozen: string[];
  seed: number;
}

export interface AdaptEvents {
  onStep?(step: number, steps: number, loss: number): void;
}

/** Refuses what cannot be learned from, naming it. */
export function checkDigits(model: Sequential, d: Digits, what: string): void {
  const per = sizeOf(model.inputSpec.shape);
  const classes = model.outputShape[0];
  if (d.labels.length === 0) throw new Error(`${what}: no digits`);
  if (d.x.length !== d.labels.length * per)
    throw new Error(`${what}: ${d.x.length} values for ${d.labels.length} digits of ${per} each`);
  d.labels.forEach((l, i) => {
    if (!Number.isInteger(l) || l >= classes)
      throw new Error(`${what}: digit ${i} is labelled ${l}, outside 0–${classes - 1}`);
  });
  for (let i = 0; i < d.labels.length; i++) {
    let ink = 0;
    for (let j = i * per; j < (i + 1) * per; j++) ink = Math.max(ink, d.x[j]);
    if (!(ink > 0.05)) throw new Error(`${what}: digit ${i} (a ${d.labels[i]}) is blank`);
  }
}

/**
 * Tunes `model` in place on `mine`, mixing in `replay`; on any error the model's weights are untouched (they
 * are only replaced after the last step), and the page stops a tuning by ending its worker.
 */
export async function adapt(
  rt: StepRuntime,
  model: Sequential,
  mine: Digits,
  replay: Digits | undefined,
  given: Partial<AdaptSettings> = {},
  events: AdaptEvents = {},
): Promise<AdaptRecord> {
  const s: AdaptSettings = { ...ADAPT, ...given };
  checkDigits(model, mine, "your digits");
  if (replay && replay.labels.length > 0) checkDigits(model, replay, "the replay digits");
  const per = sizeOf(model.inputSpec.shape);
  const classes = model.outputShape[0];
  const own = mine.labels.length;
  const others = replay?.labels.length ?? 0;
  const fromMine = others === 0 ? s.batchSize : Math.max(1, Math.round(s.share * s.batchSize));
  const optimizer: Optimizer = adam({
    learningRate: s.learningRate,
    schedule: "cosine",
    decaySteps: s.steps,
  });
  const step: StepSpec = parseStepSpec({
    augment: s.augment ?? undefined,
    frozen: s.frozen.length > 0 ? s.frozen : undefined,
  });
  const stepper = new SessionStepper(rt, model, optimizer, { step, seed: s.seed });
  const rng = new Random(s.seed);
  const x = new Float32Array(s.batchSize * per);
  const y = new Float32Array(s.batchSize * classes);
  try {
    for (let t = 1; t <= s.steps; t++) {
      y.fill(0);
      for (let b = 0; b < s.batchSize; b++) {
        const [from, i] = b < fromMine ? [mine, rng.int(own)] : [replay as Digits, rng.int(others)];
        x.set(from.x.subarray(i * per, (i + 1) * per), b * per);
        y[b * classes + from.labels[i]] = 1;
      }
      // onnxruntime-web may hold on to a fed array until the step ends: each step gets its own copy.
      const { loss } = await stepper.run(x.slice(), y.slice(), s.batchSize);
      events.onStep?.(t, s.steps, loss);
    }
    model.setWeights(stepper.weights());
  } finally {
    await stepper.release();
  }
  const perClass = new Array<number>(classes).fill(0);
  for (const l of mine.labels) perClass[l]++;
  return {
    digits: own,
    perClass,
    replay: others,
    steps: s.steps,
    batchSize: s.batchSize,
    share: fromMine / s.batchSize,
    optimizer: { name: optimizer.name, config: optimizer.config as Record<string, unknown> },
    augment: s.augment,
    frozen: s.frozen,
    seed: s.seed,
  };
}
