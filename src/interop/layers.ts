/**
 * A digits model as Keras sees it, and back: each layer's Keras class, snake_case config and weights in Keras's
 * layouts. The engine computes channels-first (ONNX); Keras is channels-last, so a Conv2D kernel is OIHW
 * here and HWIO there, and a Flatten after a convolution orders its features (c, h, w) here and (h, w, c)
 * there — the rows of the next Dense kernel (and of any batch norm or dropout between) are permuted to match.
 */
import { fromArchitecture, type Sequential, sizeOf } from "../engine/index.js";

export interface KerasWeight {
  /** Keras's variable name: kernel, bias, gamma, beta, moving_mean, moving_variance. */
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface KerasLayer {
  className: string;
  name: string;
  /** Keras's own config keys (kernel_size, use_bias, …), beyond name/trainable/dtype. */
  config: Record<string, unknown>;
  weights: KerasWeight[];
  /** Channels-last input shape, without the batch. */
  inputShape: number[];
}

export class InteropError extends Error {
  override name = "InteropError";
}

/** The layers digits has; anything else in an imported model is named in an error. */
export const SUPPORTED = [
  "Conv2D",
  "MaxPooling2D",
  "Flatten",
  "Dense",
  "Dropout",
  "BatchNormalization",
  "Activation",
];

const channelsLast = (shape: readonly number[]) =>
  shape.length === 3 ? [shape[1], shape[2], shape[0]] : [...shape];

/** OIHW → HWIO, or back (`inverse`). */
function convKernel(data: Float32Array, [o, i, h, w]: number[], inverse: boolean): Float32Array {
  const out = new Float32Array(data.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const oihw = ((a * i + b) * h + y) * w + x;
          const hwio = ((y * w + x) * i + b) * o + a;
          if (inverse) out[oihw] = data[hwio];
          else out[hwio] = data[oihw];
        }
  return out;
}

/** Row r of a (c, h, w)-ordered feature vector is row `order[r]` of the (h, w, c) one. */
function flattenOrder([c, h, w]: number[]): Int32Array {
  const order = new Int32Array(c * h * w);
  for (let a = 0; a < c; a++)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) order[(a * h + y) * w + x] = (y * w + x) * c + a;
  return order;
}

/** Rows of a [rows, cols] matrix moved: row r to order[r] (or back). */
function permuteRows(data: Float32Array, cols: number, order: Int32Array, inverse: boolean): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < order.length; r++) {
    const [from, to] = inverse ? [order[r], r] : [r, order[r]];
    out.set(data.subarray(from * cols, (from + 1) * cols), to * cols);
  }
  return out;
}

export function toKerasLayers(model: Sequential): KerasLayer[] {
  let order: Int32Array | undefined; // set by a Flatten of an image, used by the next Dense
  return model.plan.map((p) => {
    const c = p.layer.config as Record<string, unknown>;
    const w = (name: string) => model.weights.get(`${p.name}/${name}`) as Float32Array;
    const spec = (name: string) => p.weights.find((s) => s.name === name)!;
    const base = { className: p.layer.className, name: p.name, inputShape: channelsLast(p.inputShape) };
    switch (p.layer.className) {
      case "Conv2D": {
        const shape = [...spec("kernel").shape];
        return {
          ...base,
          config: {
            filters: c.filters,
            kernel_size: c.kernelSize,
            strides: c.strides,
            padding: c.padding,
            data_format: "channels_last",
            dilation_rate: [1, 1],
            groups: 1,
            activation: c.activation,
            use_bias: c.useBias,
          },
          weights: [
            {
              name: "kernel",
              shape: [shape[2], shape[3], shape[1], shape[0]],
              data: convKernel(w("kernel"), shape, false),
            },
            ...(c.useBias ? [{ name: "bias", shape: [shape[0]], data: w("bias") }] : []),
          ],
        };
      }
      case "MaxPooling2D":
        return {
          ...base,
          config: {
            pool_size: c.poolSize,
            strides: c.strides,
            padding: c.padding,
            data_format: "channels_last",
          },
          weights: [],
        };
      case "Flatten":
        order = p.inputShape.length === 3 ? flattenOrder([...p.inputShape]) : undefined;
        return { ...base, config: { data_format: "channels_last" }, weights: [] };
      case "Dense": {
        const [rows, cols] = spec("kernel").shape;
        const kernel = order ? permuteRows(w("kernel"), cols, order, false) : w("kernel");
        order = undefined;
        return {
          ...base,
          config: { units: c.units, activation: c.activation, use_bias: c.useBias },
          weights: [
            { name: "kernel", shape: [rows, cols], data: kernel },
            ...(c.useBias ? [{ name: "bias", shape: [cols], data: w("bias") }] : []),
          ],
        };
      }
      case "Dropout":
        return { ...base, config: { rate: c.rate, seed: null, noise_shape: null }, weights: [] };
      case "BatchNormalization": {
        const names = ["gamma", "beta", "moving_mean", "moving_variance"];
        const vector = (v: Float32Array) => (order ? permuteRows(v, 1, order, false) : v);
        return {
          ...base,
          config: { axis: -1, momentum: c.momentum, epsilon: c.epsilon, center: true, scale: true },
          weights: names.map((n) => ({ name: n, shape: [w(n).length], data: vector(w(n)) })),
        };
      }
      case "Activation":
        return { ...base, config: { activation: c.activation }, weights: [] };
      default:
        throw new InteropError(`${p.name}: ${p.layer.className} has no Keras form here`);
    }
  });
}

