/**
 * Every gradient rule, and whole models, against central finite differences of the float64 reference
 * interpreter. The gradients under test are computed by onnxruntime in float32 from the compiled graph.
 */
import { describe, expect, it } from "vitest";
import { differentiate } from "../../src/engine/compiler/autodiff.js";
import { buildGradients } from "../../src/engine/compiler/train-graph.js";
import { FLAT, flatLayout, packFlat, TRAIN } from "../../src/engine/compiler/params.js";
import { NO_PASSES, trainingPasses } from "../../src/engine/compiler/passes.js";
import { Graph } from "../../src/engine/graph/graph.js";
import { OPS } from "../../src/engine/graph/ops/index.js";
import { toOnnx } from "../../src/engine/graph/serialize.js";
import {
  batchNormalization,
  conv2d,
  dense,
  dropout,
  flatten,
  maxPooling2d,
} from "../../src/engine/model/layers.js";
import { Random } from "../../src/util/random.js";
import { input, sequential, type Sequential } from "../../src/engine/model/sequential.js";
import { createSession, floatTensor } from "../../src/engine/runtime/ort.js";
import { mnistSlice, oneHot } from "../helpers/mnist.js";
import { smallReferenceCnn } from "../helpers/models.js";
import { evaluate, tensor, type T } from "./reference.js";
import { sizeOf } from "../../src/engine/graph/ir.js";

interface Param {
  name: string;
  shape: number[];
  values?: number[];
}

/** Builds `loss = Σ out ⊙ R` over a graph made by `body`; returns the graph and the loss name. */
function lossGraph(
  params: Param[],
  body: (g: Graph, p: string[]) => string,
  seed: number,
): { g: Graph; loss: string } {
  const g = new Graph();
  const names = params.map((p) => g.input(p.name, p.shape));
  const out = body(g, names);
  const rng = new Random(seed);
  const r = g.initializer(
    "R",
    g.shape(out),
    Float32Array.from({ length: sizeOf([...g.shape(out)]) }, () => rng.uniform(-1, 1)),
  );
  const loss = g.op("ReduceSum", [g.op("Mul", [out, r])], { keepdims: 0 });
  return { g, loss };
}

function paramValues(params: Param[], seed: number): Record<string, T> {
  const rng = new Random(seed);
  return Object.fromEntries(
    params.map((p) => [
      p.name,
      tensor(p.shape, p.values ?? Array.from({ length: sizeOf(p.shape) }, () => rng.uniform(-1, 1))),
    ]),
  );
}

/** Ops whose gradient rules a finite-difference check below has exercised. */
const checked = new Set<string>();

/** Asserts onnxruntime's gradient of each param matches float64 central differences. */
async function checkGradients(params: Param[], body: (g: Graph, p: string[]) => string, seed = 7) {
  const feeds = paramValues(params, seed);
  const ref = lossGraph(params, body, seed);
  const diff = lossGraph(params, body, seed);
  const { grads } = differentiate(
    diff.g,
    diff.loss,
    params.map((p) => p.name),
  );
  grads.forEach((gname, i) => diff.g.output(diff.g.rename(gname, `grad_${i}`)));
  // Dropout is random: its mask comes out of the run and is fed to the reference, so both see the same one.
  const masks = diff.g.nodes.filter((n) => n.op === "Dropout").map((n) => n.outputs[1]);
  masks.forEach((m) => diff.g.output(m));
  ref.g.nodes.forEach((n) => checked.add(n.op));
  const session = await createSession(toOnnx(diff.g));
  const out = await session.run(
    Object.fromEntries(
      params.map((p) => [p.name, floatTensor(Float32Array.from(feeds[p.name].data), p.shape)]),
    ),
  );
  for (const m of masks) {
    const data = out[m].data as unknown as ArrayLike<boolean | number>;
    feeds[m] = tensor([...diff.g.shape(m)], Array.from(data, Number));
    expect(new Set(Array.from(data, Number)).size, "a mask that drops some values and keeps others").toBe(2);
  }
  const lossAt = (f: Record<string, T>) => evaluate(ref.g, f, [ref.loss])[0].data[0];
  params.forEach((p, i) => {
    const analytic = out[`grad_${i}`].data as Float32Array;
    const numeric = new Float64Array(analytic.length);
    const eps = 1e-6;
    for (let k = 0; k < numeric.length; k++) {
      const plus = structuredClone(feeds);
      const minus = structuredClone(feeds);
      plus[p.name].data[k] += eps;
      minus[p.name].data[k] -= eps;
      numeric[k] = (lossAt(plus) - lossAt(minus)) / (2 * eps);
    }
    const scale = Math.max(1, ...Array.from(numeric, Math.abs));
    const worst = Math.max(...Array.from(numeric, (v, k) => Math.abs(v - analytic[k])));
    expect(worst / scale, `gradient of ${p.name}`).toBeLessThan(2e-4);
  });
  await session.release();
}

