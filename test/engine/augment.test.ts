/** Augmentation inside the training graph: what it does to pixels, that it is reproducible, and that it trains. */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  addAugmentation,
  adam,
  augmentFeeds,
  AUGMENT_INPUTS,
  fit,
  parseAugment,
  type AugmentOptions,
} from "../../src/engine/index.js";
import { Graph } from "../../src/engine/graph/graph.js";
import { toOnnx } from "../../src/engine/graph/serialize.js";
import { createSession, floatTensor } from "../../src/engine/runtime/ort.js";
import { mnistSlice, type Slice } from "../helpers/mnist.js";
import { smallReferenceCnn } from "../helpers/models.js";

/** Runs a standalone augmentation graph on n images, with explicit or drawn parameters. */
async function augmentBatch(
  options: AugmentOptions,
  x: Float32Array,
  n: number,
  params:
    | { seed: number; step: number; rowStart?: number }
    | Record<string, { data: Float32Array; shape: number[] }>,
): Promise<Float32Array> {
  const a = parseAugment(options);
  const g = new Graph();
  const input = g.input("x", [n, 28, 28, 1]);
  g.output(g.rename(addAugmentation(g, input, a), "y"));
  const feeds =
    "seed" in params
      ? augmentFeeds(
          a,
          params.seed as number,
          params.step as number,
          (params.rowStart as number) ?? 0,
          n,
          [28, 28],
        )
      : (params as Record<string, { data: Float32Array; shape: number[] }>);
  const session = await createSession(toOnnx(g), { threads: 1 });
  const out = await session.run({
    x: floatTensor(x, [n, 28, 28, 1]),
    ...Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, floatTensor(v.data, v.shape)])),
  });
  await session.release();
  return out.y.data as Float32Array;
}

const EVERYTHING: AugmentOptions = {
  rotation: 15,
  scale: 0.15,
  shear: 10,
  translate: 2,
  elastic: { alpha: 1.5, cells: 4 },
  thickness: 0.8,
};

let digits: Slice;
beforeAll(async () => {
  digits = await mnistSlice("train", 0, 8);
});

describe("augmentation moves pixels as its parameters say", () => {
  it("an identity map returns the batch unchanged, and a 1-pixel translation shifts it by one column", async () => {
    const identity = Float32Array.from({ length: 8 * 6 }, (_, i) => [1, 0, 0, 1, 0, 0][i % 6]);
    const same = await augmentBatch({ translate: 1 }, digits.x, 8, {
      [AUGMENT_INPUTS.affine]: { data: identity, shape: [8, 3, 2] },
    });
    expect(Math.max(...same.map((v, i) => Math.abs(v - digits.x[i])))).toBeLessThan(1e-5);
    // source = p − t with t = 1 pixel right: output(i, j) = input(i, j − 1).
    const shift = identity.map((v, i) => (i % 6 === 4 ? -1 / 14 : v));
    const moved = await augmentBatch({ translate: 1 }, digits.x, 8, {
      [AUGMENT_INPUTS.affine]: { data: shift, shape: [8, 3, 2] },
    });
    for (let k = 0; k < 8 * 784; k++) {
      const j = k % 28;
      expect(moved[k]).toBeCloseTo(j === 0 ? 0 : digits.x[k - 1], 5);
    }
  });

  it("thickness dilates or erodes the strokes", async () => {
    const ink = (x: Float32Array) => x.reduce((a, b) => a + b, 0);
    const factor = (v: number) => ({ data: new Float32Array(8).fill(v), shape: [8, 1, 1, 1] });
    const thicker = await augmentBatch({ thickness: 1 }, digits.x, 8, {
      [AUGMENT_INPUTS.thicker]: factor(1),
      [AUGMENT_INPUTS.thinner]: factor(0),
    });
    const thinner = await augmentBatch({ thickness: 1 }, digits.x, 8, {
      [AUGMENT_INPUTS.thicker]: factor(0),
      [AUGMENT_INPUTS.thinner]: factor(1),
    });
    expect(ink(thicker)).toBeGreaterThan(1.5 * ink(digits.x));
    expect(ink(thinner)).toBeLessThan(0.6 * ink(digits.x));
    expect(thicker.every((v, i) => v >= digits.x[i] - 1e-6)).toBe(true);
    expect(thinner.every((v, i) => v <= digits.x[i] + 1e-6)).toBe(true);
  });
});

