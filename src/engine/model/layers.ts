/**
 * Keras-like layers. Each layer validates its options (unknown ones are errors), declares its weights with
 * Keras's initialisers, and emits ONNX ops for training or inference. Tensors inside graphs are NCHW, as
 * ONNX Runtime's kernels want; shapes shown to people are Keras's (H, W, C).
 */
import { z } from "zod";
import { parseOptions } from "../../util/options.js";
import type { Graph, Shape } from "../graph/graph.js";
import { windowMaxPool } from "../graph/lowering.js";
import { Random } from "../../util/random.js";
import { sizeOf } from "../graph/ir.js";

export const ACTIVATIONS = ["linear", "relu", "softmax", "sigmoid", "tanh"] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface WeightSpec {
  readonly name: string; // "kernel", "bias", "gamma", "moving_mean", …
  readonly shape: Shape;
  readonly trainable: boolean;
  init(rng: Random): Float32Array;
}

export interface ForwardContext {
  readonly g: Graph;
  readonly training: boolean;
  /** The graph value holding one of this layer's weights. */
  weight(name: string): string;
  /** Training only: a new value for a non-trainable weight (batch-norm moving statistics). */
  updateState(name: string, value: string): void;
  /** Records that `probabilities` is softmax(`logits`), so the loss can use a stable log-softmax. */
  markSoftmax(probabilities: string, logits: string): void;
  /** A per-layer seed for random ops (dropout). */
  readonly seed: number;
}

export interface Layer {
  readonly className: string;
  readonly name: string;
  readonly config: Record<string, unknown>;
  /** Output shape (channels first, no batch) for an input shape; throws on a mismatch. */
  outputShape(input: Shape): Shape;
  weights(input: Shape): WeightSpec[];
  forward(ctx: ForwardContext, x: string, input: Shape): string;
}

const glorotUniform =
  (shape: Shape, fanIn: number, fanOut: number) =>
  (rng: Random): Float32Array => {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const a = new Float32Array(sizeOf(shape));
    for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-limit, limit);
    return a;
  };

const filled = (shape: Shape, value: number) => (): Float32Array =>
  new Float32Array(sizeOf(shape)).fill(value);

function activate(ctx: ForwardContext, x: string, activation: Activation): string {
  switch (activation) {
    case "linear":
      return x;
    case "relu":
      return ctx.g.op("Relu", [x]);
    case "sigmoid":
      return ctx.g.op("Sigmoid", [x]);
    case "tanh":
      return ctx.g.op("Tanh", [x]);
    case "softmax": {
      const p = ctx.g.op("Softmax", [x], { axis: -1 });
      ctx.markSoftmax(p, x);
      return p;
    }
  }
}

const pair = z.union([
  z.number().int().positive(),
  z.tuple([z.number().int().positive(), z.number().int().positive()]),
]);
const toPair = (v: number | [number, number]): [number, number] => (typeof v === "number" ? [v, v] : v);
const name = z
  .string()
  .regex(/^[A-Za-z_][\w.-]*$/, "a layer name is letters, digits, _ . -")
  .optional();

function expectRank(layer: string, input: Shape, rank: number, what: string): void {
  if (input.length !== rank)
    throw new Error(`${layer} expects ${what}, got shape (${kerasShape(input).join(", ")})`);
}

/** Channels-first shape (no batch) → Keras's channels-last, for people. */
export function kerasShape(shape: Shape): number[] {
  return shape.length === 3 ? [shape[1], shape[2], shape[0]] : [...shape];
}

// ---------------------------------------------------------------------------------------------- Conv2D

const conv2dSchema = z
  .object({
    filters: z.number().int().positive(),
    kernelSize: pair,
    strides: pair.default(1),
    padding: z.enum(["valid", "same"]).default("valid"),
    activation: z.enum(ACTIVATIONS).default("linear"),
    useBias: z.boolean().default(true),
    name,
  })
  .strict();
export type Conv2DOptions = z.input<typeof conv2dSchema>;

