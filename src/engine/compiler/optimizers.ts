/**
 * Optimizers as graph fragments: each adds its update for one parameter to the training-step graph and says
 * which per-step scalars the runtime must feed (so bias correction stays exact without recompiling).
 */
import { z } from "zod";
import { parseOptions } from "../../util/options.js";
import type { Graph } from "../graph/graph.js";

export interface OptimizerUpdate {
  param: string;
  slots: string[];
}

/**
 * An update as one of the fused loops over flat vectors (runtime/kernels/update.wat), with its constants for
 * one step: the same arithmetic as the optimizer's graph fragment, in one pass instead of a dozen kernels.
 */
export type FusedUpdate =
  | { kernel: "adam"; b1: number; b2: number; epsilon: number; alpha: number; decay: number }
  | { kernel: "sgd"; learningRate: number; momentum: number; nesterov: boolean };

export interface Optimizer {
  readonly name: string;
  readonly config: Record<string, number | boolean | string>;
  /** Per-parameter state, named (e.g. ["m", "v"]), initialised to zero. */
  readonly slots: readonly string[];
  /** Names of scalar graph inputs fed on every step. */
  readonly scalarInputs: readonly string[];
  /** Values for those scalars at 1-based step t. */
  scalars(step: number): Record<string, number>;
  /** The learning rate at 1-based step t, after any decay (for logs). */
  learningRate(step: number): number;
  update(
    g: Graph,
    param: string,
    grad: string,
    slots: readonly string[],
    scalars: Record<string, string>,
  ): OptimizerUpdate;
  /** The update at 1-based step t as a fused loop (slots in the order of `slots`). */
  fused(step: number): FusedUpdate;
}

/**
 * Learning-rate schedules shared by the optimizers, over 1-based steps t (s = t − 1 steps done):
 *  - cosine (Keras's CosineDecay): lr · (α + (1 − α)·½(1 + cos(π·s/S))), held at α·lr after S steps;
 *  - one-cycle (Smith; PyTorch's OneCycleLR, cosine form): from lr/div up to lr over the first `warmup`
 *    fraction of S steps, then down to lr/(div·finalDiv);
 *  - step: lr · γ^⌊s/every⌋.
 * `decaySteps` S > 0 alone (the form saved models use) means cosine; `decaySteps` 0 keeps the rate constant.
 */
const scheduleFields = {
  schedule: z.enum(["cosine", "onecycle", "step"]).default("cosine"),
  decaySteps: z.number().int().nonnegative().default(0),
  decayAlpha: z.number().min(0).max(1).default(0),
  warmup: z.number().gt(0).lt(1).default(0.3),
  div: z.number().min(1).default(25),
  finalDiv: z.number().min(1).default(1e4),
  stepEvery: z.number().int().positive().optional(),
  stepGamma: z.number().gt(0).max(1).default(0.1),
};

interface Schedule {
  learningRate: number;
  schedule: "cosine" | "onecycle" | "step";
  decaySteps: number;
  decayAlpha: number;
  warmup: number;
  div: number;
  finalDiv: number;
  stepEvery?: number;
  stepGamma: number;
}

function learningRateAt(o: Schedule, t: number): number {
  const lr = o.learningRate;
  const done = t - 1;
  if (o.schedule === "step")
    return o.stepEvery ? lr * Math.pow(o.stepGamma, Math.floor(done / o.stepEvery)) : lr;
  if (o.decaySteps === 0) return lr;
  const s = Math.min(done, o.decaySteps);
  const cosine = (from: number, to: number, f: number) =>
    to + ((from - to) * (1 + Math.cos(Math.PI * f))) / 2;
  if (o.schedule === "cosine")
    return lr * (o.decayAlpha + (1 - o.decayAlpha) * cosine(1, 0, s / o.decaySteps));
  const up = Math.max(1, Math.round(o.warmup * o.decaySteps));
  if (s < up) return cosine(lr / o.div, lr, s / up);
  return cosine(lr, lr / (o.div * o.finalDiv), (s - up) / Math.max(1, o.decaySteps - up));
}

const checkSchedule = (
  o: { schedule: string; decaySteps: number; stepEvery?: number },
  ctx: z.RefinementCtx,
) => {
  if (o.schedule === "onecycle" && o.decaySteps === 0)
    ctx.addIssue({
      code: "custom",
      path: ["decaySteps"],
      message: "a one-cycle schedule needs decaySteps > 0",
    });
  if (o.schedule === "step" && o.stepEvery === undefined)
    ctx.addIssue({ code: "custom", path: ["stepEvery"], message: "a step schedule needs stepEvery" });
};