/** What a Keras file gives per layer: class, config (Keras's keys) and weights in file order. */
export interface KerasLayerIn {
  className: string;
  name?: string;
  config: Record<string, unknown>;
  weights: { shape: number[]; data: Float32Array }[];
}

const pair = (v: unknown) => (Array.isArray(v) ? v : [v, v]) as [number, number];

/** Refuses a Keras setting digits does not have, naming it. */
function refuse(l: KerasLayerIn, key: string, ok: (v: unknown) => boolean, want: string): void {
  if (l.config[key] !== undefined && !ok(l.config[key]))
    throw new InteropError(
      `layer "${l.name}": ${key} ${JSON.stringify(l.config[key])} is not supported (only ${want})`,
    );
}

/** One Keras layer's config in digits's terms (its class, its keys). */
function layerConfig(l: KerasLayerIn): { className: string; config: Record<string, unknown> } {
  const c = l.config;
  const named = l.name ? { name: l.name } : {};
  refuse(l, "data_format", (v) => v === "channels_last", "channels_last");
  switch (l.className) {
    case "Conv2D":
      refuse(l, "dilation_rate", (v) => pair(v).every((d) => d === 1), "1");
      refuse(l, "groups", (v) => v === 1, "1");
      return {
        className: "Conv2D",
        config: {
          filters: c.filters,
          kernelSize: pair(c.kernel_size),
          strides: pair(c.strides ?? 1),
          padding: c.padding ?? "valid",
          activation: c.activation ?? "linear",
          useBias: c.use_bias ?? true,
          ...named,
        },
      };
    case "MaxPooling2D":
      return {
        className: "MaxPooling2D",
        config: {
          poolSize: pair(c.pool_size ?? 2),
          strides: pair(c.strides ?? c.pool_size ?? 2),
          padding: c.padding ?? "valid",
          ...named,
        },
      };
    case "Flatten":
      return { className: "Flatten", config: { ...named } };
    case "Dense":
      return {
        className: "Dense",
        config: {
          units: c.units,
          activation: c.activation ?? "linear",
          useBias: c.use_bias ?? true,
          ...named,
        },
      };
    case "Dropout":
      return { className: "Dropout", config: { rate: c.rate, ...named } };
    case "BatchNormalization":
      refuse(
        l,
        "axis",
        (v) =>
          v === -1 ||
          (Array.isArray(v) && v.length === 1 && (v[0] === -1 || v[0] === 3 || v[0] === 1)) ||
          v === 3 ||
          v === 1,
        "the channel axis",
      );
      refuse(l, "center", (v) => v === true, "true");
      refuse(l, "scale", (v) => v === true, "true");
      return {
        className: "BatchNormalization",
        config: { momentum: c.momentum ?? 0.99, epsilon: c.epsilon ?? 1e-3, ...named },
      };
    default:
      return { className: "Activation", config: { activation: c.activation, ...named } };
  }
}

/** A digits model from Keras layers (channels-last `input`, without the batch): architecture, then weights. */
export function fromKerasLayers(input: number[], layers: readonly KerasLayerIn[], seed = 0): Sequential {
  for (const l of layers)
    if (!SUPPORTED.includes(l.className))
      throw new InteropError(
        `layer "${l.name ?? l.className}" is a ${l.className}, which digits does not have (it has ${SUPPORTED.join(", ")})`,
      );
  let model: Sequential;
  try {
    model = fromArchitecture({ input: [...input], layers: layers.map(layerConfig) } as never, { seed });
  } catch (e) {
    if (e instanceof InteropError) throw e;
    throw new InteropError(`the model's layers do not build: ${(e as Error).message}`);
  }
  setKerasWeights(model, layers);
  return model;
}

/** Keras's weights into the engine's layouts, with the same permutations as toKerasLayers, undone. */
function setKerasWeights(model: Sequential, layers: readonly KerasLayerIn[]): void {
  const weights = new Map(model.weights);
  let order: Int32Array | undefined;
  model.plan.forEach((p, i) => {
    const given = layers[i].weights;
    const specs = p.weights;
    if (given.length !== specs.length)
      throw new InteropError(
        `layer "${p.name}" (${p.layer.className}) has ${given.length} weights in the file, digits expects ${specs.length}`,
      );
    specs.forEach((s, k) => {
      const want = sizeOf(s.shape);
      if (given[k].data.length !== want)
        throw new InteropError(
          `layer "${p.name}": weight ${s.name} has ${given[k].data.length} values ([${given[k].shape}]), digits expects ${want} ([${s.shape}] in its layout)`,
        );
      let data = given[k].data;
      if (p.layer.className === "Conv2D" && s.name === "kernel") data = convKernel(data, [...s.shape], true);
      else if (order && p.layer.className === "Dense" && s.name === "kernel")
        data = permuteRows(data, s.shape[1], order, true);
      else if (order && p.layer.className === "BatchNormalization") data = permuteRows(data, 1, order, true);
      weights.set(`${p.name}/${s.name}`, Float32Array.from(data));
    });
    if (p.layer.className === "Flatten")
      order = p.inputShape.length === 3 ? flattenOrder([...p.inputShape]) : undefined;
    if (p.layer.className === "Dense") order = undefined;
  });
  model.setWeights(weights);
}
