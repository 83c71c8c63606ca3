/**
 * Model → ONNX graphs:
 *  - the inference graph (weights as initializers, any batch size): the exported model.onnx;
 *  - the training-step graph (weights, optimizer slots and batch-norm statistics as inputs, their updated
 *    values as outputs, one fixed batch size): forward, softmax cross-entropy, gradients, optimizer update.
 */
import { differentiate } from "./autodiff.js";
import { Graph, type Shape } from "../graph/graph.js";
import { addAugmentation, augments, type Augment } from "./augment.js";
import type { Optimizer } from "./optimizers.js";
import { FLAT, flatLayout, flatSize, REPLICA, TRAIN } from "./params.js";
import { windowMaxPool } from "../graph/lowering.js";
import {
  BACKWARD_PASSES,
  eliminateDeadNodes,
  FORWARD_PASSES,
  nchwcConvolutions,
  runPasses,
  type Pass,
} from "./passes.js";
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
  /** Varies random layers' seeds between data-parallel replicas, so their dropout masks differ. */
  replica = 0,
  /** Hears each layer's output (channels first), to look inside. */
  tap?: (index: number, value: string) => void,
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
      seed: (model.seed * 7919 + index * 104729 + replica * 15485863) % 2147483647,
    };
    v = p.layer.forward(ctx, v, p.inputShape);
    tap?.(index, v);
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

export const INSIDE = { target: "target", score: "score", maps: "maps", saliency: "saliency" } as const;

/**
 * What the model sees inside, for one picture: the probabilities, the first layer's output (a convolution's
 * feature maps, [1, C, H, W]), and a saliency map — the gradient of one class's score (its logit, chosen by
 * the one-hot `target` input; output `score`) with respect to the input pixels, [1, H, W, C]: which pixels
 * push the answer towards that class and which away.
 */
export function buildInsideGraph(model: Sequential): Graph {
  const g = new Graph();
  const x = g.input(INPUT, batchedInputShape(model, 1));
  const target = g.input(INSIDE.target, [1, model.outputShape[0]]);
  for (const w of model.weightSpecs) g.initializer(w.key, w.shape, model.weights.get(w.key) as Float32Array);
  let first: string | undefined;
  const { output, logits } = buildForward(
    g,
    model,
    x,
    false,
    (k) => k,
    0,
    (i, v) => {
      if (i === 0) first = g.op("Identity", [v]);
    },
  );
  if (!logits) throw new Error("looking inside needs a final softmax layer (its logits are the scores)");
  const score = g.op("ReduceSum", [g.op("Mul", [logits, target])], { keepdims: 0 });
  // Pooling in the differentiable form training uses (inference's MaxPool has no gradient rule).
  for (const pool of g.nodes.filter((n) => n.op === "MaxPool")) {
    const k = (pool.attrs.kernel_shape as number[])[0];
    g.replaceUses(pool.outputs[0], windowMaxPool(g, pool.inputs[0], k));
  }
  g.sortTopologically();
  const {
    grads: [saliency],
  } = differentiate(g, score, [x]);
  g.output(g.rename(output, OUTPUT));
  g.output(g.rename(score, INSIDE.score));
  g.output(g.rename(first as string, INSIDE.maps));
  g.output(g.rename(saliency, INSIDE.saliency));
  runPasses(g, [eliminateDeadNodes]); // the MaxPools replaced above
  return g;
}

/** The prefix of ensemble member i's weights ("m0/conv2d/kernel"). */
export const memberKey = (i: number, key: string) => `m${i}/${key}`;

/**
 * One inference graph that averages its members' probabilities: each member's forward on the same input,
 * its weights as initializers under its own prefix, then the mean. It runs wherever a single model does.
 */
export function buildEnsembleGraph(members: readonly Sequential[]): Graph {
  if (members.length < 2) throw new Error("an ensemble needs at least two models");
  const [first] = members;
  for (const m of members) {
    if (
      m.inputSpec.shape.join() !== first.inputSpec.shape.join() ||
      m.outputShape.join() !== first.outputShape.join()
    )
      throw new Error(
        `ensemble members must share input and output shapes: (${first.inputSpec.shape}) → ${first.outputShape} vs (${m.inputSpec.shape}) → ${m.outputShape}`,
      );
  }
  const g = new Graph();
  const x = g.input(INPUT, batchedInputShape(first, -1));
  const outputs = members.map((m, i) => {
    for (const w of m.weightSpecs)
      g.initializer(memberKey(i, w.key), w.shape, m.weights.get(w.key) as Float32Array);
    return buildForward(g, m, x, false, (k) => memberKey(i, k)).output;
  });
  const mean = g.op("Div", [g.op("Sum", outputs), g.scalar(members.length)]);
  g.rename(mean, OUTPUT);
  g.output(OUTPUT);
  return g;
}

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
  /** Keep all trainable weights (and optimizer slots) in one flat vector (default true). */
  flatParameters?: boolean;
  /** Augment each batch inside the graph (augment.ts); its parameters are fed per step. */
  augment?: Augment;
  /** Label smoothing ε: the loss's targets are (1 − ε)·one-hot + ε/classes, as Keras's. */
  labelSmoothing?: number;
  /** The CPU's NCHWc block size, when onnxruntime's blocked kernels work here (runtime/nchwc.ts probes it). */
  nchwcBlock?: number;
}

interface LossGraph {
  g: Graph;
  loss: string;
  stateUpdates: Map<string, string>;
  nameOf: (key: string) => string;
}

