/**
 * The graph's vocabulary: values, nodes, shapes, and what building a graph offers (`GraphBuilder`). The op
 * records (ops/) and the builder (graph.ts) both speak it, so neither imports the other's file.
 */
export type DType = "float32" | "int64" | "bool";
export type Shape = readonly number[];
/** Integers are INT attributes; floats are spelled { float } so 1.0 cannot pass for an integer. */
export type AttrValue =
  number | string | readonly number[] | { float: number } | { floats: readonly number[] };

export interface Value {
  readonly name: string;
  readonly shape: Shape;
  readonly dtype: DType;
}

export interface Node {
  readonly op: string;
  readonly inputs: readonly string[]; // "" marks an omitted optional input
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
  readonly name: string;
  /** What a rewrite pass needs to recognise this node (not serialised). */
  meta?: Readonly<Record<string, unknown>>;
}

export interface Initializer {
  readonly value: Value;
  readonly data: Float32Array | BigInt64Array;
}

/** What op records use to add nodes while inferring shapes or writing gradients; `Graph` implements it. */
export interface GraphBuilder {
  readonly initializers: ReadonlyMap<string, Initializer>;
  /** Values whose contents are known while building (small int64 constants: shapes, axes, pads). */
  readonly knownInts: ReadonlyMap<string, readonly number[]>;
  shape(name: string): Shape;
  /** An int64 constant (shapes, axes, pads, indices), remembered for shape inference. */
  ints(values: readonly number[], hint?: string): string;
  /** A float32 scalar constant. */
  scalar(x: number, hint?: string): string;
  /** Adds a node and returns its output; its shape and dtype are inferred. */
  op(op: string, inputs: readonly string[], attrs?: Record<string, AttrValue>): string;
  /** Attaches pass metadata to the node producing `value`. */
  annotate(value: string, meta: Record<string, unknown>): void;
}

export function sizeOf(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}
