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

export interface Optimizer {
  readonly name: string;
  readonly config: Record<string, number | boolean>;
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
}

/**
 * Learning-rate decay shared by the optimizers: Keras's CosineDecay (lr · (α + (1 − α)·½(1 + cos(π·s/S))) at
 * 0-based step s, held at α·lr after S steps); `decaySteps` 0 keeps the rate constant.
 */
const decayFields = {
  decaySteps: z.number().int().nonnegative().default(0),
  decayAlpha: z.number().min(0).max(1).default(0),
};

function learningRateAt(
  o: { learningRate: number; decaySteps: number; decayAlpha: number },
  t: number,
): number {
  if (o.decaySteps === 0) return o.learningRate;
  const s = Math.min(t - 1, o.decaySteps);
  const cosine = 0.5 * (1 + Math.cos((Math.PI * s) / o.decaySteps));
  return o.learningRate * (o.decayAlpha + (1 - o.decayAlpha) * cosine);
}

const adamSchema = z
  .object({
    learningRate: z.number().positive().finite().default(1e-3),
    ...decayFields,
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    epsilon: z.number().positive().default(1e-7),
  })
  .strict();

/** Adam in Keras's formulation: bias correction folded into the step size, ε outside the square root. */
export function adam(options: z.input<typeof adamSchema> = {}): Optimizer {
  const o = parseOptions(adamSchema, "adam", options);
  return {
    name: "adam",
    config: { ...o },
    slots: ["m", "v"],
    scalarInputs: ["adam_alpha"],
    learningRate: (t) => learningRateAt(o, t),
    scalars: (t) => ({
      adam_alpha: (learningRateAt(o, t) * Math.sqrt(1 - Math.pow(o.beta2, t))) / (1 - Math.pow(o.beta1, t)),
    }),
    update(g, p, grad, [m, v], s) {
      const m2 = g.op("Add", [m, g.op("Mul", [g.op("Sub", [grad, m]), g.scalar(1 - o.beta1)])]);
      const v2 = g.op("Add", [
        v,
        g.op("Mul", [g.op("Sub", [g.op("Mul", [grad, grad]), v]), g.scalar(1 - o.beta2)]),
      ]);
      const denom = g.op("Add", [g.op("Sqrt", [v2]), g.scalar(o.epsilon)]);
      const step = g.op("Div", [g.op("Mul", [m2, s.adam_alpha]), denom]);
      return { param: g.op("Sub", [p, step]), slots: [m2, v2] };
    },
  };
}

const sgdSchema = z
  .object({
    learningRate: z.number().positive().finite().default(0.01),
    ...decayFields,
    momentum: z.number().min(0).lt(1).default(0),
    nesterov: z.boolean().default(false),
  })
  .strict();

/** SGD with optional (Nesterov) momentum, as Keras: v ← μv − ηg; p ← p + v (or p + μv − ηg). */
export function sgd(options: z.input<typeof sgdSchema> = {}): Optimizer {
  const o = parseOptions(sgdSchema, "sgd", options);
  return {
    name: "sgd",
    config: { ...o },
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
  };
}

export function optimizerFromConfig(name: string, config: Record<string, unknown>): Optimizer {
  if (name === "adam") return adam(config);
  if (name === "sgd") return sgd(config);
  throw new Error(`unknown optimizer "${name}" (adam or sgd)`);
}
