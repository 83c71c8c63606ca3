/**
 * Static shape and dtype inference for the ONNX ops the compiler emits (opset 17 semantics).
 * An op missing here is an op the compiler does not use; adding one is adding its rule.
 */
import type { DType, Node, Shape, Value } from "./graph.js";

export interface Inferred extends Array<{ shape: Shape; dtype: DType }> {
  known?: readonly number[];
}

type Lookup = (name: string) => Value | undefined;
type Attrs = Node["attrs"];

const ints = (attrs: Attrs, key: string, fallback: readonly number[]): readonly number[] =>
  (attrs[key] as readonly number[] | undefined) ?? fallback;
const int = (attrs: Attrs, key: string, fallback: number): number =>
  (attrs[key] as number | undefined) ?? fallback;

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

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

function same(v: Value, dtype: DType = v.dtype): Inferred {
  return [{ shape: v.shape, dtype }];
}

function reduce(shape: Shape, axes: readonly number[] | undefined, keepdims: boolean): Shape {
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

function convOut(inSize: number, k: number, stride: number, padBegin: number, padEnd: number, dil: number) {
  if (inSize < 0) return -1;
  return Math.floor((inSize + padBegin + padEnd - dil * (k - 1) - 1) / stride) + 1;
}

function reshapeTarget(input: Shape, target: readonly number[]): Shape {
  const out = target.map((d, i) => (d === 0 ? input[i] : d));
  const known = input.every((d) => d >= 0);
  const minus = out.filter((d) => d === -1).length;
  if (minus > 1) throw new Error(`Reshape to [${target}]: more than one -1`);
  if (minus === 1 && known) {
    const rest = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const total = input.reduce((a, b) => a * b, 1);
    if (total % rest !== 0) throw new Error(`cannot reshape [${input}] to [${target}]`);
    return out.map((d) => (d === -1 ? total / rest : d));
  }
  if (minus === 0 && known && out.reduce((a, b) => a * b, 1) !== input.reduce((a, b) => a * b, 1)) {
    throw new Error(`cannot reshape [${input}] to [${target}]`);
  }
  return out;
}

/** Elements a Slice keeps along one axis of size d (ONNX's clamping rules, either step sign). */
export function sliceLength(d: number, start: number, end: number, step: number): number {
  if (step === 0) throw new Error("Slice: step 0");
  const norm = (v: number) => (v < 0 ? v + d : v);
  const [lo, hi] = step > 0 ? [0, d] : [-1, d - 1];
  const s = Math.min(Math.max(norm(start), lo), hi);
  const e = Math.min(Math.max(norm(end), lo), hi);
  return Math.max(0, Math.ceil((e - s) / step));
}

export function inferShapes(node: Node, lookup: Lookup, known: Map<string, readonly number[]>): Inferred {
  const { op, attrs } = node;
  const ins = node.inputs.map((n) => lookup(n));
  const x = ins[0] as Value;
  const need = (i: number): Value => {
    const v = ins[i];
    if (!v) throw new Error(`${op} needs input ${i}`);
    return v;
  };
  const constInput = (i: number): readonly number[] => {
    const v = known.get(node.inputs[i]);
    if (!v) throw new Error(`${op}: input ${i} must be a known constant`);
    return v;
  };

  switch (op) {
    case "Identity":
    case "Relu":
    case "Neg":
    case "Sqrt":
    case "Exp":
    case "Log":
    case "Reciprocal":
    case "Softmax":
    case "LogSoftmax":
    case "Sigmoid":
    case "Tanh":
    case "Abs":
    case "Sign":
    case "Not":
      return same(x);
    case "Cast": {
      const to = int(attrs, "to", 1);
      const dtype: DType = to === 1 ? "float32" : to === 7 ? "int64" : to === 9 ? "bool" : "float32";
      return same(x, dtype);
    }
    case "Add":
    case "Sub":
    case "Mul":
    case "Div":
    case "Pow":
      return [{ shape: broadcast(x.shape, need(1).shape), dtype: x.dtype }];
    case "Max":
    case "Min":
    case "Sum":
      return [{ shape: ins.reduce((s, v) => broadcast(s, (v as Value).shape), [] as Shape), dtype: x.dtype }];
    case "Equal":
    case "Greater":
    case "GreaterOrEqual":
    case "Less":
    case "And":
    case "Or":
      return [{ shape: broadcast(x.shape, need(1).shape), dtype: "bool" }];
    case "Where":
      return [{ shape: broadcast(broadcast(x.shape, need(1).shape), need(2).shape), dtype: need(1).dtype }];
    case "Gemm": {
      const a = x.shape;
      const b = need(1).shape;
      const m = int(attrs, "transA", 0) ? a[1] : a[0];
      const ka = int(attrs, "transA", 0) ? a[0] : a[1];
      const kb = int(attrs, "transB", 0) ? b[1] : b[0];
      const n = int(attrs, "transB", 0) ? b[0] : b[1];
      if (ka >= 0 && kb >= 0 && ka !== kb) throw new Error(`Gemm inner dimensions differ: ${ka} vs ${kb}`);
      return [{ shape: [m, n], dtype: "float32" }];
    }
    case "MatMul": {
      const a = x.shape;
      const b = need(1).shape;
      if (a.length < 2 || b.length < 2) throw new Error("MatMul: only operands of rank ≥ 2 are used here");
      const [m, k] = a.slice(-2);
      const [k2, n] = b.slice(-2);
      if (k !== k2) throw new Error(`MatMul inner dimensions differ: ${k} vs ${k2}`);
      return [{ shape: [...broadcast(a.slice(0, -2), b.slice(0, -2)), m, n], dtype: "float32" }];
    }
    case "Conv": {
      const w = need(1).shape;
      const sp = x.shape.length - 2;
      const strides = ints(attrs, "strides", Array(sp).fill(1));
      const pads = ints(attrs, "pads", Array(2 * sp).fill(0));
      const dil = ints(attrs, "dilations", Array(sp).fill(1));
      const group = int(attrs, "group", 1);
      if (x.shape[1] >= 0 && x.shape[1] !== w[1] * group) {
        throw new Error(`Conv: input has ${x.shape[1]} channels, kernel expects ${w[1] * group}`);
      }
      const spatial = Array.from({ length: sp }, (_, i) =>
        convOut(x.shape[2 + i], w[2 + i], strides[i], pads[i], pads[i + sp], dil[i]),
      );
      if (spatial.some((d) => d === 0 || d < -1)) throw new Error(`Conv: input [${x.shape}] too small`);
      return [{ shape: [x.shape[0], w[0], ...spatial], dtype: "float32" }];
    }
    case "ConvTranspose": {
      const w = need(1).shape;
      const sp = x.shape.length - 2;
      const strides = ints(attrs, "strides", Array(sp).fill(1));
      const pads = ints(attrs, "pads", Array(2 * sp).fill(0));
      const outPad = ints(attrs, "output_padding", Array(sp).fill(0));
      const spatial = Array.from(
        { length: sp },
        (_, i) => strides[i] * (x.shape[2 + i] - 1) + outPad[i] + w[2 + i] - pads[i] - pads[i + sp],
      );
      return [{ shape: [x.shape[0], w[1] * int(attrs, "group", 1), ...spatial], dtype: "float32" }];
    }
    case "MaxPool":
    case "AveragePool": {
      const k = ints(attrs, "kernel_shape", []);
      const sp = k.length;
      const strides = ints(attrs, "strides", Array(sp).fill(1));
      const pads = ints(attrs, "pads", Array(2 * sp).fill(0));
      const spatial = k.map((kk, i) => convOut(x.shape[2 + i], kk, strides[i], pads[i], pads[i + sp], 1));
      const out = { shape: [x.shape[0], x.shape[1], ...spatial], dtype: "float32" as DType };
      return node.outputs.length > 1 ? [out, { shape: out.shape, dtype: "int64" }] : [out];
    }
    case "BatchNormalization":
      return same(x);
    case "Dropout":
      return node.outputs.length > 1 ? [same(x)[0], same(x, "bool")[0]] : same(x);
    case "Flatten": {
      const axis = normAxis(int(attrs, "axis", 1), x.shape.length + 1);
      const a = x.shape.slice(0, axis).reduce((p, d) => (p < 0 || d < 0 ? -1 : p * d), 1);
      const b = x.shape.slice(axis).reduce((p, d) => (p < 0 || d < 0 ? -1 : p * d), 1);
      return [{ shape: [a, b], dtype: x.dtype }];
    }
    case "Reshape":
      return [{ shape: reshapeTarget(x.shape, constInput(1)), dtype: x.dtype }];
    case "Expand":
      return [{ shape: broadcast(x.shape, constInput(1)), dtype: x.dtype }];
    case "Transpose": {
      const perm = ints(attrs, "perm", [...x.shape.keys()].reverse());
      return [{ shape: perm.map((p) => x.shape[p]), dtype: x.dtype }];
    }
    case "Unsqueeze": {
      const axes = constInput(1);
      const rank = x.shape.length + axes.length;
      const set = new Set(axes.map((a) => normAxis(a, rank)));
      const out: number[] = [];
      let j = 0;
      for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : x.shape[j++]);
      return [{ shape: out, dtype: x.dtype }];
    }
    case "Squeeze": {
      const set = new Set(constInput(1).map((a) => normAxis(a, x.shape.length)));
      return [{ shape: x.shape.filter((_, i) => !set.has(i)), dtype: x.dtype }];
    }
    case "ReduceSum": {
      const axes = node.inputs[1] ? constInput(1) : undefined;
      return [{ shape: reduce(x.shape, axes, int(attrs, "keepdims", 1) === 1), dtype: x.dtype }];
    }
    case "ReduceMean":
    case "ReduceMax":
    case "ReduceMin":
      return [
        { shape: reduce(x.shape, ints(attrs, "axes", []), int(attrs, "keepdims", 1) === 1), dtype: x.dtype },
      ];
    case "ArgMax":
      return [
        { shape: reduce(x.shape, [int(attrs, "axis", 0)], int(attrs, "keepdims", 1) === 1), dtype: "int64" },
      ];
    case "Shape":
      return Object.assign([{ shape: [x.shape.length], dtype: "int64" as DType }], {
        known: x.shape.every((d) => d >= 0) ? x.shape : undefined,
      });
    case "SpaceToDepth": {
      const b = int(attrs, "blocksize", 2);
      const [n, c, h, w] = x.shape;
      if (h % b || w % b) throw new Error(`SpaceToDepth: [${x.shape}] not divisible by ${b}`);
      return [{ shape: [n, c * b * b, h / b, w / b], dtype: x.dtype }];
    }
    case "DepthToSpace": {
      const b = int(attrs, "blocksize", 2);
      const [n, c, h, w] = x.shape;
      return [{ shape: [n, c / (b * b), h * b, w * b], dtype: x.dtype }];
    }
    case "Slice": {
      const starts = constInput(1);
      const ends = constInput(2);
      const axes = node.inputs[3] ? constInput(3) : starts.map((_, i) => i);
      const steps = node.inputs[4] ? constInput(4) : starts.map(() => 1);
      const out = [...x.shape];
      axes.forEach((ax, i) => {
        const a = normAxis(ax, out.length);
        out[a] = sliceLength(x.shape[a], starts[i], ends[i], steps[i]);
      });
      return [{ shape: out, dtype: x.dtype }];
    }
    case "Pad": {
      const pads = constInput(1);
      const r = x.shape.length;
      return [{ shape: x.shape.map((d, i) => (d < 0 ? d : d + pads[i] + pads[i + r])), dtype: x.dtype }];
    }
    case "Concat": {
      const axis = normAxis(int(attrs, "axis", 0), x.shape.length);
      const out = [...x.shape];
      out[axis] = ins.reduce((s, v) => s + (v as Value).shape[axis], 0);
      return [{ shape: out, dtype: x.dtype }];
    }
    case "Split": {
      const axis = normAxis(int(attrs, "axis", 0), x.shape.length);
      const parts = constInput(1);
      return Object.assign(
        parts.map((p) => {
          const s = [...x.shape];
          s[axis] = p;
          return { shape: s as Shape, dtype: x.dtype };
        }),
      );
    }
    default:
      throw new Error(`no shape rule for op ${op}`);
  }
}