/** Inputs, forward (training mode), softmax cross-entropy and the accuracy count: what every step computes. */
function buildLoss(
  model: Sequential,
  batch: number,
  forwardPasses: readonly Pass[],
  flat = false,
  replica = 0,
  options: Pick<TrainGraphOptions, "augment" | "labelSmoothing"> = {},
): LossGraph {
  const { augment, labelSmoothing = 0 } = options;
  const g = new Graph();
  const given = g.input(TRAIN.x, batchedInputShape(model, batch));
  const x = augment && augments(augment) ? addAugmentation(g, given, augment) : given;
  const classes = model.outputShape[0];
  const y = g.input(TRAIN.y, [batch, classes]);
  const names = new Map<string, string>();
  if (flat) {
    // One input for all trainable weights: the optimizer then updates one vector with a dozen kernels
    // instead of a dozen per weight, and a step passes three tensors instead of three per weight.
    const all = g.input(TRAIN.weight(FLAT), [flatSize(model)]);
    for (const l of flatLayout(model)) {
      const part = g.op("Slice", [all, g.ints([l.offset]), g.ints([l.offset + l.size]), g.ints([0])]);
      names.set(l.key, g.op("Reshape", [part, g.ints([...l.shape], "shape")]));
    }
  } else {
    for (const w of model.weightSpecs)
      if (w.trainable) names.set(w.key, g.input(TRAIN.weight(w.key), w.shape));
  }
  for (const w of model.weightSpecs) if (!w.trainable) names.set(w.key, g.input(TRAIN.state(w.key), w.shape));
  const nameOf = (key: string) => names.get(key) as string;

  const { output, logits, stateUpdates } = buildForward(g, model, x, true, nameOf, replica);
  if (!logits || model.outputShape.length !== 1) {
    throw new Error("training needs a final softmax layer (categorical cross-entropy on its logits)");
  }
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
  runPasses(g, forwardPasses);
  return { g, loss, stateUpdates, nameOf };
}

function choosePasses(options: TrainGraphOptions) {
  const chosen = (passes: readonly Pass[]) =>
    (options.optimize ?? true) ? passes.filter((p) => !(options.skipPasses ?? []).includes(p.name)) : [];
  const blocked = options.nchwcBlock ? [nchwcConvolutions(options.nchwcBlock)] : [];
  return {
    forward: chosen(FORWARD_PASSES),
    backward: [...chosen([...BACKWARD_PASSES, ...blocked]), eliminateDeadNodes],
  };
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
  const flat = options.flatParameters ?? true;
  const { g, loss, stateUpdates, nameOf } = buildLoss(model, batch, passes.forward, flat, 0, options);
  const keys = model.trainableKeys;
  const params = flat ? [TRAIN.weight(FLAT)] : keys.map(TRAIN.weight);
  const carried = [...params, ...model.stateKeys.map(TRAIN.state)];
  const { grads } = differentiate(g, loss, keys.map(nameOf));
  carried.push(...addUpdates(g, optimizer, params, flat ? [concatFlat(g, grads)] : grads));
  for (const key of model.stateKeys) {
    const next = stateUpdates.get(key);
    // A non-trainable weight the layer does not update in training passes through unchanged.
    g.output(g.rename(next ?? TRAIN.state(key), TRAIN.next(TRAIN.state(key))));
  }
  runPasses(g, passes.backward);
  return { graph: g, carried };
}

/** Per-weight gradients → one vector in flat-parameter order. */
function concatFlat(g: Graph, grads: string[]): string {
  return g.op(
    "Concat",
    grads.map((d) => g.op("Reshape", [d, g.ints([-1], "shape")])),
    { axis: 0 },
  );
}

/** The optimizer update of each parameter as graph outputs `next/...`; returns the slot inputs it adds. */
function addUpdates(g: Graph, optimizer: Optimizer, params: string[], paramGrads: string[]): string[] {
  const scalars: Record<string, string> = {};
  for (const s of optimizer.scalarInputs) scalars[s] = g.input(s, []);
  const slotInputs: string[] = [];
  params.forEach((param, i) => {
    const slotNames = optimizer.slots.map((s) => g.input(TRAIN.slot(s, param), g.shape(param)));
    slotInputs.push(...slotNames);
    const update = optimizer.update(g, param, paramGrads[i], slotNames, scalars);
    g.output(g.rename(update.param, TRAIN.next(param)));
    update.slots.forEach((s, k) => g.output(g.rename(s, TRAIN.next(slotNames[k]))));
  });
  return slotInputs;
}

/** Flat weights, one share of the batch → loss, correct, and the flat gradient of the share's mean loss. */
export function buildReplicaGradientGraph(
  model: Sequential,
  batch: number,
  replica: number,
  options: TrainGraphOptions = {},
): Graph {
  const passes = choosePasses(options);
  const { g, loss, nameOf, stateUpdates } = buildLoss(model, batch, passes.forward, true, replica, options);
  const { grads } = differentiate(g, loss, model.trainableKeys.map(nameOf));
  g.output(g.rename(concatFlat(g, grads), REPLICA.grad));
  // Batch norm's moving statistics after this share's batch statistics (the replicas then average them).
  for (const key of model.stateKeys)
    g.output(g.rename(stateUpdates.get(key) ?? TRAIN.state(key), TRAIN.next(TRAIN.state(key))));
  runPasses(g, passes.backward);
  return g;
}
