/** The notebook's CNN, shared by the benchmarks. */
import type { Sequential } from "../src/engine/index.js";
import { floatTensor, type ort } from "../src/engine/runtime/ort.js";
import { buildArchitecture } from "../src/zoo/architectures.js";

export function referenceCnn(seed = 1): Sequential {
  return buildArchitecture("reference", seed);
}

/** A batch of random images and one-hot labels: throughput does not depend on the pixels. */
export function syntheticBatch(batch: number): { x: ort.Tensor; y: ort.Tensor } {
  return {
    x: floatTensor(
      Float32Array.from({ length: batch * 784 }, () => Math.random()),
      [batch, 28, 28, 1],
    ),
    y: floatTensor(
      Float32Array.from({ length: batch * 10 }, (_, i) => (i % 10 === 0 ? 1 : 0)),
      [batch, 10],
    ),
  };
}
