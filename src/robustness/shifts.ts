/**
 * Controlled shifts of MNIST test digits: the ways a person's digit can differ from MNIST's, one at a time.
 * Geometry and pen go through the training graph's own augmentation with fixed parameters; placement and
 * paper go through the preprocessing a picture goes through in the CLI, the server and the page.
 */
import { AUGMENT_INPUTS, addAugmentation, parseAugment, toOnnx } from "../engine/index.js";
import { affineFor } from "../engine/compiler/augment.js";
import { Graph } from "../engine/graph/graph.js";
import { createSession, floatTensor } from "../engine/runtime/ort.js";
import { Random } from "../util/random.js";
import { NoInkError, preprocess, rgbaLight, SIZE } from "../vision/preprocess.js";

const PIXELS = SIZE * SIZE;

export interface Shift {
  name: string;
  description: string;
  /** [count, 28, 28, 1] in 0–1 → the same digits shifted. */
  apply(x: Float32Array, count: number): Promise<Float32Array>;
}

/** Runs every image through the augmentation graph with one fixed setting (a shift, a simulated writer). */
export async function transformDigits(
  x: Float32Array,
  count: number,
  setting: { affine?: Parameters<typeof affineFor>[0]; thicker?: number; thinner?: number },
): Promise<Float32Array> {
  const a = parseAugment({ rotation: setting.affine ? 1 : 0, thickness: setting.affine ? 0 : 1 });
  const g = new Graph();
  g.output(g.rename(addAugmentation(g, g.input("x", [count, SIZE, SIZE, 1]), a), "y"));
  const session = await createSession(toOnnx(g));
  const feeds: Record<string, ReturnType<typeof floatTensor>> = setting.affine
    ? {
        [AUGMENT_INPUTS.affine]: floatTensor(
          Float32Array.from({ length: count * 6 }, (_, i) => affineFor(setting.affine!, [SIZE, SIZE])[i % 6]),
          [count, 3, 2],
        ),
      }
    : {
        [AUGMENT_INPUTS.thicker]: floatTensor(new Float32Array(count).fill(setting.thicker ?? 0), [
          count,
          1,
          1,
          1,
        ]),
        [AUGMENT_INPUTS.thinner]: floatTensor(new Float32Array(count).fill(setting.thinner ?? 0), [
          count,
          1,
          1,
          1,
        ]),
      };
  try {
    const out = await session.run({ x: floatTensor(x, [count, SIZE, SIZE, 1]), ...feeds });
    return out.y.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** A 3×3 binomial blur ([1 2 1]/4 each way), as an out-of-focus photo. */
function blurred(x: Float32Array, count: number): Float32Array {
  const out = new Float32Array(x.length);
  const k = [0.25, 0.5, 0.25];
  for (let n = 0; n < count; n++) {
    const o = n * PIXELS;
    for (let i = 0; i < SIZE; i++)
      for (let j = 0; j < SIZE; j++) {
        let v = 0;
        for (let di = -1; di <= 1; di++)
          for (let dj = -1; dj <= 1; dj++) {
            const [a, b] = [i + di, j + dj];
            if (a >= 0 && a < SIZE && b >= 0 && b < SIZE) v += k[di + 1] * k[dj + 1] * x[o + a * SIZE + b];
          }
        out[o + i * SIZE + j] = v;
      }
  }
  return out;
}

/**
 * Each digit as a person hands it over — `scale`× larger, dark ink on paper, at a random place on a canvas
 * `canvas` times its size, with paper noise — then through MNIST's preprocessing.
 */
function throughPreprocessing(
  x: Float32Array,
  count: number,
  o: { scale: number; canvas: number; paper: number; noise: number; seed: number },
): Float32Array {
  const side = SIZE * o.scale;
  const big = side * o.canvas;
  const rng = new Random(o.seed);
  const out = new Float32Array(x.length);
  const rgba = new Uint8ClampedArray(big * big * 4);
  const misses: number[] = [];
  for (let n = 0; n < count; n++) {
    const [ox, oy] = [rng.int(big - side + 1), rng.int(big - side + 1)];
    const paper = () => o.paper + o.noise * (2 * rng.next() - 1);
    for (let i = 0; i < big * big; i++) {
      const v = Math.round(255 * Math.min(1, Math.max(0, o.noise ? paper() : o.paper)));
      rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = v;
      rgba[4 * i + 3] = 255;
    }
    // The digit's own box only: ink darkens the paper under it.
    for (let y = oy; y < oy + side; y++)
      for (let xx = ox; xx < ox + side; xx++) {
        const ink = x[n * PIXELS + Math.floor((y - oy) / o.scale) * SIZE + Math.floor((xx - ox) / o.scale)];
        const k = 4 * (y * big + xx);
        const v = Math.round(rgba[k] * (1 - ink));
        rgba[k] = rgba[k + 1] = rgba[k + 2] = v;
      }
    try {
      out.set(preprocess(rgbaLight(rgba, big, big)).input, n * PIXELS);
    } catch (e) {
      // A digit the preprocessing cannot find stays blank: it counts as a mistake, as it would for a user.
      if (!(e instanceof NoInkError)) throw e;
      misses.push(n);
    }
  }
  if (misses.length)
    console.error(`no ink found in ${misses.length} digit(s): ${misses.slice(0, 10).join(", ")}`);
  return out;
}

const geometry = (name: string, description: string, affine: Parameters<typeof affineFor>[0]): Shift => ({
  name,
  description,
  apply: (x, count) => transformDigits(x, count, { affine }),
});

export const SHIFTS: readonly Shift[] = [
  { name: "none", description: "the MNIST test digits as they are", apply: async (x) => x },
  geometry("rotate −20°", "turned 20° anticlockwise", { rotation: -20 }),
  geometry("rotate −10°", "turned 10° anticlockwise", { rotation: -10 }),
  geometry("rotate +10°", "turned 10° clockwise", { rotation: 10 }),
  geometry("rotate +20°", "turned 20° clockwise", { rotation: 20 }),
  geometry("slant 15°", "sheared 15°, as a slanted hand", { shear: 15 }),
  geometry("small", "drawn at 0.7× the size, in the same box", { scale: 0.7 }),
  geometry("large", "drawn at 1.25× the size, in the same box", { scale: 1.25 }),
  {
    name: "thinner",
    description: "a thinner pen: half a 3×3 erosion",
    apply: (x, count) => transformDigits(x, count, { thinner: 0.5 }),
  },
  {
    name: "thicker",
    description: "a thicker pen: a 3×3 dilation",
    apply: (x, count) => transformDigits(x, count, { thicker: 1 }),
  },
  {
    name: "blur",
    description: "out of focus: a 3×3 binomial blur",
    apply: async (x, count) => blurred(x, count),
  },
  {
    name: "off-centre",
    description: "4× larger, dark on white, anywhere on a canvas 3× its size, then preprocessed",
    apply: async (x, count) =>
      throughPreprocessing(x, count, { scale: 4, canvas: 3, paper: 1, noise: 0, seed: 1 }),
  },
  {
    name: "grey noisy paper",
    description: "2× larger, dark on grey paper with ±15% noise, then preprocessed",
    apply: async (x, count) =>
      throughPreprocessing(x, count, { scale: 2, canvas: 1.5, paper: 0.8, noise: 0.15, seed: 2 }),
  },
];
