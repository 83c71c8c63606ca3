/**
 * What the graph knows of an ONNX op: one record per op holding its static shape rule and its gradient rule
 * together (as micrograd and tinygrad keep an op's forward and backward side by side). The records live by
 * family in this folder; index.ts gathers them. An op with no record is an op the compiler never emits.
 */
import type { DType, GraphBuilder, Node, Shape, Value } from "../ir.js";

export interface Inferred extends Array<{ shape: Shape; dtype: DType }> {
  /** Contents of the (single, int64) output when they are known while building (e.g. a Shape's). */
  known?: readonly number[];
}

export interface ShapeContext {
  readonly node: Node;
  readonly attrs: Node["attrs"];
  /** Each input's value (undefined for an omitted optional input). */
  readonly ins: readonly (Value | undefined)[];
  /** The first input. */
  readonly x: Value;
  need(i: number): Value;
  /** The contents of input i, which must be a constant known while building (shapes, axes, pads). */
  constInput(i: number): readonly number[];
}

export interface GradientContext {
  g: GraphBuilder;
  node: Node;
  /**
   * The gradient flowing into the first output. Autodiff calls a rule only when there is one (an op whose
   * rule reads every output's gradient says `everyOutput`, and reads `dys`).
   */
  dy: string;
  /** The gradient flowing into each output, undefined where none does. */
  dys: readonly (string | undefined)[];
  /** Whether input i needs a gradient (it depends on something being differentiated). */
  wants(i: number): boolean;
}

/** A vector-Jacobian product: the gradients of a node's inputs (undefined where none is needed). */
export type GradientRule = (ctx: GradientContext) => (string | undefined)[];

/** Outputs that are piecewise constant in the inputs (comparisons, argmax, masks): no gradient flows. */
export const NOT_DIFFERENTIABLE = "not differentiable";

export interface OpDef {
  shape(c: ShapeContext): Inferred;
  /**
   * The op's gradient rule; NOT_DIFFERENTIABLE; or null when the compiler emits the op only where nothing is
   * differentiated (inference graphs, and the backward part of training graphs).
   */
  gradient: GradientRule | typeof NOT_DIFFERENTIABLE | null;
  /** The rule handles a gradient into any of the outputs (otherwise only into the first). */
  everyOutput?: boolean;
}

export const attrInts = (attrs: Node["attrs"], key: string, fallback: readonly number[]): readonly number[] =>
  (attrs[key] as readonly number[] | undefined) ?? fallback;
export const attrInt = (attrs: Node["attrs"], key: string, fallback: number): number =>
  (attrs[key] as number | undefined) ?? fallback;

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

export const same = (v: Value, dtype: DType = v.dtype): Inferred => [{ shape: v.shape, dtype }];

/** The float mask (1 where true) of a boolean value. */
export const mask = (g: GraphBuilder, condition: string): string => g.op("Cast", [condition], { to: 1 });

/** A rule for a one-input op from the gradient of its output: fn(g, dy, x, y). */
export function unaryGradient(
  fn: (g: GraphBuilder, dy: string, x: string, y: string) => string,
): GradientRule {
  return ({ g, node, dy }) => [fn(g, dy, node.inputs[0], node.outputs[0])];
}
