/**
 * Model → ONNX graphs:
 *  - the inference graph (weights as initializers, any batch size): the exported model.onnx;
 *  - the training-step graph (weights, optimizer slots and batch-norm statistics as inputs, their updated
 *    values as outputs, one fixed batch size): forward, softmax cross-entropy, gradients, optimizer update.
 */
import { differentiate } from "./autodiff.js";
import { Graph, type Shape } from "./graph.js";
import type { Optimizer } from "./optimizers.js";
import { BACKWARD_PASSES, eliminateDeadNodes, FORWARD_PASSES, runPasses, type Pass } from "./passes.js";
import type { ForwardContext } from "../model/layers.js";
import type { Sequential } from "../model/sequential.js";

export const INPUT = "input";
export const OUTPUT = "output";

export interface ForwardResult {
  output: string;
  /** When the output is softmax(logits), the logits (for a stable cross-entropy). */
  logits?: string;
  stateUpdates: Map<string, string>;
}

/** Keras's channels-last batch → channels-first for ONNX kernels (a free reshape when there is one channel). */
function toChannelsFirst(g: Graph, x: string, model: Sequential, batch: number): string {
  const s = model.inputSpec.shape;
  if (s.length !== 3) return x;
  if (s[2] === 1) return g.op("Reshape", [x, g.ints([batch, 1, s[0], s[1]], "shape")]);
  return g.op("Transpose", [x], { perm: [0, 3, 1, 2] });
}

export function buildForward(
  g: Graph,
  model: Sequential,
  x: string,
  training: boolean,
  weight: (key: string) => string,
): ForwardResult {
  const batch = g.shape(x)[0];
  const softmaxOf = new Map<string, string>();
  const stateUpdates = new Map<string, string>();
  let v = toChannelsFirst(g, x, model, batch);
  model.plan.forEach((p, index) => {
    const ctx: ForwardContext = {
      g,
      training,
      weight: (name) => weight(`${p.name}/${name}`),
      updateState: (name, value) => stateUpdates.set(`${p.name}/${name}`, value),
      markSoftmax: (probs, logits) => softmaxOf.set(probs, logits),
      seed: (model.seed * 7919 + index * 104729) % 2147483647,
    };
    v = p.layer.forward(ctx, v, p.inputShape);
  });
  return { output: v, logits: softmaxOf.get(v), stateUpdates };
}

function batchedInputShape(model: Sequential, batch: number): Shape {
  return [batch, ...model.inputSpec.shape];
}

/** The exportable inference graph: input [N, H, W, C] in 0–1 → output [N, classes]. */
export function buildInferenceGraph(model: Sequential): Graph {
  const g = new Graph();
  const x = g.input(INPUT, batchedInputShape(model, -1));
  for (const w of model.weightSpecs) g.initializer(w.key, w.shape, model.weights.get(w.key) as Float32Array);
  const { output } = buildForward(g, model, x, false, (k) => k);
  g.rename(output, OUTPUT);
  g.output(OUTPUT);
  return g;
}

export const TRAIN = {
  x: "x",
  y: "y",
  loss: "loss",
  correct: "correct",
  weight: (key: string) => `w:${key}`,
  state: (key: string) => `s:${key}`,
  slot: (slot: string, key: string) => `${slot}:${key}`,
  next: (name: string) => `next/${name}`,
} as const;

export interface TrainGraph {
  graph: Graph;
  /** Input names whose next value the step outputs as `next/<name>`. */
  carried: string[];
}

export interface TrainGraphOptions {
  /** Apply the speed-up rewrite passes (default true); off for comparing against the plain graph. */
  optimize?: boolean;
  /** Names of passes to leave out (to measure what each one is worth). */
  skipPasses?: readonly string[];
}

interface LossGraph {
  g: Graph;
  loss: string;
  stateUpdates: Map<string, string>;
  nameOf: (key: string) => string;
}

/** Inputs, forward (training mode), softmax cross-entropy and the accuracy count: what every step computes. */
function buildLoss(model: Sequential, batch: number, forwardPasses: readonly Pass[]): LossGraph {
  const g = new Graph();
  const x = g.input(TRAIN.x, batchedInputShape(model, batch));
  const classes = model.outputShape[0];
  const y = g.input(TRAIN.y, [batch, classes]);
  const trainable = new Set(model.trainableKeys);
  const nameOf = (key: string) => (trainable.has(key) ? TRAIN.weight(key) : TRAIN.state(key));
  for (const w of model.weightSpecs) g.input(nameOf(w.key), w.shape);

  const { output, logits, stateUpdates } = buildForward(g, model, x, true, nameOf);
  if (!logits || model.outputShape.length !== 1) {
    throw new Error("training needs a final softmax layer (categorical cross-entropy on its logits)");
  }
  const logp = g.op("LogSoftmax", [logits], { axis: 1 });
  const perSample = g.op("Neg", [
    g.op("ReduceSum", [g.op("Mul", [y, logp]), g.ints([1], "axes")], { keepdims: 0 }),
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
  runPasses(g, forwardPasses);
  return { g, loss, stateUpdates, nameOf };
}

function choosePasses(options: TrainGraphOptions) {
  const chosen = (passes: readonly Pass[]) =>
    (options.optimize ?? true) ? passes.filter((p) => !(options.skipPasses ?? []).includes(p.name)) : [];
  return { forward: chosen(FORWARD_PASSES), backward: [...chosen(BACKWARD_PASSES), eliminateDeadNodes] };
}

/** Loss and the gradient of every trainable weight (outputs "loss", "correct", "grad:<key>"): for checks. */
export function buildGradientGraph(model: Sequential, batch: number, options: TrainGraphOptions = {}): Graph {
  const passes = choosePasses(options);
  const { g, loss } = buildLoss(model, batch, passes.forward);
  const keys = model.trainableKeys;
  const { grads } = differentiate(g, loss, keys.map(TRAIN.weight));
  keys.forEach((key, i) => g.output(g.rename(grads[i], `grad:${key}`)));
  runPasses(g, passes.backward);
  return g;
}

export function buildTrainGraph(
  model: Sequential,
  optimizer: Optimizer,
  batch: number,
  options: TrainGraphOptions = {},
): TrainGraph {
  const passes = choosePasses(options);
  const { g, loss, stateUpdates, nameOf } = buildLoss(model, batch, passes.forward);
  const carried = model.weightSpecs.map((w) => nameOf(w.key));
  const scalars: Record<string, string> = {};
  for (const s of optimizer.scalarInputs) scalars[s] = g.input(s, []);

  const keys = model.trainableKeys;
  const { grads } = differentiate(g, loss, keys.map(TRAIN.weight));
  keys.forEach((key, i) => {
    const slotNames = optimizer.slots.map((s) => g.input(TRAIN.slot(s, key), g.shape(TRAIN.weight(key))));
    carried.push(...slotNames);
    const update = optimizer.update(g, TRAIN.weight(key), grads[i], slotNames, scalars);
    g.output(g.rename(update.param, TRAIN.next(TRAIN.weight(key))));
    update.slots.forEach((s, k) => g.output(g.rename(s, TRAIN.next(slotNames[k]))));
  });
  for (const key of model.stateKeys) {
    const next = stateUpdates.get(key);
    // A non-trainable weight the layer does not update in training passes through unchanged.
    g.output(g.rename(next ?? TRAIN.state(key), TRAIN.next(TRAIN.state(key))));
  }
  runPasses(g, passes.backward);
  return { graph: g, carried };
}