describe("gradient rules match float64 finite differences", () => {
  it("Conv, stride 1, valid, with bias", () =>
    checkGradients(
      [
        { name: "x", shape: [2, 3, 6, 5] },
        { name: "w", shape: [4, 3, 3, 3] },
        { name: "b", shape: [4] },
      ],
      (g, [x, w, b]) => g.op("Conv", [x, w, b], { kernel_shape: [3, 3] }),
    ));
  it("Conv, stride 2 with uneven same-padding (rows no output reads)", () =>
    checkGradients(
      [
        { name: "x", shape: [2, 2, 8, 7] },
        { name: "w", shape: [3, 2, 3, 2] },
      ],
      (g, [x, w]) => g.op("Conv", [x, w], { kernel_shape: [3, 2], strides: [2, 2], pads: [1, 0, 1, 1] }),
    ));
  it("Gemm with broadcast bias, transB 0 and 1", () =>
    checkGradients(
      [
        { name: "a", shape: [4, 5] },
        { name: "b", shape: [5, 3] },
        { name: "c", shape: [3] },
        { name: "d", shape: [2, 3] },
      ],
      (g, [a, b, c, d]) => g.op("Gemm", [g.op("Gemm", [a, b, c]), d], { transB: 1 }),
    ));
  it("MatMul", () =>
    checkGradients(
      [
        { name: "a", shape: [3, 4] },
        { name: "b", shape: [4, 2] },
      ],
      (g, [a, b]) => g.op("MatMul", [a, b]),
    ));
  it("Add, Sub, Mul, Div with broadcasting", () =>
    checkGradients(
      [
        { name: "a", shape: [2, 3, 4] },
        { name: "b", shape: [3, 1] },
        { name: "c", shape: [1, 4] },
        { name: "d", shape: [2, 3, 4], values: Array.from({ length: 24 }, (_, i) => 1.5 + (i % 5) * 0.1) },
      ],
      (g, [a, b, c, d]) => g.op("Div", [g.op("Mul", [g.op("Sub", [g.op("Add", [a, b]), c]), b]), d]),
    ));
  it("Relu, Neg, Exp, Log, Sqrt, Reciprocal, Sigmoid, Tanh", () =>
    checkGradients(
      [{ name: "x", shape: [3, 5], values: Array.from({ length: 15 }, (_, i) => 0.3 + 0.17 * i) }],
      (g, [x]) => {
        const r = g.op("Relu", [g.op("Sub", [x, g.scalar(1)])]);
        const e = g.op("Exp", [g.op("Neg", [x])]);
        const l = g.op("Log", [g.op("Sqrt", [x])]);
        const q = g.op("Reciprocal", [x]);
        const s = g.op("Sigmoid", [x]);
        const t = g.op("Tanh", [x]);
        return g.op("Sum", [r, e, l, q, s, t]);
      },
    ));
  it("Softmax and LogSoftmax", () =>
    checkGradients([{ name: "x", shape: [3, 6] }], (g, [x]) =>
      g.op("Add", [g.op("Softmax", [x], { axis: 1 }), g.op("LogSoftmax", [x], { axis: 1 })]),
    ));
  it("Slice", () =>
    checkGradients([{ name: "x", shape: [2, 3, 4, 4] }], (g, [x]) =>
      g.op("Slice", [x, g.ints([1, 0]), g.ints([3, 2]), g.ints([2, 3])]),
    ));
  it("Pad", () =>
    checkGradients([{ name: "x", shape: [2, 3, 2, 2] }], (g, [x]) =>
      g.op("Pad", [x, g.ints([0, 0, 1, 0, 0, 0, 0, 2])]),
    ));
  it("Concat", () =>
    checkGradients(
      [
        { name: "x", shape: [2, 3, 2, 2] },
        { name: "y", shape: [2, 2, 2, 2] },
      ],
      (g, [x, y]) => g.op("Concat", [x, y], { axis: 1 }),
    ));
  it("Split (equal parts; one part unused)", () =>
    checkGradients([{ name: "x", shape: [2, 6, 3] }], (g, [x]) => {
      const [a, b, c] = g.opN("Split", [x], { axis: 1 }, 3);
      const [d] = g.opN("Split", [a], { axis: -1 }, 3); // the other two parts get no gradient
      return g.op("Concat", [g.op("Mul", [b, c]), d], { axis: 2 });
    }));
  it("Transpose", () =>
    checkGradients([{ name: "x", shape: [2, 3, 4, 5] }], (g, [x]) =>
      g.op("Transpose", [x], { perm: [0, 2, 3, 1] }),
    ));
  it("Reshape, Flatten, Transpose, Slice, Pad, Concat", () =>
    checkGradients(
      [
        { name: "x", shape: [2, 3, 4, 4] },
        { name: "y", shape: [2, 3, 2, 2] },
      ],
      (g, [x, y]) => {
        const s = g.op("Slice", [x, g.ints([1, 0]), g.ints([3, 2]), g.ints([2, 3])]);
        const c = g.op("Concat", [s, y], { axis: 1 });
        const p = g.op("Pad", [c, g.ints([0, 0, 1, 0, 0, 0, 0, 2])]);
        const t = g.op("Transpose", [p], { perm: [0, 2, 3, 1] });
        const r = g.op("Reshape", [t, g.ints([2, -1])]);
        return g.op("Flatten", [g.op("Reshape", [r, g.ints([2, 3, 4, 6])])], { axis: 2 });
      },
    ));
  it("ReduceSum, ReduceMean, ReduceMax (keepdims both ways)", () =>
    checkGradients([{ name: "x", shape: [2, 3, 4] }], (g, [x]) => {
      const s = g.op("ReduceSum", [x, g.ints([1])], { keepdims: 1 });
      const m = g.op("ReduceMean", [x], { axes: [0, 2], keepdims: 0 });
      const mx = g.op("ReduceMax", [x], { axes: [2], keepdims: 0 });
      return g.op("Add", [
        g.op("Add", [g.op("Reshape", [s, g.ints([2, 4, 1])]), g.op("Reshape", [m, g.ints([1, 3])])]),
        g.op("Reshape", [mx, g.ints([2, 1, 3])]),
      ]);
    }));
  it("SpaceToDepth, DepthToSpace and variadic Max", () =>
    checkGradients(
      [
        { name: "x", shape: [1, 2, 4, 6] },
        { name: "y", shape: [1, 8, 2, 3] },
      ],
      (g, [x, y]) => {
        const s = g.op("SpaceToDepth", [x], { blocksize: 2 });
        const m = g.op("Max", [s, y, g.op("Neg", [y])]);
        return g.op("DepthToSpace", [m], { blocksize: 2, mode: "DCR" });
      },
    ));
  it.each([
    ["images", [4, 3, 3, 3]],
    ["flat features", [6, 3]],
  ])("BatchNormalization in training mode (batch statistics), on %s", (_what, shape) =>
    checkGradients(
      [
        { name: "x", shape: shape as number[] },
        { name: "gamma", shape: [3], values: [0.7, 1.3, -0.4] },
        { name: "beta", shape: [3] },
      ],
      (g, [x, gamma, beta]) => {
        const mean = g.initializer("moving_mean", [3], Float32Array.of(0.1, 0, -0.1));
        const variance = g.initializer("moving_variance", [3], Float32Array.of(1, 2, 0.5));
        const attrs = { epsilon: { float: 1e-3 }, momentum: { float: 0.9 }, training_mode: 1 };
        const [y] = g.opN("BatchNormalization", [x, gamma, beta, mean, variance], attrs, 3);
        return y;
      },
    ),
  );
  it("Squeeze, Unsqueeze and Identity", () =>
    checkGradients([{ name: "x", shape: [2, 1, 3] }], (g, [x]) => {
      const s = g.op("Squeeze", [x, g.ints([1])]);
      const u = g.op("Unsqueeze", [g.op("Identity", [s]), g.ints([0, 3])]);
      return g.op("Mul", [u, u]);
    }));
  it("Dropout (rate 0.4, training mode: mask and 1/(1 − rate) scaling)", () =>
    checkGradients([{ name: "x", shape: [4, 16] }], (g, [x]) => {
      const training = g.op("Cast", [g.scalar(1)], { to: 9 });
      const [y] = g.opN("Dropout", [x, g.scalar(0.4, "ratio"), training], { seed: 5 }, 2);
      return g.op("Mul", [y, x]);
    }));
});

