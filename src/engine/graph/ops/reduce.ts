/** Reductions over axes (sum, mean, max) and ArgMax. */
import { sizeOf, type GraphBuilder, type Node, type Shape } from "../ir.js";
import {
  attrInt,
  attrInts,
  mask,
  NOT_DIFFERENTIABLE,
  normAxis,
  type OpDef,
  type ShapeContext,
} from "./types.js";

function reducedShape(shape: Shape, axes: readonly number[] | undefined, keepdims: boolean): Shape {
  const all = axes === undefined || axes.length === 0;
  const set = new Set((axes ?? []).map((a) => normAxis(a, shape.length)));
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (all || set.has(i)) {
      if (keepdims) out.push(1);
    } else out.push(d);
  });
  return out;
}

/** A reduction's output gradient with the reduced axes kept (as size 1), so it broadcasts over its input. */
function keptDims(g: GraphBuilder, node: Node, d: string, axes: readonly number[] | undefined): string {
  const x = g.shape(node.inputs[0]);
  if (attrInt(node.attrs, "keepdims", 1) === 1) return d;
  const all = axes === undefined || axes.length === 0;
  const norm = new Set((axes ?? []).map((a) => (a < 0 ? a + x.length : a)));
  return g.op("Reshape", [
    d,
    g.ints(
      x.map((n, i) => (all || norm.has(i) ? 1 : n)),
      "shape",
    ),
  ]);
}

/** The gradient of a reduction, reshaped to keepdims form and broadcast back over the reduced axes. */
function expandBack(g: GraphBuilder, node: Node, d: string, axes: readonly number[] | undefined): string {
  return g.op("Expand", [keptDims(g, node, d, axes), g.ints([...g.shape(node.inputs[0])], "shape")]);
}

function reducedCount(x: Shape, axes: readonly number[] | undefined): number {
  if (axes === undefined || axes.length === 0) return sizeOf(x);
  return axes.reduce((p, a) => p * x[a < 0 ? a + x.length : a], 1);
}

/** Opset 13+ attribute-axes reductions (ReduceMean, ReduceMax); ReduceSum takes its axes as an input. */
const attrAxesShape = ({ x, attrs }: ShapeContext) => [
  {
    shape: reducedShape(x.shape, attrInts(attrs, "axes", []), attrInt(attrs, "keepdims", 1) === 1),
    dtype: x.dtype,
  },
];

export const REDUCE_OPS: Record<string, OpDef> = {
  ReduceSum: {
    shape: ({ x, node, attrs, constInput }) => {
      const axes = node.inputs[1] ? constInput(1) : undefined;
      return [{ shape: reducedShape(x.shape, axes, attrInt(attrs, "keepdims", 1) === 1), dtype: x.dtype }];
    },
    gradient: ({ g, node, dy: d }) => {
      const axes = node.inputs[1] ? g.knownInts.get(node.inputs[1]) : undefined;
      return [expandBack(g, node, d, axes)];
    },
  },
  ReduceMean: {
    shape: attrAxesShape,
    gradient: ({ g, node, dy: d }) => {
      const axes = attrInts(node.attrs, "axes", []);
      const n = reducedCount(g.shape(node.inputs[0]), axes);
      return [expandBack(g, node, g.op("Div", [d, g.scalar(n)]), axes)];
    },
  },
  /** Over one axis: the gradient goes to the first maximal element (ArgMax picks the first). */
  ReduceMax: {
    shape: attrAxesShape,
    gradient: ({ g, node, dy: d }) => {
      const x = node.inputs[0];
      const xs = g.shape(x);
      const axes = attrInts(node.attrs, "axes", []);
      if (axes.length !== 1) throw new Error("ReduceMax gradient: exactly one axis is supported");
      const axis = axes[0] < 0 ? axes[0] + xs.length : axes[0];
      const arg = g.op("ArgMax", [x], { axis, keepdims: 1, select_last_index: 0 });
      const positions = Array.from({ length: xs[axis] }, (_, i) => i);
      const rangeShape = xs.map((_, i) => (i === axis ? xs[axis] : 1));
      const range = g.op("Reshape", [g.ints(positions, "range"), g.ints(rangeShape, "shape")]);
      const winner = mask(g, g.op("Equal", [arg, range]));
      // The reduced gradient broadcast over the reduced axis by Mul itself (no Expand).
      return [g.op("Mul", [winner, keptDims(g, node, d, axes)])];
    },
  },
  ArgMax: {
    shape: ({ x, attrs }) => [
      {
        shape: reducedShape(x.shape, [attrInt(attrs, "axis", 0)], attrInt(attrs, "keepdims", 1) === 1),
        dtype: "int64",
      },
    ],
    gradient: NOT_DIFFERENTIABLE,
  },
};
