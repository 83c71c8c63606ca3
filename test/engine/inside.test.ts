/**
 * Looking inside (buildInsideGraph): the probabilities equal the inference graph's, the feature maps are the
 * first convolution's ReLU output, and the saliency map is the gradient of the chosen class's logit with
 * respect to the pixels — checked against central finite differences on the shipped model.
 */
import { describe, expect, it } from "vitest";
import { buildInsideGraph, INSIDE, predict, toOnnx } from "../../src/engine/index.js";
import { createSession, floatTensor } from "../../src/engine/runtime/ort.js";
import { DEFAULT_MODEL_DIR } from "../../src/paths.js";
import { loadModel } from "../../src/saved/saved-model.js";
import { mnistSlice } from "../helpers/mnist.js";

describe("inside the model", () => {
  it("gives the probabilities, the first layer's maps, and a saliency map that is the logit's gradient", async () => {
    const { model } = loadModel(DEFAULT_MODEL_DIR);
    const session = await createSession(toOnnx(buildInsideGraph(model)));
    const { x, labels } = await mnistSlice("t10k", 0, 1);
    const target = new Float32Array(10);
    target[labels[0]] = 1;
    const run = (input: Float32Array) =>
      session.run({
        input: floatTensor(input, [1, 28, 28, 1]),
        [INSIDE.target]: floatTensor(target, [1, 10]),
      });
    const out = await run(x);
    expect(Array.from(out.output.data as Float32Array)).toEqual(
      Array.from(await predict(model, x)).map((p) => expect.closeTo(p, 6)),
    );
    expect(out[INSIDE.maps].dims).toEqual([1, 32, 26, 26]);
    const maps = out[INSIDE.maps].data as Float32Array;
    expect(Math.min(...maps)).toBe(0); // after the ReLU
    expect(Math.max(...maps)).toBeGreaterThan(0.1);
    const saliency = out[INSIDE.saliency].data as Float32Array;
    // The 8 inked pixels that matter most, each nudged ±ε: the score moves by the gradient's amount. (On the
    // blank background the first layer answers the same everywhere, so its values tie within a pooling
    // window, where max-pooling has no derivative and finite differences are one-sided: not checked there.)
    const top = [...saliency.keys()]
      .filter((i) => x[i] > 0.1)
      .sort((a, b) => Math.abs(saliency[b]) - Math.abs(saliency[a]))
      .slice(0, 8);
    const eps = 1e-3;
    for (const i of top) {
      const at = async (d: number) => {
        const moved = Float32Array.from(x);
        moved[i] += d;
        return ((await run(moved))[INSIDE.score].data as Float32Array)[0];
      };
      const numeric = ((await at(eps)) - (await at(-eps))) / (2 * eps);
      expect(Math.abs(numeric - saliency[i]), `pixel ${i} (${x[i]})`).toBeLessThan(
        0.05 * Math.abs(saliency[i]) + 1e-3,
      );
    }
    await session.release();
  });
});
