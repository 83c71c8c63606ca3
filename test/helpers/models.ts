/** Small models shaped like the notebook's CNN (conv-pool-conv-pool-dense-dense), quick enough for tests. */
import {
  conv2d,
  dense,
  flatten,
  input,
  maxPooling2d,
  sequential,
  type Sequential,
} from "../../src/engine/index.js";

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
