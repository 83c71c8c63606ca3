/**
 * Vector-Jacobian rules, one per ONNX op. A rule receives the gradients of a node's outputs and returns the
 * gradients of its inputs (undefined where an input is not differentiable or not wanted). Rules use only
 * standard ops and static shapes; each is checked against finite differences in test/engine/gradients.test.ts.
 */
import type { Graph, Node, Shape } from "./graph.js";
import { sizeOf } from "./graph.js";

export interface RuleContext {
  g: Graph;
  node: Node;
  dy(i?: number): string | undefined;
  wants(i: number): boolean;
}

export type GradRule = (ctx: RuleContext) => (string | undefined)[];

const FLOAT = 1;

function attrInts(node: Node, key: string, fallback: readonly number[]): readonly number[] {
  return (node.attrs[key] as readonly number[] | undefined) ?? fallback;
}

function attrInt(node: Node, key: string, fallback: number): number {
  return (node.attrs[key] as number | undefined) ?? fallback;
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Sums a broadcast gradient back down to the shape of the operand that was broadcast. */
export function reduceTo(g: Graph, grad: string, target: Shape): string {
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

function reshapeLike(g: Graph, grad: string, like: string): string {
  return g.op("Reshape", [grad, g.ints([...g.shape(like)], "shape")]);
}

/** The float mask (1 where true) of a boolean value. */
function mask(g: Graph, condition: string): string {
  return g.op("Cast", [condition], { to: FLOAT });
}

function unary(fn: (g: Graph, dy: string, x: string, y: string) => string): GradRule {
  return ({ g, node, dy }) => {
    const d = dy();
    return [d === undefined ? undefined : fn(g, d, node.inputs[0], node.outputs[0])];
  };
}

/** The gradient of a reduction with keepdims semantics, broadcast back over the reduced axes. */
function expandBack(g: Graph, node: Node, d: string, axes: readonly number[] | undefined): string {
  const x = g.shape(node.inputs[0]);
  const keep = attrInt(node, "keepdims", 1) === 1;
  const all = axes === undefined || axes.length === 0;
  const norm = new Set((axes ?? []).map((a) => (a < 0 ? a + x.length : a)));
  const kept = x.map((n, i) => (all || norm.has(i) ? 1 : n));
  const dk = keep ? d : g.op("Reshape", [d, g.ints(kept, "shape")]);
  return g.op("Expand", [dk, g.ints([...x], "shape")]);
}

function reducedCount(x: Shape, axes: readonly number[] | undefined): number {
  if (axes === undefined || axes.length === 0) return sizeOf(x);
  return axes.reduce((p, a) => p * x[a < 0 ? a + x.length : a], 1);
}

const conv: GradRule = ({ g, node, dy, wants }) => {
  const d = dy();
  if (d === undefined) return [];
  const [x, w] = node.inputs;
  const xs = g.shape(x);
  const ws = g.shape(w);
  if (attrInt(node, "group", 1) !== 1)
    throw new Error("Conv gradient: grouped convolutions are not supported");
  if (attrInts(node, "dilations", [1, 1]).some((v) => v !== 1)) {
    throw new Error("Conv gradient: dilated convolutions are not supported");
  }
  const strides = attrInts(node, "strides", [1, 1]);
  const pads = attrInts(node, "pads", [0, 0, 0, 0]);
  // Rows/cols of the padded input that no output position reads (stride does not divide evenly).
  const rem = [0, 1].map((i) => (xs[2 + i] + pads[i] + pads[i + 2] - ws[2 + i]) % strides[i]);

  let dx: string | undefined;
  if (wants(0)) {
    const endPads = [0, 1].map((i) => Math.max(pads[i + 2] - rem[i], 0));
    const extra = [0, 1].map((i) => Math.max(rem[i] - pads[i + 2], 0));
    dx = g.op("ConvTranspose", [d, w], {
      strides: [...strides],
      pads: [pads[0], pads[1], endPads[0], endPads[1]],
      kernel_shape: [ws[2], ws[3]],
    });
    g.annotate(dx, { kind: "conv-data-grad" });
    if (extra.some((e) => e > 0))
      dx = g.op("Pad", [dx, g.ints([0, 0, 0, 0, 0, 0, extra[0], extra[1]], "pads")]);
  }

  let dw: string | undefined;
  if (wants(1)) {
    // dW[o,c] = Σ_n X[n,c] ⋆ dY[n,o]: a convolution over the batch with batch and channels swapped.
    const xt = g.op("Transpose", [x], { perm: [1, 0, 2, 3] });
    const dyt = g.op("Transpose", [d], { perm: [1, 0, 2, 3] });
    let k = g.op("Conv", [xt, dyt], { pads: [...pads], dilations: [...strides], strides: [1, 1] });
    const ks = g.shape(k);
    if (ks[2] !== ws[2] || ks[3] !== ws[3]) {
      k = g.op("Slice", [k, g.ints([0, 0]), g.ints([ws[2], ws[3]]), g.ints([2, 3])]);
    }
    dw = g.op("Transpose", [k], { perm: [1, 0, 2, 3] });
    g.annotate(dw, { kind: "conv-weight-grad", x, dyTransposed: dyt, strides, pads });
  }

  const db =
    node.inputs[2] && wants(2)
      ? g.op("ReduceSum", [d, g.ints([0, 2, 3], "axes")], { keepdims: 0 })
      : undefined;
  return [dx, dw, db];
};

const gemm: GradRule = ({ g, node, dy, wants }) => {
  const d = dy();
  if (d === undefined) return [];
  if (attrInt(node, "transA", 0) !== 0) throw new Error("Gemm gradient: transA=1 is not supported");
  if (node.attrs.alpha !== undefined || node.attrs.beta !== undefined) {
    throw new Error("Gemm gradient: alpha/beta are not supported");
  }
  const [a, b, c] = node.inputs;
  const transB = attrInt(node, "transB", 0) === 1;
  const da = wants(0) ? g.op("Gemm", [d, b], { transB: transB ? 0 : 1 }) : undefined;
  const db = wants(1)
    ? transB
      ? g.op("Gemm", [d, a], { transA: 1 })
      : g.op("Gemm", [a, d], { transA: 1 })
    : undefined;
  const dc = c && wants(2) ? reduceTo(g, d, g.shape(c)) : undefined;
  return [da, db, dc];
};

const matmul: GradRule = ({ g, node, dy, wants }) => {
  const d = dy();
  if (d === undefined) return [];
  const [a, b] = node.inputs;
  return [
    wants(0) ? g.op("Gemm", [d, b], { transB: 1 }) : undefined,
    wants(1) ? g.op("Gemm", [a, d], { transA: 1 }) : undefined,
  ];
};

const add: GradRule = ({ g, node, dy }) => {
  const d = dy();
  if (d === undefined) return [];
  return node.inputs.map((i) => reduceTo(g, d, g.shape(i)));
};

const sub: GradRule = ({ g, node, dy }) => {
  const d = dy();
  if (d === undefined) return [];
  const [a, b] = node.inputs;
  return [reduceTo(g, d, g.shape(a)), reduceTo(g, g.op("Neg", [d]), g.shape(b))];
};

const mul: GradRule = ({ g, node, dy, wants }) => {
  const d = dy();
  if (d === undefined) return [];
  const [a, b] = node.inputs;
  return [
    wants(0) ? reduceTo(g, g.op("Mul", [d, b]), g.shape(a)) : undefined,
    wants(1) ? reduceTo(g, g.op("Mul", [d, a]), g.shape(b)) : undefined,
  ];
};

const div: GradRule = ({ g, node, dy, wants }) => {
  const d = dy();
  if (d === undefined) return [];
  const [a, b] = node.inputs;
  const y = node.outputs[0];
  return [
    wants(0) ? reduceTo(g, g.op("Div", [d, b]), g.shape(a)) : undefined,
    wants(1) ? reduceTo(g, g.op("Neg", [g.op("Div", [g.op("Mul", [d, y]), b])]), g.shape(b)) : undefined,
  ];
};

/** Max of several inputs: the gradient goes to the first input holding the maximum, as TF and PyTorch do. */
const max: GradRule = ({ g, node, dy }) => {
  const d = dy();
  if (d === undefined) return [];
  const [a, b] = node.inputs;
  const same = (u: string, v: string) => g.shape(u).join() === g.shape(v).join();
  if (node.inputs.length === 2 && same(a, b) && same(a, node.outputs[0])) {
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

/** ReduceMax over one axis: the gradient goes to the first maximal element (ArgMax picks the first). */
const reduceMax: GradRule = ({ g, node, dy }) => {
  const d = dy();
  if (d === undefined) return [];
  const x = node.inputs[0];
  const xs = g.shape(x);
  const axes = attrInts(node, "axes", []);
  if (axes.length !== 1) throw new Error("ReduceMax gradient: exactly one axis is supported");
  const axis = axes[0] < 0 ? axes[0] + xs.length : axes[0];
  const arg = g.op("ArgMax", [x], { axis, keepdims: 1, select_last_index: 0 });
  const positions = Array.from({ length: xs[axis] }, (_, i) => i);
  const rangeShape = xs.map((_, i) => (i === axis ? xs[axis] : 1));
  const range = g.op("Reshape", [g.ints(positions, "range"), g.ints(rangeShape, "shape")]);
  const winner = mask(g, g.op("Equal", [arg, range]));
  return [g.op("Mul", [winner, expandBack(g, node, d, axes)])];
};

const reduceSum: GradRule = ({ g, node, dy }) => {
  const d = dy();
  if (d === undefined) return [];
  const axes = node.inputs[1] ? g.knownInts.get(node.inputs[1]) : undefined;
  return [expandBack(g, node, d, axes)];
};

const reduceMean: GradRule = ({ g, node, dy }) => {
  const d = dy();
  if (d === undefined) return [];
  const axes = attrInts(node, "axes", []);
  const n = reducedCount(g.shape(node.inputs[0]), axes);
  return [expandBack(g, node, g.op("Div", [d, g.scalar(n)]), axes)];
};

const reshapeBack: GradRule = ({ g, node, dy }) => {
  const d = dy();
  return [d === undefined ? undefined : reshapeLike(g, d, node.inputs[0])];
};

const transpose: GradRule = ({ g, node, dy }) => {
  const d = dy();
  if (d === undefined) return [];
  const perm = attrInts(node, "perm", [...g.shape(node.inputs[0]).keys()].reverse());
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return [g.op("Transpose", [d], { perm: inverse })];
};

const slice: GradRule = ({ g, node, dy }) => {
  const d = dy();
  if (d === undefined) return [];
  const xs = g.shape(node.inputs[0]);
  const starts = g.knownInts.get(node.inputs[1]) ?? [];
  const ends = g.knownInts.get(node.inputs[2]) ?? [];
  const axes = node.inputs[3] ? (g.knownInts.get(node.inputs[3]) ?? []) : starts.map((_, i) => i);
  if (node.inputs[4] && (g.knownInts.get(node.inputs[4]) ?? []).some((s) => s !== 1)) {
    throw new Error("Slice gradient: only step 1 is supported");
  }
  const before = xs.map(() => 0);
  const after = xs.map(() => 0);
  axes.forEach((ax, i) => {
    const a = ax < 0 ? ax + xs.length : ax;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + xs[a] : v, 0), xs[a]);
    before[a] = clamp(starts[i]);
    after[a] = xs[a] - clamp(ends[i]);
  });
  return [g.op("Pad", [d, g.ints([...before, ...after], "pads")])];
};

const pad: GradRule = ({ g, node, dy }) => {
  const d = dy();
  if (d === undefined) return [];
  if ((node.attrs.mode ?? "constant") !== "constant") throw new Error("Pad gradient: only constant mode");
  const xs = g.shape(node.inputs[0]);
  const pads = g.knownInts.get(node.inputs[1]) ?? [];
  const axes = xs.map((_, i) => i);
  return [
    g.op("Slice", [
      d,
      g.ints(axes.map((i) => pads[i])),
      g.ints(axes.map((i) => pads[i] + xs[i])),
      g.ints(axes),
    ]),
  ];
};

const concat: GradRule = ({ g, node, dy }) => {
  const d = dy();
  if (d === undefined) return [];
  const rank = g.shape(d).length;
  const axis = (attrInt(node, "axis", 0) + rank) % rank;
  let offset = 0;
  return node.inputs.map((input) => {
    const n = g.shape(input)[axis];
    const part = g.op("Slice", [d, g.ints([offset]), g.ints([offset + n]), g.ints([axis])]);
    offset += n;
    return part;
  });
};

const logSoftmax: GradRule = ({ g, node, dy }) => {
  const d = dy();
  if (d === undefined) return [];
  const axis = attrInt(node, "axis", -1);
  const total = g.op("ReduceSum", [d, g.ints([axis], "axes")], { keepdims: 1 });
  const p = g.op("Exp", [node.outputs[0]]);
  return [g.op("Sub", [d, g.op("Mul", [p, total])])];
};

const softmax: GradRule = ({ g, node, dy }) => {
  const d = dy();
  if (d === undefined) return [];
  const y = node.outputs[0];
  const axis = attrInt(node, "axis", -1);
  const dot = g.op("ReduceSum", [g.op("Mul", [d, y]), g.ints([axis], "axes")], { keepdims: 1 });
  return [g.op("Mul", [y, g.op("Sub", [d, dot])])];
};

const dropout: GradRule = ({ g, node, dy }) => {
  const d = dy();
  if (d === undefined) return [];
  const ratioInit = node.inputs[1] ? g.initializers.get(node.inputs[1]) : undefined;
  const ratio = ratioInit ? Number(ratioInit.data[0]) : 0.5;
  if (node.outputs.length < 2) throw new Error("Dropout gradient needs the mask output");
  const kept = g.op("Mul", [d, mask(g, node.outputs[1])]);
  return [g.op("Mul", [kept, g.scalar(1 / (1 - ratio))])];
};

export const GRADIENT_RULES: Record<string, GradRule> = {
  Conv: conv,
  Gemm: gemm,
  MatMul: matmul,
  Add: add,
  Sum: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Max: max,
  ReduceMax: reduceMax,
  ReduceSum: reduceSum,
  ReduceMean: reduceMean,
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Slice: slice,
  Pad: pad,
  Concat: concat,
  LogSoftmax: logSoftmax,
  Softmax: softmax,
  Dropout: dropout,
  Identity: unary((_g, d) => d),
  // (Sign(y) is the same mask in one kernel, but onnxruntime's Sign is slower than Greater + Cast.)
  Relu: unary((g, d, _x, y) => g.op("Mul", [d, mask(g, g.op("Greater", [y, g.scalar(0)]))])),
  Neg: unary((g, d) => g.op("Neg", [d])),
  Sigmoid: unary((g, d, _x, y) => g.op("Mul", [d, g.op("Mul", [y, g.op("Sub", [g.scalar(1), y])])])),
  Tanh: unary((g, d, _x, y) => g.op("Mul", [d, g.op("Sub", [g.scalar(1), g.op("Mul", [y, y])])])),
  Exp: unary((g, d, _x, y) => g.op("Mul", [d, y])),
  Log: unary((g, d, x) => g.op("Div", [d, x])),
  Sqrt: unary((g, d, _x, y) => g.op("Div", [g.op("Mul", [d, g.scalar(0.5)]), y])),
  Reciprocal: unary((g, d, _x, y) => g.op("Neg", [g.op("Mul", [d, g.op("Mul", [y, y])])])),
  SpaceToDepth: ({ g, node, dy }) => {
    const d = dy();
    const blocksize = attrInt(node, "blocksize", 2);
    return [d === undefined ? undefined : g.op("DepthToSpace", [d], { blocksize, mode: "DCR" })];
  },
  DepthToSpace: ({ g, node, dy }) => {
    const d = dy();
    if ((node.attrs.mode ?? "DCR") !== "DCR") throw new Error("DepthToSpace gradient: only DCR mode");
    return [
      d === undefined ? undefined : g.op("SpaceToDepth", [d], { blocksize: attrInt(node, "blocksize", 2) }),
    ];
  },
};