const adamSchema = z
  .object({
    learningRate: z.number().positive().finite().default(1e-3),
    ...scheduleFields,
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    epsilon: z.number().positive().default(1e-7),
    /** Decoupled weight decay (AdamW, as Keras's): each step also takes lr·weightDecay of every weight. */
    weightDecay: z.number().min(0).lt(1).default(0),
  })
  .strict()
  .superRefine(checkSchedule);

/**
 * Adam in Keras's formulation: bias correction folded into the step size, ε outside the square root; with
 * `weightDecay`, AdamW (the decay applied to the weights directly, not through the gradient).
 */
export function adam(options: z.input<typeof adamSchema> = {}): Optimizer {
  const o = parseOptions(adamSchema, "adam", options);
  return {
    name: "adam",
    config: configOf(o),
    slots: ["m", "v"],
    scalarInputs: o.weightDecay > 0 ? ["adam_alpha", "adam_decay"] : ["adam_alpha"],
    learningRate: (t) => learningRateAt(o, t),
    scalars: (t) => ({
      adam_alpha: (learningRateAt(o, t) * Math.sqrt(1 - Math.pow(o.beta2, t))) / (1 - Math.pow(o.beta1, t)),
      ...(o.weightDecay > 0 ? { adam_decay: learningRateAt(o, t) * o.weightDecay } : {}),
    }),
    update(g, p, grad, [m, v], s) {
      const m2 = g.op("Add", [m, g.op("Mul", [g.op("Sub", [grad, m]), g.scalar(1 - o.beta1)])]);
      const v2 = g.op("Add", [
        v,
        g.op("Mul", [g.op("Sub", [g.op("Mul", [grad, grad]), v]), g.scalar(1 - o.beta2)]),
      ]);
      const denom = g.op("Add", [g.op("Sqrt", [v2]), g.scalar(o.epsilon)]);
      const step = g.op("Div", [g.op("Mul", [m2, s.adam_alpha]), denom]);
      const decayed = o.weightDecay > 0 ? g.op("Sub", [p, g.op("Mul", [p, s.adam_decay])]) : p;
      return { param: g.op("Sub", [decayed, step]), slots: [m2, v2] };
    },
    fused(t) {
      const s = this.scalars(t);
      const [b1, b2, epsilon] = [1 - o.beta1, 1 - o.beta2, o.epsilon];
      return { kernel: "adam", b1, b2, epsilon, alpha: s.adam_alpha, decay: s.adam_decay ?? 0 };
    },
  };
}

const sgdSchema = z
  .object({
    learningRate: z.number().positive().finite().default(0.01),
    ...scheduleFields,
    momentum: z.number().min(0).lt(1).default(0),
    nesterov: z.boolean().default(false),
  })
  .strict()
  .superRefine(checkSchedule);

/** SGD with optional (Nesterov) momentum, as Keras: v ← μv − ηg; p ← p + v (or p + μv − ηg). */
export function sgd(options: z.input<typeof sgdSchema> = {}): Optimizer {
  const o = parseOptions(sgdSchema, "sgd", options);
  return {
    name: "sgd",
    config: configOf(o),
    slots: o.momentum > 0 ? ["velocity"] : [],
    scalarInputs: ["sgd_lr"],
    learningRate: (t) => learningRateAt(o, t),
    scalars: (t) => ({ sgd_lr: learningRateAt(o, t) }),
    update(g, p, grad, slots, s) {
      const scaled = g.op("Mul", [grad, s.sgd_lr]);
      if (o.momentum === 0) return { param: g.op("Sub", [p, scaled]), slots: [] };
      const v2 = g.op("Sub", [g.op("Mul", [slots[0], g.scalar(o.momentum)]), scaled]);
      const delta = o.nesterov ? g.op("Sub", [g.op("Mul", [v2, g.scalar(o.momentum)]), scaled]) : v2;
      return { param: g.op("Add", [p, delta]), slots: [v2] };
    },
    fused: (t) => ({
      kernel: "sgd",
      learningRate: learningRateAt(o, t),
      momentum: o.momentum,
      nesterov: o.nesterov,
    }),
  };
}

/** The options as recorded (and rebuilt by optimizerFromConfig): unset optional ones left out. */
function configOf(
  o: Record<string, number | boolean | string | undefined>,
): Record<string, number | boolean | string> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Record<
    string,
    number | boolean | string
  >;
}

export function optimizerFromConfig(name: string, config: Record<string, unknown>): Optimizer {
  if (name === "adam") return adam(config);
  if (name === "sgd") return sgd(config);
  throw new Error(`unknown optimizer "${name}" (adam or sgd)`);
}
