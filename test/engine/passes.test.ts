/** Compiler invariants: passes leave results unchanged; training and inference graphs differ as in Keras. */
import { describe, expect, it } from "vitest";
import { buildInferenceGraph, INPUT, OUTPUT } from "../../src/engine/compiler/compile.js";
import { buildGradients, buildTrainGraph } from "../../src/engine/compiler/train-graph.js";
import { FLAT, packFlat, TRAIN } from "../../src/engine/compiler/params.js";
import { adam } from "../../src/engine/compiler/optimizers.js";
import {
  BACKWARD_PASSES,
  channelsLastPooling,
  eliminateDeadNodes,
  FORWARD_PASSES,
  NO_PASSES,
  trainingPasses,
  type TrainingPasses,
} from "../../src/engine/compiler/passes.js";
import { differentiate } from "../../src/engine/compiler/autodiff.js";
import { Graph } from "../../src/engine/graph/graph.js";
import { windowMaxPool } from "../../src/engine/graph/lowering.js";
import { buildArchitecture } from "../../src/zoo/architectures.js";
import { toOnnx } from "../../src/engine/graph/serialize.js";
import type { Sequential } from "../../src/engine/model/sequential.js";
import { nchwcBlock, probeNchwcBlock } from "../../src/engine/runtime/nchwc.js";
import { createSession, floatTensor, ort } from "../../src/engine/runtime/ort.js";
import { referenceCnn } from "../helpers/models.js";
import { mnistSlice, oneHot } from "../helpers/mnist.js";
import { evaluate, tensor } from "./reference.js";

const batch = 16;

/** Every output of the gradient graph (loss, correct, the flat gradient, batch norm's statistics). */
async function gradients(
  passes: TrainingPasses,
  model: Sequential = referenceCnn(11),
): Promise<Record<string, ort.Tensor>> {
  const { x, labels } = await mnistSlice("t10k", 0, batch);
  const g = buildGradients(model, batch, { passes });
  if (passes.backward.some((p) => p.name === "nchwcConvolutions"))
    expect(g.nodes.some((n) => n.op === "nchwc.Conv")).toBe(true);
  const session = await createSession(toOnnx(g));
  const flat = packFlat(model);
  const feeds: Record<string, ort.Tensor> = {
    [TRAIN.x]: floatTensor(x, [batch, 28, 28, 1]),
    [TRAIN.y]: floatTensor(oneHot(labels), [batch, 10]),
    [TRAIN.weight(FLAT)]: floatTensor(flat, [flat.length]),
  };
  for (const w of model.weightSpecs)
    if (!w.trainable)
      feeds[TRAIN.state(w.key)] = floatTensor(model.weights.get(w.key) as Float32Array, [...w.shape]);
  const out = await session.run(feeds);
  await session.release();
  return out;
}

function expectClose(a: ort.Tensor, b: ort.Tensor, what: string) {
  const p = a.data as Float32Array;
  const q = b.data as Float32Array;
  let scale = 1e-6;
  let worst = 0;
  q.forEach((v, i) => {
    scale = Math.max(scale, Math.abs(v));
    worst = Math.max(worst, Math.abs(v - p[i]));
  });
  expect(worst / scale, what).toBeLessThan(1e-4);
}

