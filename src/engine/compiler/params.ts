/**
 * The names a training graph's values go by, and the flat parameter vector's layout: the one place that knows
 * "w:conv2d/kernel" is a trainable weight, "s:…" a batch-norm statistic, "m:…" an Adam moment, "next/…" a
 * step's updated value.
 */
import type { Shape } from "../graph/graph.js";
import type { Sequential } from "../model/sequential.js";
import { sizeOf } from "../graph/ir.js";

const WEIGHT = "w:";

/** Whether a graph input is a trainable weight (or the flat vector of them). */
export const isWeight = (name: string) => name.startsWith(WEIGHT);

/** The model key ("conv2d/kernel") of a weight input ("w:conv2d/kernel"). */
export function keyOf(param: string): string {
  if (!isWeight(param)) throw new Error(`"${param}" is not a weight input`);
  return param.slice(WEIGHT.length);
}

export const TRAIN = {
  x: "x",
  y: "y",
  loss: "loss",
  correct: "correct",
  /** The flat gradient of the batch's mean loss (a data-parallel replica's output). */
  grad: "grad",
  weight: (key: string) => `${WEIGHT}${key}`,
  state: (key: string) => `s:${key}`,
  /** An optimizer slot (e.g. Adam's "m") of the parameter input `param`. */
  slot: (slot: string, param: string) => `${slot}:${keyOf(param)}`,
  next: (name: string) => `next/${name}`,
} as const;

export interface FlatEntry {
  key: string;
  offset: number;
  size: number;
  shape: Shape;
}

function layout(model: Sequential, trainable: boolean): FlatEntry[] {
  let offset = 0;
  return model.weightSpecs
    .filter((w) => w.trainable === trainable)
    .map((w) => {
      const size = sizeOf(w.shape);
      const entry = { key: w.key, offset, size, shape: w.shape };
      offset += size;
      return entry;
    });
}

/** Where each trainable weight lives in the flat parameter vector. */
export const flatLayout = (model: Sequential): FlatEntry[] => layout(model, true);

/** Where each non-trainable weight (batch norm's moving statistics) lives when they are kept flat. */
export const stateLayout = (model: Sequential): FlatEntry[] => layout(model, false);

/** How many values the flat parameter vector holds. */
export function flatSize(model: Sequential): number {
  return flatLayout(model).reduce((n, l) => n + l.size, 0);
}

/** The model's trainable weights packed into one new flat vector. */
export function packFlat(model: Sequential): Float32Array {
  const all = new Float32Array(flatSize(model));
  for (const l of flatLayout(model)) all.set(model.weights.get(l.key) as Float32Array, l.offset);
  return all;
}

/** A flat vector's trainable weights by key, copied out. */
export function unpackFlat(model: Sequential, all: Float32Array): Map<string, Float32Array> {
  return new Map(flatLayout(model).map((l) => [l.key, all.slice(l.offset, l.offset + l.size)]));
}

/** The single input holding every trainable weight, when parameters are flat. */
export const FLAT = "*";
