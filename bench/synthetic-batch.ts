/** What the training benchmarks feed the notebook's CNN. */

/** A batch of random images and one-hot labels: throughput does not depend on the pixels. */
export function syntheticBatch(batch: number): { x: Float32Array; y: Float32Array } {
  return {
    x: Float32Array.from({ length: batch * 784 }, () => Math.random()),
    y: Float32Array.from({ length: batch * 10 }, (_, i) => (i % 10 === 0 ? 1 : 0)),
  };
}
