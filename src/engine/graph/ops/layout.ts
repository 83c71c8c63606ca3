/** Ops that move values without computing: reshapes, transposes, slices, padding, concatenation, blocks. */
import type { GraphBuilder, Shape, Value } from "../ir.js";
import { broadcast } from "./elementwise.js";
import { attrInt, attrInts, normAxis, type GradientRule, type OpDef } from "./types.js";
import { sizeOf } from "../ir.js";

function reshapeTarget(input: Shape, target: readonly number[]): Shape {
  const out = target.map((d, i) => (d === 0 ? input[i] : d));
  const known = input.every((d) => d >= 0);
  const minus = out.filter((d) => d === -1).length;
  if (minus > 1) throw new Error(`Reshape to [${target}]: more than one -1`);
  if (minus === 1 && known) {
    const rest = sizeOf(out.filter((d) => d !== -1));
    const total = sizeOf(input);
    if (total % rest !== 0) throw new Error(`cannot reshape [${input}] to [${target}]`);
    return out.map((d) => (d === -1 ? total / rest : d));
  }
  if (minus === 0 && known && sizeOf(out) !== sizeOf(input))
    throw new Error(`cannot reshape [${input}] to [${target}]`);
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

const reshapeLike = (g: GraphBuilder, grad: string, like: string) =>
  g.op("Reshape", [grad, g.ints([...g.shape(like)], "shape")]);

/** Any op that only changes a shape: its gradient is the incoming gradient reshaped back. */
const reshapeBack: GradientRule = ({ g, node, dy }) => [reshapeLike(g, dy, node.inputs[0])];

export const LAYOUT_OPS: Record<string, OpDef> = {
  Reshape: {
    shape: ({ x, constInput }) => [{ shape: reshapeTarget(x.shape, constInput(1)), dtype: x.dtype }],
    gradient: reshapeBack,
  },
  Flatten: {
    shape: ({ x, attrs }) => {
      const axis = normAxis(attrInt(attrs, "axis", 1), x.shape.length + 1);
      const product = (dims: Shape) => dims.reduce((p, d) => (p < 0 || d < 0 ? -1 : p * d), 1);
      return [{ shape: [product(x.shape.slice(0, axis)), product(x.shape.slice(axis))], dtype: x.dtype }];
    },
    gradient: reshapeBack,
  },
  Unsqueeze: {
    shape: ({ x, constInput }) => {
      const axes = constInput(1);
      const rank = x.shape.length + axes.length;
      const set = new Set(axes.map((a) => normAxis(a, rank)));
      const out: number[] = [];
      let j = 0;
      for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : x.shape[j++]);
      return [{ shape: out, dtype: x.dtype }];
    },
    gradient: reshapeBack,
  },
  Squeeze: {
    shape: ({ x, constInput }) => {
      const set = new Set(constInput(1).map((a) => normAxis(a, x.shape.length)));
      return [{ shape: x.shape.filter((_, i) => !set.has(i)), dtype: x.dtype }];
    },
    gradient: reshapeBack,
  },
  // Emitted by reduction gradients only.
  Expand: {
    shape: ({ x, constInput }) => [{ shape: broadcast(x.shape, constInput(1)), dtype: x.dtype }],
    gradient: null,
  },
  Transpose: {
    shape: ({ x, attrs }) => {
      const perm = attrInts(attrs, "perm", [...x.shape.keys()].reverse());
      return [{ shape: perm.map((p) => x.shape[p]), dtype: x.dtype }];
    },
    gradient: ({ g, node, dy: d }) => {
      const perm = attrInts(node.attrs, "perm", [...g.shape(node.inputs[0]).keys()].reverse());
      return [g.op("Transpose", [d], { perm: perm.map((_, i) => perm.indexOf(i)) })];
    },
  },
  Slice: {
    shape: ({ x, node, constInput }) => {
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
    },
    gradient: ({ g, node, dy: d }) => {
      const xs = g.shape(node.inputs[0]);
      const starts = g.knownInts.get(node.inputs[1]) ?? [];
      const ends = g.knownInts.get(node.inputs[2]) ?? [];
      const axes = node.inputs[3] ? (g.knownInts.get(node.inputs[3]) ?? []) : starts.map((_, i) => i);
      if (node.inputs[4] && (g.knownInts.get(node.inputs[4]) ?? []).some((s) => s !== 1))
        throw new Error("Slice gradient: only step 1 is supported");
      const before = xs.map(() => 0);
      const after = xs.map(() => 0);
      axes.forEach((ax, i) => {
        const a = ax < 0 ? ax + xs.length : ax;
        const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + xs[a] : v, 0), xs[a]);
        before[a] = clamp(starts[i]);
        after[a] = xs[a] - clamp(ends[i]);
      });
      return [g.op("Pad", [d, g.ints([...before, ...after], "pads")])];
    },
  },
  Pad: {
    shape: ({ x, constInput }) => {
      const pads = constInput(1);
      const r = x.shape.length;
      return [{ shape: x.shape.map((d, i) => (d < 0 ? d : d + pads[i] + pads[i + r])), dtype: x.dtype }];
    },
    gradient: ({ g, node, dy: d }) => {
      if ((node.attrs.mode ?? "constant") !== "constant") throw new Error("Pad gradient: only constant mode");
      const xs = g.shape(node.inputs[0]);
      const pads = g.knownInts.get(node.inputs[1]) ?? [];
      const axes = xs.map((_, i) => i);
      const starts = g.ints(axes.map((i) => pads[i]));
      return [g.op("Slice", [d, starts, g.ints(axes.map((i) => pads[i] + xs[i])), g.ints(axes)])];
    },
  },
  Concat: {
    shape: ({ x, ins, attrs }) => {
      const axis = normAxis(attrInt(attrs, "axis", 0), x.shape.length);
      const out = [...x.shape];
      out[axis] = ins.reduce((s, v) => s + (v as Value).shape[axis], 0);
      return [{ shape: out, dtype: x.dtype }];
    },
    gradient: ({ g, node, dy: d }) => {
      const rank = g.shape(d).length;
      const axis = (attrInt(node.attrs, "axis", 0) + rank) % rank;
      let offset = 0;
      return node.inputs.map((input) => {
        const n = g.shape(input)[axis];
        const part = g.op("Slice", [d, g.ints([offset]), g.ints([offset + n]), g.ints([axis])]);
        offset += n;
        return part;
      });
    },
  },
  /** Values picked by index along one axis. Emitted only by backward passes (a fixed permutation of a filter). */
  Gather: {
    shape: ({ x, need, attrs }) => {
      const axis = normAxis(attrInt(attrs, "axis", 0), x.shape.length);
      const shape = [...x.shape.slice(0, axis), ...need(1).shape, ...x.shape.slice(axis + 1)];
      return [{ shape, dtype: x.dtype }];
    },
    gradient: null,
  },
  /** Equal parts along one axis (opset 17: one part per output, no `split` input); its gradient is one Concat. */
  Split: {
    shape: ({ x, node, attrs }) => {
      if (node.inputs.length > 1) throw new Error("Split: only equal parts (no split input)");
      const axis = normAxis(attrInt(attrs, "axis", 0), x.shape.length);
      const parts = node.outputs.length;
      if (x.shape[axis] % parts)
        throw new Error(`Split: axis ${axis} of [${x.shape}] is not ${parts} equal parts`);
      const out = [...x.shape];
      out[axis] = x.shape[axis] / parts;
      return node.outputs.map(() => ({ shape: out, dtype: x.dtype }));
    },
    everyOutput: true,
    gradient: ({ g, node, dys }) => {
      const part = g.shape(node.outputs[0]);
      const zero = () => g.op("Expand", [g.scalar(0), g.ints([...part], "shape")]);
      return [
        g.op(
          "Concat",
          dys.map((d) => d ?? zero()),
          { axis: attrInt(node.attrs, "axis", 0) },
        ),
      ];
    },
  },
  SpaceToDepth: {
    shape: ({ x, attrs }) => {
      const b = attrInt(attrs, "blocksize", 2);
      const [n, c, h, w] = x.shape;
      if (h % b || w % b) throw new Error(`SpaceToDepth: [${x.shape}] not divisible by ${b}`);
      return [{ shape: [n, c * b * b, h / b, w / b], dtype: x.dtype }];
    },
    gradient: ({ g, node, dy }) => {
      const blocksize = attrInt(node.attrs, "blocksize", 2);
      return [g.op("DepthToSpace", [dy], { blocksize, mode: "DCR" })];
    },
  },
  DepthToSpace: {
    shape: ({ x, attrs }) => {
      const b = attrInt(attrs, "blocksize", 2);
      const [n, c, h, w] = x.shape;
      return [{ shape: [n, c / (b * b), h * b, w * b], dtype: x.dtype }];
    },
    gradient: ({ g, node, dy }) => {
      if ((node.attrs.mode ?? "DCR") !== "DCR") throw new Error("DepthToSpace gradient: only DCR mode");
      const blocksize = attrInt(node.attrs, "blocksize", 2);
      return [g.op("SpaceToDepth", [dy], { blocksize })];
    },
  },
};