describe("every gradient rule", () => {
  it("is checked against finite differences above", () => {
    const rules = Object.entries(OPS).filter(([, d]) => typeof d.gradient === "function");
    expect(rules.length).toBeGreaterThan(20);
    expect(rules.map(([op]) => op).filter((op) => !checked.has(op))).toEqual([]);
  });
});

describe("max-pooling sends each gradient to exactly one maximum (ties are common on MNIST)", () => {
  it("ReduceMax and Max route to the first of tied maxima", async () => {
    const g = new Graph();
    const x = g.input("x", [1, 4]);
    const y = g.input("y", [1, 4]);
    const rm = g.op("ReduceMax", [x], { axes: [1], keepdims: 0 });
    const mx = g.op("Max", [x, y]);
    const loss = g.op("Add", [
      g.op("ReduceSum", [rm], { keepdims: 0 }),
      g.op("ReduceSum", [mx], { keepdims: 0 }),
    ]);
    const { grads } = differentiate(g, loss, [x, y]);
    g.output(g.rename(grads[0], "dx"));
    g.output(g.rename(grads[1], "dy"));
    const s = await createSession(toOnnx(g));
    const out = await s.run({
      x: floatTensor(Float32Array.of(3, 5, 5, 1), [1, 4]),
      y: floatTensor(Float32Array.of(3, 2, 5, 7), [1, 4]),
    });
    // ReduceMax: 5 at positions 1 and 2 → only position 1. Max: ties at 0 and 2 → x (first input) wins.
    expect(Array.from(out.dx.data as Float32Array)).toEqual([1, 1 + 1, 1, 0]);
    expect(Array.from(out.dy.data as Float32Array)).toEqual([0, 0, 0, 1]);
  });
});

