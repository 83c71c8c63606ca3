/** The notebook's CNN, shared by the benchmarks. */
import { conv2d, dense, flatten, maxPooling2d } from "../src/engine/model/layers.js";
import { input, sequential, type Sequential } from "../src/engine/model/sequential.js";

export function referenceCnn(seed = 1): Sequential {
  return sequential(
    [
      input([28, 28, 1]),
      conv2d({ filters: 32, kernelSize: 3, activation: "relu" }),
      maxPooling2d({ poolSize: 2 }),
      conv2d({ filters: 64, kernelSize: 3, activation: "relu" }),
      maxPooling2d({ poolSize: 2 }),
      flatten(),
      dense({ units: 128, activation: "relu" }),
      dense({ units: 10, activation: "softmax" }),
    ],
    { seed },
  );
}
