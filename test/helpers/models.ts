/** Small models shaped like the notebook's CNN (conv-pool-conv-pool-dense-dense), quick enough for tests. */
import {
  conv2d,
  dense,
  flatten,
  input,
  maxPooling2d,
  score,
  sequential,
  type Sequential,
} from "../../src/engine/index.js";
import { DEFAULT_MODEL_DIR } from "../../src/paths.js";
import { buildArchitecture } from "../../src/zoo/architectures.js";
import { loadModel } from "../../src/saved/saved-model.js";

/** The notebook's CNN, full size. */
export const referenceCnn = (seed = 1): Sequential => buildArchitecture("reference", seed);

export function smallReferenceCnn(filters: [number, number], units: number, seed: number): Sequential {
  return sequential(
    [
      input([28, 28, 1]),
      conv2d({ filters: filters[0], kernelSize: 3, activation: "relu" }),
      maxPooling2d(),
      conv2d({ filters: filters[1], kernelSize: 3, activation: "relu" }),
      maxPooling2d(),
      flatten(),
      dense({ units, activation: "relu" }),
      dense({ units: 10, activation: "softmax" }),
    ],
    { seed },
  );
}

/** The shipped model's accuracy on `x` (a predictor opened and released). */
export async function shippedAccuracy(x: Float32Array, labels: Uint8Array): Promise<number> {
  const predictor = await loadModel(DEFAULT_MODEL_DIR).predictor();
  try {
    return score(await predictor.predict(x), labels, 10).accuracy;
  } finally {
    await predictor.release();
  }
}
