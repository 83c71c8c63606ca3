/**
 * The training graphs, built one way: inputs (a batch, the flat parameter vector, batch norm's moving
 * statistics), the forward pass in training mode, softmax cross-entropy, the accuracy count and the flat
 * gradient (`buildGradients`, what each data-parallel replica runs); with the optimizer's update on top for a
 * whole step in one session (`buildTrainGraph`).
 */
import { z } from "zod";
import { differentiate } from "./autodiff.js";
import { Graph } from "../graph/graph.js";
import { addAugmentation, augments, augmentSchema } from "./augment.js";
import type { Optimizer } from "./optimizers.js";
import { FLAT, flatLayout, flatSize, TRAIN } from "./params.js";
import { runPasses, trainingPasses, type TrainingPasses } from "./passes.js";
import { buildForward } from "./compile.js";
import { parseOptions } from "../../util/options.js";
import type { Sequential } from "../model/sequential.js";

/** What a training step computes beyond the plain loss: the one description every layer above passes down. */
export const stepSpecSchema = z
  .object({
    /** Augment each batch inside the graph (augment.ts); its parameters are drawn per step from the seed. */
    augment: augmentSchema.optional(),
    /** Label smoothing ε: the loss's targets are (1 − ε)·one-hot + ε/classes, as Keras's. */
    labelSmoothing: z.number().min(0).lt(1).default(0),
    /** Layers (by name) whose weights the step leaves as they are: their gradient is zero, and not computed. */
    frozen: z.array(z.string()).optional(),
  })
  .strict()
  // Augmentation that changes nothing is left out of the graph.
  .transform((spec) => (spec.augment && !augments(spec.augment) ? { ...spec, augment: undefined } : spec));
export type StepSpecOptions = z.input<typeof stepSpecSchema>;
export type StepSpec = z.infer<typeof stepSpecSchema>;

export function parseStepSpec(options: StepSpecOptions = {}): StepSpec {
  return parseOptions(stepSpecSchema, "step", options);
}

export interface GradientOptions {
  step?: StepSpec;
  /** Which data-parallel replica: their dropout masks differ. */
  replica?: number;
  /** The rewrite passes (default: all of them, without blocked convolutions). */
  passes?: TrainingPasses;
}

/** The graph up to the flat gradient, before the backward passes run. */
function differentiated(model: Sequential, batch: number, o: GradientOptions) {
  const { augment, labelSmoothing, frozen } = o.step ?? parseStepSpec();
  const passes = o.passes ?? trainingPasses();
  const g = new Graph();
  const given = g.input(TRAIN.x, [batch, ...model.inputSpec.shape]);
  const x = augment ? addAugmentation(g, given, augment) : given;
  const classes = model.outputShape[0];
  const y = g.input(TRAIN.y, [batch, classes]);
  // One input for all trainable weights: the optimizer then updates one vector with a dozen kernels instead
  // of a dozen per weight, and a step passes three tensors instead of three per weight.
  const names = new Map<string, string>();
  const all = g.input(TRAIN.weight(FLAT), [flatSize(model)]);
  for (const l of flatLayout(model)) {
    const part = g.op("Slice", [all, g.ints([l.offset]), g.ints([l.offset + l.size]), g.ints([0])]);
    names.set(l.key, g.op("Reshape", [part, g.ints([...l.shape], "shape")]));
  }
  for (const w of model.weightSpecs) if (!w.trainable) names.set(w.key, g.input(TRAIN.state(w.key), w.shape));
  const nameOf = (key: string) => names.get(key) as string;

  const { output, logits, stateUpdates } = buildForward(g, model, x, true, nameOf, o.replica ?? 0);
  if (!logits || model.outputShape.length !== 1)
    throw new Error("training needs a final softmax layer (categorical cross-entropy on its logits)");
  const logp = g.op("LogSoftmax", [logits], { axis: 1 });
  const target =
    labelSmoothing > 0
      ? g.op("Add", [g.op("Mul", [y, g.scalar(1 - labelSmoothing)]), g.scalar(labelSmoothing / classes)])
      : y;
  const perSample = g.op("Neg", [
    g.op("ReduceSum", [g.op("Mul", [target, logp]), g.ints([1], "axes")], { keepdims: 0 }),
  ]);
  const loss = g.op("ReduceMean", [perSample], { axes: [0], keepdims: 0 });
  g.rename(loss, TRAIN.loss);
  const hits = g.op("Equal", [
    g.op("ArgMax", [output], { axis: 1, keepdims: 0 }),
    g.op("ArgMax", [y], { axis: 1, keepdims: 0 }),
  ]);
  g.rename(g.op("ReduceSum", [g.op("Cast", [hits], { to: 1 })], { keepdims: 0 }), TRAIN.correct);
  g.output(TRAIN.loss);
  g.output(TRAIN.correct);
  // Batch norm's moving statistics after this batch; a non-trainable weight its layer does not update in
  // training passes through unchanged.
  for (const key of model.stateKeys)
    g.output(g.rename(stateUpdates.get(key) ?? TRAIN.state(key), TRAIN.next(TRAIN.state(key))));
  runPasses(g, passes.forward);

  const layerOf = (key: string) => key.slice(0, key.lastIndexOf("/"));
  const unknown = (frozen ?? []).filter((name) => !model.trainableKeys.some((k) => layerOf(k) === name));
  if (unknown.length > 0)
    throw new Error(`step: frozen names no layer with trainable weights: ${unknown.join(", ")}`);
  const learned = model.trainableKeys.filter((k) => !frozen?.includes(layerOf(k)));
  const { grads } = differentiate(g, loss, learned.map(nameOf));
  const gradOf = new Map(learned.map((k, i) => [k, grads[i]]));
  const flat = g.op(
    "Concat",
    flatLayout(model).map((l) => {
      const d = gradOf.get(l.key);
      return d
        ? g.op("Reshape", [d, g.ints([-1], "shape")])
        : g.initializer(g.fresh(`frozen/${l.key}`), [l.size], new Float32Array(l.size));
    }),
    { axis: 0 },
  );
  return { g, grad: flat, passes };
}

/**
 * Loss, correct and the flat gradient of the batch's mean loss (output `grad`, in flat-parameter order), with
 * batch norm's moving statistics after the batch (`next/s:…`).
 */
export function buildGradients(model: Sequential, batch: number, options: GradientOptions = {}): Graph {
  const { g, grad, passes } = differentiated(model, batch, options);
  g.output(g.rename(grad, TRAIN.grad));
  runPasses(g, passes.backward);
  return g;
}

export interface TrainGraph {
  graph: Graph;
  /** Input names whose next value the step outputs as `next/<name>`. */
  carried: string[];
}

/** The gradients and the optimizer's update: a whole step, whose carried inputs it also outputs as next/…. */
export function buildTrainGraph(
  model: Sequential,
  optimizer: Optimizer,
  batch: number,
  options: GradientOptions = {},
): TrainGraph {
  const { g, grad, passes } = differentiated(model, batch, options);
  const param = TRAIN.weight(FLAT);
  const scalars: Record<string, string> = {};
  for (const s of optimizer.scalarInputs) scalars[s] = g.input(s, []);
  const slots = optimizer.slots.map((s) => g.input(TRAIN.slot(s, param), g.shape(param)));
  const update = optimizer.update(g, param, grad, slots, scalars);
  g.output(g.rename(update.param, TRAIN.next(param)));
  update.slots.forEach((s, k) => g.output(g.rename(s, TRAIN.next(slots[k]))));
  runPasses(g, passes.backward);
  return { graph: g, carried: [param, ...model.stateKeys.map(TRAIN.state), ...slots] };
}