describe("augmentation under random settings (fast-check)", () => {
  const settings = fc.record({
    rotation: fc.double({ min: 0, max: 30, noNaN: true }),
    scale: fc.double({ min: 0, max: 0.3, noNaN: true }),
    shear: fc.double({ min: 0, max: 20, noNaN: true }),
    translate: fc.double({ min: 0, max: 4, noNaN: true }),
    elastic: fc.record({
      alpha: fc.double({ min: 0.01, max: 3, noNaN: true }),
      cells: fc.integer({ min: 2, max: 7 }),
    }),
    thickness: fc.double({ min: 0, max: 1, noNaN: true }),
  });

  it("keeps pixels in 0–1, is the same for the same seed, step and row, and treats each image alone", async () => {
    await fc.assert(
      fc.asyncProperty(
        settings,
        fc.integer(),
        fc.integer({ min: 1, max: 10_000 }),
        async (options, seed, step) => {
          const a = await augmentBatch(options, digits.x, 8, { seed, step });
          expect(a.every((v) => Number.isFinite(v) && v >= -1e-6 && v <= 1 + 1e-6)).toBe(true);
          expect(Array.from(await augmentBatch(options, digits.x, 8, { seed, step }))).toEqual(Array.from(a));
          // Rows 4–7 alone, as a second replica would see them: the same pixels as rows 4–7 of the whole batch.
          const tail = await augmentBatch(options, digits.x.subarray(4 * 784), 4, {
            seed,
            step,
            rowStart: 4,
          });
          expect(Math.max(...tail.map((v, i) => Math.abs(v - a[4 * 784 + i])))).toBeLessThan(1e-6);
          const other = await augmentBatch(options, digits.x, 8, { seed, step: step + 1 });
          expect(Array.from(other)).not.toEqual(Array.from(a));
        },
      ),
      { numRuns: 25 },
    );
  });

  it("refuses unknown or out-of-range settings", () => {
    // @ts-expect-error a typo is an error
    expect(() => parseAugment({ rotate: 10 })).toThrow(/augment: .*Unrecognized key.*rotate/);
    expect(() => parseAugment({ scale: 1.5 })).toThrow(/augment: scale/);
  });
});

describe("training with augmentation", () => {
  it("learns, is reproducible from its seed, and gives the same steps with one or two replicas", async () => {
    const { x, labels } = await mnistSlice("train", 0, 1024);
    const train = async (replicas: number, epochs: number) => {
      const model = smallReferenceCnn([8, 8], 16, 5);
      const { history } = await fit(model, x, labels, {
        optimizer: adam({ learningRate: 1e-2 }),
        epochs,
        batchSize: 64,
        seed: 11,
        step: { augment: { ...EVERYTHING, thickness: 0.4 } },
        replicas,
        inProcess: true,
      }).done;
      return { history, weights: model.weights };
    };
    const one = await train(1, 3);
    const again = await train(1, 3);
    expect(one.history[2].loss).toBeLessThan(0.7 * one.history[0].loss);
    expect(again.history.map((h) => h.loss)).toEqual(one.history.map((h) => h.loss));
    // The same steps: each image gets the same augmentation however the batch is split. Compared after one
    // epoch (16 steps): one session and two replicas sum in different orders, and at this learning rate
    // Adam amplifies those last-bit differences (~1e-7 a step) to ~1e-2 by the third epoch.
    const [first, split] = [await train(1, 1), await train(2, 1)];
    for (const [key, w] of first.weights) {
      const v = split.weights.get(key) as Float32Array;
      const scale = Math.max(...w.map(Math.abs));
      expect(Math.max(...w.map((u, i) => Math.abs(u - v[i]))) / scale, key).toBeLessThan(1e-4);
    }
  });
});
