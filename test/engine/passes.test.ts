/** Rewrite passes must not change results: the reference CNN's loss and gradients with and without them. */
import { describe, expect, it } from "vitest";
import {
  buildGradientGraph,
  buildInferenceGraph,
  INPUT,
  OUTPUT,
  TRAIN,
  type TrainGraphOptions,
} from "../../src/engine/compiler/compile.js";
import { BACKWARD_PASSES, FORWARD_PASSES } from "../../src/engine/compiler/passes.js";
import { toOnnx } from "../../src/engine/compiler/serialize.js";
import { createSession, floatTensor, ort } from "../../src/engine/runtime/ort.js";
import { referenceCnn } from "../../bench/reference-model.js";
import { mnistSlice, oneHot } from "../helpers/mnist.js";
import { evaluate, tensor } from "./reference.js";

const batch = 16;

async function gradients(options: TrainGraphOptions): Promise<Record<string, ort.Tensor>> {
  const model = referenceCnn(11);
  const { x, labels } = await mnistSlice("t10k", 0, batch);
  const g = buildGradientGraph(model, batch, options);
  const session = await createSession(toOnnx(g));
  const feeds: Record<string, ort.Tensor> = {
    [TRAIN.x]: floatTensor(x, [batch, 28, 28, 1]),
    [TRAIN.y]: floatTensor(oneHot(labels), [batch, 10]),
  };
  for (const w of model.weightSpecs)
    feeds[TRAIN.weight(w.key)] = floatTensor(model.weights.get(w.key) as Float32Array, [...w.shape]);
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
    expect(names).toEqual(["phaseConvolutionPooling", "im2colWeightGradients"]);
  });

  it.each(names)("%s leaves loss and every gradient unchanged on real digits", async (name) => {
    const plain = await gradients({ optimize: false });
    const only = await gradients({ skipPasses: names.filter((n) => n !== name) });
    for (const key of Object.keys(plain)) expectClose(only[key], plain[key], `${name}: ${key}`);
  });

  it("all together leave loss and gradients unchanged", async () => {
    const plain = await gradients({ optimize: false });
    const all = await gradients({});
    for (const key of Object.keys(plain)) expectClose(all[key], plain[key], key);
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

describe("flat parameters", () => {
  it("train exactly as one tensor per weight does", async () => {
    const { TrainStep, TrainingState } = await import("../../src/engine/runtime/train-step.js");
    const { adam } = await import("../../src/engine/compiler/optimizers.js");
    const { x, labels } = await mnistSlice("train", 0, batch);
    const weightsAfter = async (flatParameters: boolean) => {
      const model = referenceCnn(5);
      const optimizer = adam();
      const step = await TrainStep.create(model, optimizer, batch, { flatParameters });
      const state = new TrainingState(model, optimizer, flatParameters);
      for (let i = 0; i < 3; i++) {
        await step.run(state, floatTensor(x, [batch, 28, 28, 1]), floatTensor(oneHot(labels), [batch, 10]));
      }
      await step.release();
      return state.weights(model);
    };
    const flat = await weightsAfter(true);
    const perTensor = await weightsAfter(false);
    expect([...flat.keys()]).toEqual([...perTensor.keys()]);
    for (const [key, w] of flat) {
      expectClose(
        floatTensor(w, [w.length]),
        floatTensor(perTensor.get(key) as Float32Array, [w.length]),
        key,
      );
    }
  });
});
