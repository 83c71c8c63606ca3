/** Lowerings shared by layers and rewrite passes. */
import type { Graph } from "./graph.js";

/**
 * Non-overlapping p×p max-pooling for training: the pool windows become a new axis, so the backward can
 * route each gradient to exactly one maximum (ties are common on MNIST's flat background) with standard ops.
 * Rows and columns that fill no whole window are dropped, as Keras's "valid" pooling does.
 */
export function windowMaxPool(g: Graph, x: string, p: number): string {
  const v = wholeWindows(g, x, p);
  const [n, c, h, w] = g.shape(v);
  const [oh, ow] = [h / p, w / p];
  const windows = g.op("SpaceToDepth", [v], { blocksize: p });
  const split = g.op("Reshape", [windows, g.ints([n, p * p, c, oh, ow], "shape")]);
  const pooled = g.op("ReduceMax", [split], { axes: [1], keepdims: 0 });
  g.annotate(pooled, { kind: "max-pool", input: x, pool: p });
  return pooled;
}

/** The rows and columns of an NCHW value that fill whole p×p windows (all of it, when p divides its size). */
export function wholeWindows(g: Graph, x: string, p: number): string {
  const [, , h, w] = g.shape(x);
  const [oh, ow] = [Math.floor(h / p), Math.floor(w / p)];
  return oh * p !== h || ow * p !== w
    ? g.op("Slice", [x, g.ints([0, 0]), g.ints([oh * p, ow * p]), g.ints([2, 3])])
    : x;
}