function samePads(size: number, k: number, s: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

export function conv2d(options: Conv2DOptions): Layer {
  const o = parseOptions(conv2dSchema, "conv2d", options);
  const [kh, kw] = toPair(o.kernelSize);
  const [sh, sw] = toPair(o.strides);
  const pads = (input: Shape): number[] => {
    if (o.padding === "valid") return [0, 0, 0, 0];
    const [t, b] = samePads(input[1], kh, sh);
    const [l, r] = samePads(input[2], kw, sw);
    return [t, l, b, r];
  };
  return {
    className: "Conv2D",
    name: o.name ?? "",
    config: { ...o, kernelSize: [kh, kw], strides: [sh, sw] },
    outputShape(input) {
      expectRank("conv2d", input, 3, "an image input (height, width, channels)");
      const [t, l, b, r] = pads(input);
      const h = Math.floor((input[1] + t + b - kh) / sh) + 1;
      const w = Math.floor((input[2] + l + r - kw) / sw) + 1;
      if (h < 1 || w < 1) throw new Error(`conv2d: input (${kerasShape(input)}) is smaller than the kernel`);
      return [o.filters, h, w];
    },
    weights(input) {
      const c = input[0];
      const kernel: Shape = [o.filters, c, kh, kw];
      const specs: WeightSpec[] = [
        {
          name: "kernel",
          shape: kernel,
          trainable: true,
          init: glorotUniform(kernel, c * kh * kw, o.filters * kh * kw),
        },
      ];
      if (o.useBias)
        specs.push({ name: "bias", shape: [o.filters], trainable: true, init: filled([o.filters], 0) });
      return specs;
    },
    forward(ctx, x, input) {
      const inputs = [x, ctx.weight("kernel")];
      if (o.useBias) inputs.push(ctx.weight("bias"));
      const y = ctx.g.op("Conv", inputs, { kernel_shape: [kh, kw], strides: [sh, sw], pads: pads(input) });
      ctx.g.annotate(y, { kind: "conv" });
      return activate(ctx, y, o.activation);
    },
  };
}

// ---------------------------------------------------------------------------------------------- MaxPooling2D

const poolSchema = z
  .object({
    poolSize: pair.default(2),
    strides: pair.optional(),
    padding: z.literal("valid").default("valid"),
    name,
  })
  .strict();
export type MaxPooling2DOptions = z.input<typeof poolSchema>;

export function maxPooling2d(options: MaxPooling2DOptions = {}): Layer {
  const o = parseOptions(poolSchema, "maxPooling2d", options);
  const [ph, pw] = toPair(o.poolSize);
  const [sh, sw] = toPair(o.strides ?? [ph, pw]);
  if (sh !== ph || sw !== pw) {
    throw new Error("maxPooling2d: only non-overlapping pooling (strides equal to poolSize) is supported");
  }
  return {
    className: "MaxPooling2D",
    name: o.name ?? "",
    config: {
      poolSize: [ph, pw],
      strides: [sh, sw],
      padding: o.padding,
      ...(o.name ? { name: o.name } : {}),
    },
    outputShape(input) {
      expectRank("maxPooling2d", input, 3, "an image input (height, width, channels)");
      const h = Math.floor(input[1] / ph);
      const w = Math.floor(input[2] / pw);
      if (h < 1 || w < 1)
        throw new Error(`maxPooling2d: input (${kerasShape(input)}) is smaller than the pool`);
      return [input[0], h, w];
    },
    weights: () => [],
    forward(ctx, x) {
      const { g } = ctx;
      if (!ctx.training) return g.op("MaxPool", [x], { kernel_shape: [ph, pw], strides: [sh, sw] });
      if (ph !== pw) throw new Error("maxPooling2d: training needs a square pool");
      return windowMaxPool(g, x, ph);
    },
  };
}

// ---------------------------------------------------------------------------------------------- Flatten

const flattenSchema = z.object({ name }).strict();

export function flatten(options: z.input<typeof flattenSchema> = {}): Layer {
  const o = parseOptions(flattenSchema, "flatten", options);
  return {
    className: "Flatten",
    name: o.name ?? "",
    config: { ...o },
    outputShape: (input) => [sizeOf(input)],
    weights: () => [],
    forward: (ctx, x) => ctx.g.op("Flatten", [x], { axis: 1 }),
  };
}

// ---------------------------------------------------------------------------------------------- Dense

const denseSchema = z
  .object({
    units: z.number().int().positive(),
    activation: z.enum(ACTIVATIONS).default("linear"),
    useBias: z.boolean().default(true),
    name,
  })
  .strict();
export type DenseOptions = z.input<typeof denseSchema>;

export function dense(options: DenseOptions): Layer {
  const o = parseOptions(denseSchema, "dense", options);
  return {
    className: "Dense",
    name: o.name ?? "",
    config: { ...o },
    outputShape(input) {
      expectRank("dense", input, 1, "a flat input (add flatten() before it)");
      return [o.units];
    },
    weights(input) {
      const kernel: Shape = [input[0], o.units];
      const specs: WeightSpec[] = [
        { name: "kernel", shape: kernel, trainable: true, init: glorotUniform(kernel, input[0], o.units) },
      ];
      if (o.useBias)
        specs.push({ name: "bias", shape: [o.units], trainable: true, init: filled([o.units], 0) });
      return specs;
    },
    forward(ctx, x) {
      const inputs = [x, ctx.weight("kernel")];
      if (o.useBias) inputs.push(ctx.weight("bias"));
      return activate(ctx, ctx.g.op("Gemm", inputs), o.activation);
    },
  };
}

// ---------------------------------------------------------------------------------------------- Dropout

const dropoutSchema = z.object({ rate: z.number().min(0).lt(1), name }).strict();

export function dropout(options: z.input<typeof dropoutSchema>): Layer {
  const o = parseOptions(dropoutSchema, "dropout", options);
  return {
    className: "Dropout",
    name: o.name ?? "",
    config: { ...o },
    outputShape: (input) => input,
    weights: () => [],
    forward(ctx, x) {
      if (!ctx.training || o.rate === 0) return x;
      const { g } = ctx;
      const training = g.op("Cast", [g.scalar(1)], { to: 9 });
      const [y] = g.opN("Dropout", [x, g.scalar(o.rate, "ratio"), training], { seed: ctx.seed }, 2);
      return y;
    },
  };
}

// ---------------------------------------------------------------------------------------------- BatchNormalization

const batchNormSchema = z
  .object({
    momentum: z.number().min(0).max(1).default(0.99),
    epsilon: z.number().positive().default(1e-3),
    name,
  })
  .strict();

export function batchNormalization(options: z.input<typeof batchNormSchema> = {}): Layer {
  const o = parseOptions(batchNormSchema, "batchNormalization", options);
  return {
    className: "BatchNormalization",
    name: o.name ?? "",
    config: { ...o },
    outputShape: (input) => input,
    weights(input) {
      const c: Shape = [input[0]];
      return [
        { name: "gamma", shape: c, trainable: true, init: filled(c, 1) },
        { name: "beta", shape: c, trainable: true, init: filled(c, 0) },
        { name: "moving_mean", shape: c, trainable: false, init: filled(c, 0) },
        { name: "moving_variance", shape: c, trainable: false, init: filled(c, 1) },
      ];
    },
    forward(ctx, x) {
      const { g } = ctx;
      const [gamma, beta, mean, variance] = ["gamma", "beta", "moving_mean", "moving_variance"].map(
        ctx.weight,
      );
      if (!ctx.training) {
        return g.op("BatchNormalization", [x, gamma, beta, mean, variance], {
          epsilon: { float: o.epsilon },
        });
      }
      // Training: one node with batch statistics (training_mode), differentiated by one fused rule
      // (graph/ops/nn.ts); its other outputs are the moving statistics after this batch, as Keras blends them.
      const [y, nextMean, nextVariance] = g.opN(
        "BatchNormalization",
        [x, gamma, beta, mean, variance],
        { epsilon: { float: o.epsilon }, momentum: { float: o.momentum }, training_mode: 1 },
        3,
      );
      ctx.updateState("moving_mean", nextMean);
      ctx.updateState("moving_variance", nextVariance);
      return y;
    },
  };
}

// ---------------------------------------------------------------------------------------------- Activation

const activationSchema = z.object({ activation: z.enum(ACTIVATIONS), name }).strict();

/** Keras's Activation layer: an activation on its own, e.g. after batch normalization (conv → BN → ReLU). */
export function activation(options: z.input<typeof activationSchema>): Layer {
  const o = parseOptions(activationSchema, "activation", options);
  return {
    className: "Activation",
    name: o.name ?? "",
    config: { ...o },
    outputShape: (input) => input,
    weights: () => [],
    forward: (ctx, x) => activate(ctx, x, o.activation),
  };
}

// ---------------------------------------------------------------------------------------------- registry

/** Layer constructors by Keras class name, for rebuilding a saved architecture. */
export const LAYER_FACTORIES: Record<string, (config: never) => Layer> = {
  Conv2D: conv2d,
  MaxPooling2D: maxPooling2d,
  Flatten: flatten,
  Dense: dense,
  Dropout: dropout,
  BatchNormalization: batchNormalization,
  Activation: activation,
};