/** Whole-model gradients (optimised and plain graphs) against finite differences on real MNIST digits. */
async function checkModel(model: Sequential, count: number, coordsPerWeight: number) {
  const { x, labels } = await mnistSlice("train", 0, count);
  const y = oneHot(labels);
  const rng = new Random(3);
  // Keras initialises biases to zero, which puts every ReLU over a blank patch exactly on its kink, where
  // a finite difference is meaningless. Nonzero biases keep the check away from kinks.
  for (const w of model.weightSpecs) {
    if (w.name === "bias" || w.name === "beta")
      model.weights.set(
        w.key,
        Float32Array.from({ length: w.shape[0] }, () => rng.uniform(-0.2, 0.2)),
      );
  }
  const feeds: Record<string, T> = {
    [TRAIN.x]: tensor([count, 28, 28, 1], x),
    [TRAIN.y]: tensor([count, 10], y),
  };
  const ref = buildGradients(model, count, { passes: NO_PASSES });
  const flat = TRAIN.weight(FLAT);
  const weights = packFlat(model);
  feeds[flat] = tensor([weights.length], weights);
  for (const w of model.weightSpecs)
    if (!w.trainable)
      feeds[TRAIN.state(w.key)] = tensor([...w.shape], model.weights.get(w.key) as Float32Array);
  const lossAt = (f: Record<string, T>) => evaluate(ref, f, [TRAIN.loss])[0].data[0];

  for (const optimize of [true, false]) {
    const g = buildGradients(model, count, { passes: optimize ? trainingPasses() : NO_PASSES });
    const session = await createSession(toOnnx(g));
    const ortFeeds = Object.fromEntries(
      g.inputs.map((v) => [v.name, floatTensor(Float32Array.from(feeds[v.name].data), [...v.shape])]),
    );
    const out = await session.run(ortFeeds);
    expect((out[TRAIN.loss].data as Float32Array)[0]).toBeCloseTo(lossAt(feeds), 4);
    const grad = out[TRAIN.grad].data as Float32Array;
    for (const { key, offset, size } of flatLayout(model)) {
      const analytic = grad.subarray(offset, offset + size);
      const coords = Array.from({ length: Math.min(coordsPerWeight, analytic.length) }, () =>
        rng.int(analytic.length),
      );
      const scale = Math.max(...Array.from(analytic, Math.abs), 1e-3);
      for (const k of coords) {
        const eps = 1e-5;
        const plus = structuredClone(feeds);
        const minus = structuredClone(feeds);
        plus[flat].data[offset + k] += eps;
        minus[flat].data[offset + k] -= eps;
        const numeric = (lossAt(plus) - lossAt(minus)) / (2 * eps);
        expect(
          Math.abs(numeric - analytic[k]) / scale,
          `${optimize ? "optimised" : "plain"} ${key}[${k}]`,
        ).toBeLessThan(2e-3);
      }
    }
    await session.release();
  }
}

describe("whole models on real MNIST digits", () => {
  it("a small reference-shaped CNN (conv-pool-conv-pool-dense-dense)", async () => {
    await checkModel(smallReferenceCnn([4, 6], 12, 5), 3, 6);
  });
  it("same padding, strides, batch normalization and tanh", async () => {
    const model = sequential(
      [
        input([28, 28, 1]),
        conv2d({ filters: 3, kernelSize: 5, strides: 2, padding: "same", activation: "tanh" }),
        batchNormalization(),
        maxPooling2d(),
        flatten(),
        dense({ units: 8 }),
        batchNormalization(),
        dropout({ rate: 0 }),
        dense({ units: 10, activation: "softmax" }),
      ],
      { seed: 9 },
    );
    await checkModel(model, 4, 6);
  });
});
