/**
 * Model → ONNX graphs: the forward pass every graph shares, and the graphs that run it for inference — the
 * exported model.onnx (weights as initializers, any batch size), the look inside, an ensemble. The training
 * graphs are in train-graph.ts.
 */
import { differentiate } from "./autodiff.js";
import { Graph, type Shape } from "../graph/graph.js";
import { windowMaxPool } from "../graph/lowering.js";
import { eliminateDeadNodes, runPasses } from "./passes.js";
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