describe("rewrite passes", () => {
  const names = [...FORWARD_PASSES, ...BACKWARD_PASSES].map((p) => p.name);

  it("are registered with names, so each can be measured and turned off", () => {
    expect(names).toEqual([
      "phaseConvolutionPooling",
      "cropBeforeConvolution",
      "sinkCrops",
      "channelsLastPooling",
      "im2colWeightGradients",
    ]);
  });

  it("channelsLastPooling sends each window's gradient to its first maximum in row-major order, as the window pooling does", async () => {
    // Values from {1, 2, 3}: most windows hold ties, in every arrangement (a window of zeros after a ReLU
    // would hide a wrong tie-break: no gradient flows there).
    const shape = [2, 3, 6, 8];
    const values = Array.from({ length: 288 }, (_, i) => 1 + ((Math.imul(i + 1, 2654435761) >>> 29) % 3));
    const weights = Array.from({ length: 72 }, (_, i) => 0.5 + i);
    const dx = async (pass: boolean) => {
      const g = new Graph();
      const x = g.input("x", shape);
      const pooled = windowMaxPool(g, x, 2);
      const loss = g.op(
        "ReduceSum",
        [g.op("Mul", [pooled, g.initializer("r", [2, 3, 3, 4], Float32Array.from(weights))])],
        {
          keepdims: 0,
        },
      );
      g.output(loss);
      if (pass) channelsLastPooling(g);
      const { grads } = differentiate(g, loss, [x]);
      g.output(grads[0]);
      eliminateDeadNodes(g);
      expect(g.nodes.some((n) => n.op === "SpaceToDepth")).toBe(!pass);
      const session = await createSession(toOnnx(g));
      const out = await session.run({ x: floatTensor(Float32Array.from(values), shape) });
      await session.release();
      return [...(out[grads[0]].data as Float32Array)];
    };
    const plain = await dx(false);
    expect(plain.filter((v) => v !== 0)).toHaveLength(72); // one winner per window
    expect(await dx(true)).toEqual(plain);
  });

  it("sinkCrops moves conv2's crop up into conv1's phase convolutions: 12×12 phases, no Pad in the backward", () => {
    const phases = (g: ReturnType<typeof buildGradients>) =>
      g.nodes
        .filter((n) => n.op === "Conv" && g.shape(n.inputs[0])[1] === 1)
        .map((n) => g.shape(n.outputs[0]));
    const pads = (g: ReturnType<typeof buildGradients>) => g.nodes.filter((n) => n.op === "Pad").length;
    const sunk = buildGradients(referenceCnn(1), batch);
    const kept = buildGradients(referenceCnn(1), batch, { passes: trainingPasses({ skip: ["sinkCrops"] }) });
    expect(phases(sunk)).toEqual(Array(4).fill([batch, 32, 12, 12]));
    expect(phases(kept)).toEqual(Array(4).fill([batch, 32, 13, 13]));
    expect(pads(kept) - pads(sunk)).toBe(1);
  });

  it.each(names)("%s leaves loss and every gradient unchanged on real digits", async (name) => {
    const plain = await gradients(NO_PASSES);
    const only = await gradients(trainingPasses({ skip: names.filter((n) => n !== name) }));
    for (const key of Object.keys(plain)) expectClose(only[key], plain[key], `${name}: ${key}`);
  });

  it.each(["reference", "batchnorm", "dropout"] as const)(
    "all together leave loss and gradients unchanged (%s)",
    async (arch) => {
      const plain = await gradients(NO_PASSES, buildArchitecture(arch, 11));
      const all = await gradients(trainingPasses(), buildArchitecture(arch, 11));
      for (const key of Object.keys(plain)) expectClose(all[key], plain[key], `${arch}: ${key}`);
    },
  );
});

