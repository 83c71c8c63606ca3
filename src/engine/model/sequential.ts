/**
 * `sequential([...])`: a stack of layers with named weights, Keras-style. The model owns its weights as
 * Float32Arrays keyed "layer/weight"; compiling and training live elsewhere (compiler/, runtime/).
 */
import type { Shape } from "../graph/graph.js";
import { LAYER_FACTORIES, kerasShape, type Layer, type WeightSpec } from "./layers.js";
import { count } from "../../util/format.js";
import { summaryText } from "./summary.js";
import { Random } from "../../util/random.js";
import { sizeOf } from "../graph/ir.js";

export interface InputSpec {
  readonly className: "Input";
  /** Keras order: (height, width, channels) or (features). */
  readonly shape: readonly number[];
}

/** The model's input, in Keras's channels-last order, e.g. input([28, 28, 1]). */
export function input(shape: readonly number[]): InputSpec {
  if (shape.length !== 3 && shape.length !== 1) {
    throw new Error(
      `input: shape must be (height, width, channels) or (features), got (${shape.join(", ")})`,
    );
  }
  if (!shape.every((d) => Number.isInteger(d) && d > 0))
    throw new Error(`input: dimensions must be positive integers`);
  return { className: "Input", shape: [...shape] };
}

export interface LayerPlan {
  readonly layer: Layer;
  readonly name: string;
  readonly inputShape: Shape; // channels first
  readonly outputShape: Shape;
  readonly weights: readonly (WeightSpec & { key: string })[];
}

export interface Architecture {
  readonly input: readonly number[];
  readonly layers: readonly { className: string; config: Record<string, unknown> }[];
}

const SNAKE: Record<string, string> = {
  Conv2D: "conv2d",
  MaxPooling2D: "max_pooling2d",
  Flatten: "flatten",
  Dense: "dense",
  Dropout: "dropout",
  BatchNormalization: "batch_normalization",
  Activation: "activation",
};

export class Sequential {
  readonly plan: readonly LayerPlan[];
  readonly inputShape: Shape; // channels first, no batch
  readonly weights = new Map<string, Float32Array>();
  readonly seed: number;

  constructor(
    readonly inputSpec: InputSpec,
    readonly layers: readonly Layer[],
    options: { seed?: number } = {},
  ) {
    if (layers.length === 0) throw new Error("sequential: a model needs at least one layer");
    this.seed = options.seed ?? 1337;
    const s = inputSpec.shape;
    this.inputShape = s.length === 3 ? [s[2], s[0], s[1]] : [...s];
    const used = new Map<string, number>();
    let shape = this.inputShape;
    const plan: LayerPlan[] = [];
    for (const layer of layers) {
      const base = layer.name || SNAKE[layer.className] || layer.className.toLowerCase();
      const count = used.get(base) ?? 0;
      used.set(base, count + 1);
      const name = layer.name || (count === 0 ? base : `${base}_${count}`);
      if (plan.some((p) => p.name === name)) throw new Error(`sequential: two layers are named "${name}"`);
      let outputShape: Shape;
      try {
        outputShape = layer.outputShape(shape);
      } catch (e) {
        throw new Error(`layer "${name}": ${(e as Error).message}`, { cause: e });
      }
      const weights = layer.weights(shape).map((w) => ({ ...w, key: `${name}/${w.name}` }));
      plan.push({ layer, name, inputShape: shape, outputShape, weights });
      shape = outputShape;
    }
    this.plan = plan;
    this.initializeWeights(this.seed);
  }

  /** Fresh Keras-style initial weights from a seed. */
  initializeWeights(seed: number): void {
    const rng = new Random(seed);
    for (const p of this.plan) for (const w of p.weights) this.weights.set(w.key, w.init(rng.fork()));
  }

  get outputShape(): Shape {
    return this.plan[this.plan.length - 1].outputShape;
  }

  get weightSpecs(): (WeightSpec & { key: string })[] {
    return this.plan.flatMap((p) => p.weights);
  }

  get trainableKeys(): string[] {
    return this.weightSpecs.filter((w) => w.trainable).map((w) => w.key);
  }

  get stateKeys(): string[] {
    return this.weightSpecs.filter((w) => !w.trainable).map((w) => w.key);
  }

  countParams(): { total: number; trainable: number } {
    let total = 0;
    let trainable = 0;
    for (const w of this.weightSpecs) {
      const n = sizeOf(w.shape);
      total += n;
      if (w.trainable) trainable += n;
    }
    return { total, trainable };
  }

  /** Replaces all weights, checking names and sizes; nothing changes if any check fails. */
  setWeights(weights: ReadonlyMap<string, Float32Array> | Record<string, Float32Array>): void {
    const get = (k: string) =>
      weights instanceof Map ? weights.get(k) : (weights as Record<string, Float32Array>)[k];
    const next = new Map<string, Float32Array>();
    for (const w of this.weightSpecs) {
      const v = get(w.key);
      const n = sizeOf(w.shape);
      if (!v) throw new Error(`weights: "${w.key}" is missing`);
      if (v.length !== n)
        throw new Error(`weights: "${w.key}" has ${v.length} values, expected ${n} (${w.shape})`);
      for (let i = 0; i < v.length; i++) {
        if (!Number.isFinite(v[i])) throw new Error(`weights: "${w.key}" holds a non-finite value at ${i}`);
      }
      next.set(w.key, v);
    }
    const known = new Set(this.weightSpecs.map((w) => w.key));
    const extra = (weights instanceof Map ? [...weights.keys()] : Object.keys(weights)).filter(
      (k) => !known.has(k),
    );
    if (extra.length) throw new Error(`weights: unexpected "${extra.join('", "')}"`);
    for (const [k, v] of next) this.weights.set(k, v);
  }

  architecture(): Architecture {
    return {
      input: [...this.inputSpec.shape],
      layers: this.plan.map((p) => ({
        className: p.layer.className,
        config: { ...p.layer.config, name: p.name },
      })),
    };
  }

  /** A Keras-style table of layers, output shapes and parameter counts. */
  summary(): string {
    const rows = this.plan.map(
      (p) =>
        [
          `${p.name} (${p.layer.className})`,
          `(None, ${kerasShape(p.outputShape).join(", ")})`,
          count(p.weights.reduce((s, w) => s + sizeOf(w.shape), 0)),
        ] as const,
    );
    return summaryText(rows, this.countParams());
  }
}

/** Keras's `Sequential([Input(...), layers...])`. */
export function sequential(
  stack: readonly (InputSpec | Layer)[],
  options: { seed?: number } = {},
): Sequential {
  const [first, ...rest] = stack;
  if (!first || first.className !== "Input")
    throw new Error("sequential: the first entry must be input([h, w, c])");
  if (rest.some((l) => l.className === "Input"))
    throw new Error("sequential: input(...) may only come first");
  return new Sequential(first as InputSpec, rest as Layer[], options);
}

/** Rebuilds a model from `architecture()` output (e.g. a saved model's metadata). */
export function fromArchitecture(arch: Architecture, options: { seed?: number } = {}): Sequential {
  const layers = arch.layers.map(({ className, config }) => {
    const factory = LAYER_FACTORIES[className];
    if (!factory) throw new Error(`unknown layer type "${className}"`);
    return factory(config as never);
  });
  return sequential([input(arch.input), ...layers], options);
}
