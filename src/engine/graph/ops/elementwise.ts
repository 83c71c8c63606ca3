/** Element-wise ops: unary maths, broadcasting arithmetic, variadic Sum/Max, comparisons and logic. */
import type { GraphBuilder, Shape, Value } from "../ir.js";
import {
  attrInt,
  mask,
  NOT_DIFFERENTIABLE,
  same,
  sameShape,
  unaryGradient,
  type GradientRule,
  type Inferred,
  type OpDef,
  type ShapeContext,
} from "./types.js";

/** Numpy-style broadcasting; -1 (symbolic batch) broadcasts like any dimension other than 1. */
export function broadcast(a: Shape, b: Shape): Shape {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`cannot broadcast [${a}] with [${b}]`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Sums a broadcast gradient back down to the shape of the operand that was broadcast. */
export function reduceTo(g: GraphBuilder, grad: string, target: Shape): string {
  const shape = g.shape(grad);
  if (sameShape(shape, target)) return grad;
  const offset = shape.length - target.length;
  const axes: number[] = [];
  shape.forEach((d, i) => {
    const t = i < offset ? undefined : target[i - offset];
    if (t === undefined || (t === 1 && d !== 1)) axes.push(i);
  });
  const summed = axes.length ? g.op("ReduceSum", [grad, g.ints(axes, "axes")], { keepdims: 1 }) : grad;
  return sameShape(g.shape(summed), target)
    ? summed
    : g.op("Reshape", [summed, g.ints([...target], "shape")]);
}

const unaryShape = ({ x }: ShapeContext) => same(x);
const binaryShape = ({ x, need }: ShapeContext): Inferred => [
  { shape: broadcast(x.shape, need(1).shape), dtype: x.dtype },
];
const variadicShape = ({ ins, x }: ShapeContext): Inferred => [
  { shape: ins.reduce((s, v) => broadcast(s, (v as Value).shape), [] as Shape), dtype: x.dtype },
];
const comparisonShape = ({ x, need }: ShapeContext): Inferred => [
  { shape: broadcast(x.shape, need(1).shape), dtype: "bool" },
];

const unary = (gradient: OpDef["gradient"]): OpDef => ({ shape: unaryShape, gradient });
const comparison: OpDef = { shape: comparisonShape, gradient: NOT_DIFFERENTIABLE };

const add: GradientRule = ({ g, node, dy: d }) => {
  return node.inputs.map((i) => reduceTo(g, d, g.shape(i)));
};

/** Max of several inputs: the gradient goes to the first input holding the maximum, as TF and PyTorch do. */
const max: GradientRule = ({ g, node, dy: d }) => {
  const [a, b] = node.inputs;
  const like = (u: string, v: string) => sameShape(g.shape(u), g.shape(v));
  if (node.inputs.length === 2 && like(a, b) && like(a, node.outputs[0])) {
    // Two inputs: a wins where a ≥ b (ties included), b gets the rest — four kernels.
    const da = g.op("Mul", [d, mask(g, g.op("GreaterOrEqual", [a, b]))]);
    return [da, g.op("Sub", [d, da])];
  }
  const y = node.outputs[0];
  let taken: string | undefined;
  return node.inputs.map((input, k) => {
    const hit = g.op("Equal", [input, y]);
    const first = taken === undefined ? hit : g.op("And", [hit, g.op("Not", [taken])]);
    if (k < node.inputs.length - 1) taken = taken === undefined ? hit : g.op("Or", [taken, hit]);
    return reduceTo(g, g.op("Mul", [d, mask(g, first)]), g.shape(input));
  });
};

export const ELEMENTWISE_OPS: Record<string, OpDef> = {
  Identity: unary(unaryGradient((_g, d) => d)),
  // (Sign(y) is the same mask in one kernel, but onnxruntime's Sign is slower than Greater + Cast.)
  Relu: unary(unaryGradient((g, d, _x, y) => g.op("Mul", [d, mask(g, g.op("Greater", [y, g.scalar(0)]))]))),
  Neg: unary(unaryGradient((g, d) => g.op("Neg", [d]))),
  Sigmoid: unary(
    unaryGradient((g, d, _x, y) => g.op("Mul", [d, g.op("Mul", [y, g.op("Sub", [g.scalar(1), y])])])),
  ),
  Tanh: unary(
    unaryGradient((g, d, _x, y) => g.op("Mul", [d, g.op("Sub", [g.scalar(1), g.op("Mul", [y, y])])])),
  ),
  Exp: unary(unaryGradient((g, d, _x, y) => g.op("Mul", [d, y]))),
  Log: unary(unaryGradient((g, d, x) => g.op("Div", [d, x]))),
  Sqrt: unary(unaryGradient((g, d, _x, y) => g.op("Div", [g.op("Mul", [d, g.scalar(0.5)]), y]))),
  Reciprocal: unary(unaryGradient((g, d, _x, y) => g.op("Neg", [g.op("Mul", [d, g.op("Mul", [y, y])])]))),
  // The compiler casts only masks (bool → float), whose gradient is zero.
  Cast: {
    shape: ({ x, attrs }) => {
      const to = attrInt(attrs, "to", 1);
      return same(x, to === 1 ? "float32" : to === 7 ? "int64" : to === 9 ? "bool" : "float32");
    },
    gradient: NOT_DIFFERENTIABLE,
  },
  Add: { shape: binaryShape, gradient: add },
  Sum: { shape: variadicShape, gradient: add },
  Sub: {
    shape: binaryShape,
    gradient: ({ g, node, dy: d }) => {
      const [a, b] = node.inputs;
      return [reduceTo(g, d, g.shape(a)), reduceTo(g, g.op("Neg", [d]), g.shape(b))];
    },
  },
  Mul: {
    shape: binaryShape,
    gradient: ({ g, node, dy: d, wants }) => {
      const [a, b] = node.inputs;
      return [
        wants(0) ? reduceTo(g, g.op("Mul", [d, b]), g.shape(a)) : undefined,
        wants(1) ? reduceTo(g, g.op("Mul", [d, a]), g.shape(b)) : undefined,
      ];
    },
  },
  Div: {
    shape: binaryShape,
    gradient: ({ g, node, dy: d, wants }) => {
      const [a, b] = node.inputs;
      const y = node.outputs[0];
      return [
        wants(0) ? reduceTo(g, g.op("Div", [d, b]), g.shape(a)) : undefined,
        wants(1) ? reduceTo(g, g.op("Neg", [g.op("Div", [g.op("Mul", [d, y]), b])]), g.shape(b)) : undefined,
      ];
    },
  },
  Max: { shape: variadicShape, gradient: max },
  Equal: comparison,
  Greater: comparison,
  GreaterOrEqual: comparison,
  And: comparison,
  Or: comparison,
  Not: { shape: unaryShape, gradient: NOT_DIFFERENTIABLE },
};