describe("onnxruntime's blocked (NCHWc) convolutions", () => {
  it.each(["reference", "batchnorm", "dropout"] as const)(
    "leave loss and every gradient unchanged (%s)",
    async (arch) => {
      const block = await probeNchwcBlock();
      expect(block, "this machine's onnxruntime takes the blocked kernels").toBeDefined();
      const plain = await gradients(trainingPasses(), buildArchitecture(arch, 3));
      const blocked = await gradients(trainingPasses({ nchwcBlock: block }), buildArchitecture(arch, 3));
      for (const key of Object.keys(plain)) expectClose(blocked[key], plain[key], `${arch}: ${key}`);
    },
  );

  it("need the probe: the block size it did not choose gives wrong gradients", async () => {
    const block = await probeNchwcBlock();
    const other = block === 8 ? 16 : 8;
    const plain = await gradients(trainingPasses(), referenceCnn(3));
    const wrong = await gradients(trainingPasses({ nchwcBlock: other }), referenceCnn(3));
    const differs = (key: string) => {
      const [p, q] = [plain[key].data as Float32Array, wrong[key].data as Float32Array];
      return p.some((v, i) => Math.abs(v - q[i]) > 1e-3 * Math.max(1, Math.abs(v)));
    };
    expect(Object.keys(plain).some(differs), `block ${other} instead of ${block}`).toBe(true);
  });

  it("are used where the probe finds a block size, and the portable path when forced (DIGITS_NCHWC=off)", async () => {
    expect(await nchwcBlock()).toBe(await probeNchwcBlock());
    process.env.DIGITS_NCHWC = "off";
    try {
      expect(await nchwcBlock()).toBeUndefined();
    } finally {
      delete process.env.DIGITS_NCHWC;
    }
    const g = buildGradients(referenceCnn(1), batch);
    expect(g.nodes.some((n) => n.op.startsWith("nchwc."))).toBe(false);
  });

  it("write conv2's output channels-last for channelsLastPooling, with no Transpose of their own", async () => {
    const g = buildGradients(referenceCnn(1), batch, {
      passes: trainingPasses({ nchwcBlock: await probeNchwcBlock() }),
    });
    const reorders = g.nodes.filter((n) => n.op === "nchwc.ReorderOutput");
    expect(reorders.map((n) => [n.attrs.channels_last, g.shape(n.outputs[0])])).toEqual([
      [1, [batch, 10, 10, 64]],
    ]);
    const toLast = g.nodes.filter((n) => n.op === "Transpose" && String(n.attrs.perm) === "0,2,3,1");
    expect(toLast.map((n) => String(g.shape(n.inputs[0])))).not.toContain(String([batch, 64, 10, 10]));
  });
});

describe("inference graph", () => {
  it("matches the float64 reference forward pass and gives probabilities", async () => {
    const model = referenceCnn(4);
    const { x } = await mnistSlice("t10k", 0, 4);
    const g = buildInferenceGraph(model);
    const session = await createSession(toOnnx(g));
    const out = (await session.run({ [INPUT]: floatTensor(x, [4, 28, 28, 1]) }))[OUTPUT].data as Float32Array;
    const ref = evaluate(g, { [INPUT]: tensor([4, 28, 28, 1], x) }, [OUTPUT])[0].data;
    for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(ref[i], 5);
    for (let r = 0; r < 4; r++)
      expect(out.slice(r * 10, r * 10 + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });
});

describe("training and inference differ as in Keras", () => {
  it("dropout is the identity and batch norm uses its moving statistics at inference", async () => {
    const model = buildArchitecture("batchnorm", 3);
    // non-trivial moving statistics, so using batch statistics instead would show
    for (const w of model.weightSpecs) {
      if (w.name === "moving_mean") (model.weights.get(w.key) as Float32Array).fill(0.3);
      if (w.name === "moving_variance") (model.weights.get(w.key) as Float32Array).fill(2);
    }
    const g = buildInferenceGraph(model);
    expect(g.nodes.map((n) => n.op)).not.toContain("Dropout");
    expect(g.nodes.filter((n) => n.op === "BatchNormalization")).toHaveLength(3);
    const { x } = await mnistSlice("t10k", 0, 3);
    const session = await createSession(toOnnx(g));
    const out = (await session.run({ [INPUT]: floatTensor(x, [3, 28, 28, 1]) }))[OUTPUT].data as Float32Array;
    const ref = evaluate(g, { [INPUT]: tensor([3, 28, 28, 1], x) }, [OUTPUT])[0].data;
    for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(ref[i], 5);
    // the same input twice gives the same answer: nothing random at inference
    const again = (await session.run({ [INPUT]: floatTensor(x, [3, 28, 28, 1]) }))[OUTPUT]
      .data as Float32Array;
    expect(Array.from(again)).toEqual(Array.from(out));

    const dropoutModel = buildArchitecture("dropout", 3);
    expect(buildInferenceGraph(dropoutModel).nodes.map((n) => n.op)).not.toContain("Dropout");
    const { graph } = buildTrainGraph(dropoutModel, adam(), 8);
    expect(graph.nodes.filter((n) => n.op === "Dropout")).toHaveLength(3);
  });
});
