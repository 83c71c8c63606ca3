/** Network ops: convolutions, matrix products, pooling, normalisation, dropout, softmax. */
import type { DType } from "../ir.js";
import { broadcast, reduceTo } from "./elementwise.js";
import { attrInt, attrInts, mask, same, type GradientRule, type OpDef } from "./types.js";

/** Output size along one spatial axis (-1, the symbolic batch, stays -1). */
function convOut(inSize: number, k: number, stride: number, padBegin: number, padEnd: number, dil: number) {
  if (inSize < 0) return -1;
  return Math.floor((inSize + padBegin + padEnd - dil * (k - 1) - 1) / stride) + 1;
}

const conv: GradientRule = ({ g, node, dy: d, wants }) => {
  const [x, w] = node.inputs;
  const xs = g.shape(x);
  const ws = g.shape(w);
  if (attrInt(node.attrs, "group", 1) !== 1)
    throw new Error("Conv gradient: grouped convolutions are not supported");
  if (attrInts(node.attrs, "dilations", [1, 1]).some((v) => v !== 1))
    throw new Error("Conv gradient: dilated convolutions are not supported");
  const strides = attrInts(node.attrs, "strides", [1, 1]);
  const pads = attrInts(node.attrs, "pads", [0, 0, 0, 0]);
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
    if (ks[2] !== ws[2] || ks[3] !== ws[3])
      k = g.op("Slice", [k, g.ints([0, 0]), g.ints([ws[2], ws[3]]), g.ints([2, 3])]);
    dw = g.op("Transpose", [k], { perm: [1, 0, 2, 3] });
    g.annotate(dw, { kind: "conv-weight-grad", x, dyTransposed: dyt, strides, pads });
  }

  const db =
    node.inputs[2] && wants(2)
      ? g.op("ReduceSum", [d, g.ints([0, 2, 3], "axes")], { keepdims: 0 })
      : undefined;
  return [dx, dw, db];
};

const gemm: GradientRule = ({ g, node, dy: d, wants }) => {
  if (attrInt(node.attrs, "transA", 0) !== 0) throw new Error("Gemm gradient: transA=1 is not supported");
  if (node.attrs.alpha !== undefined || node.attrs.beta !== undefined)
    throw new Error("Gemm gradient: alpha/beta are not supported");
  const [a, b, c] = node.inputs;
  const transB = attrInt(node.attrs, "transB", 0) === 1;
  const da = wants(0) ? g.op("Gemm", [d, b], { transB: transB ? 0 : 1 }) : undefined;
  const db = wants(1)
    ? transB
      ? g.op("Gemm", [d, a], { transA: 1 })
      : g.op("Gemm", [a, d], { transA: 1 })
    : undefined;
  const dc = c && wants(2) ? reduceTo(g, d, g.shape(c)) : undefined;
  return [da, db, dc];
};

/**
 * Batch normalization in training mode, as one rule (ONNX Runtime's gradient builder has one too) instead of
 * differentiating mean, variance and normalisation op by op. With x̂ = (x − μ)/σ over the batch (and space):
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy·x̂)).
 * μ and σ are recomputed from x (the node outputs only the moving statistics); the moving statistics get no
 * gradient.
 */
const batchNormGradient: GradientRule = ({ g, node, dy: d, wants }) => {
  if (attrInt(node.attrs, "training_mode", 0) !== 1)
    throw new Error("BatchNormalization gradient: only in training mode (batch statistics)");
  const [x, gamma] = node.inputs;
  const xs = g.shape(x);
  const axes = xs.map((_, i) => i).filter((i) => i !== 1);
  const count = axes.reduce((p, a) => p * xs[a], 1);
  const perChannel = xs.map((v, i) => (i === 1 ? v : 1));
  const eps = (node.attrs.epsilon as { float: number } | undefined)?.float ?? 1e-5;
  const mean = g.op("ReduceMean", [x], { axes, keepdims: 1 });
  const centred = g.op("Sub", [x, mean]);
  const variance = g.op("ReduceMean", [g.op("Mul", [centred, centred])], { axes, keepdims: 1 });
  const inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [variance, g.scalar(eps)])])]);
  const xhat = g.op("Mul", [centred, inv]);
  const sum = (v: string) => g.op("ReduceSum", [v, g.ints(axes, "axes")], { keepdims: 0 });
  const dbeta = sum(d);
  const dgamma = sum(g.op("Mul", [d, xhat]));
  let dx: string | undefined;
  if (wants(0)) {
    const channel = (v: string) => g.op("Reshape", [v, g.ints(perChannel, "shape")]);
    const meanDy = channel(g.op("Div", [dbeta, g.scalar(count)]));
    const meanDyXhat = channel(g.op("Div", [dgamma, g.scalar(count)]));
    const scale = g.op("Mul", [channel(gamma), inv]);
    dx = g.op("Mul", [scale, g.op("Sub", [g.op("Sub", [d, meanDy]), g.op("Mul", [xhat, meanDyXhat])])]);
  }
  return [dx, wants(1) ? dgamma : undefined, wants(2) ? dbeta : undefined];
};

export const NN_OPS: Record<string, OpDef> = {
  Conv: {
    shape: ({ x, need, attrs }) => {
      const w = need(1).shape;
      const sp = x.shape.length - 2;
      const strides = attrInts(attrs, "strides", Array(sp).fill(1));
      const pads = attrInts(attrs, "pads", Array(2 * sp).fill(0));
      const dil = attrInts(attrs, "dilations", Array(sp).fill(1));
      const group = attrInt(attrs, "group", 1);
      if (x.shape[1] >= 0 && x.shape[1] !== w[1] * group)
        throw new Error(`Conv: input has ${x.shape[1]} channels, kernel expects ${w[1] * group}`);
      const spatial = Array.from({ length: sp }, (_, i) =>
        convOut(x.shape[2 + i], w[2 + i], strides[i], pads[i], pads[i + sp], dil[i]),
      );
      if (spatial.some((d) => d === 0 || d < -1)) throw new Error(`Conv: input [${x.shape}] too small`);
      return [{ shape: [x.shape[0], w[0], ...spatial], dtype: "float32" }];
    },
    gradient: conv,
  },
  // The input gradient of a convolution.
  ConvTranspose: {
    shape: ({ x, need, attrs }) => {
      const w = need(1).shape;
      const sp = x.shape.length - 2;
      const strides = attrInts(attrs, "strides", Array(sp).fill(1));
      const pads = attrInts(attrs, "pads", Array(2 * sp).fill(0));
      const outPad = attrInts(attrs, "output_padding", Array(sp).fill(0));
      const spatial = Array.from(
        { length: sp },
        (_, i) => strides[i] * (x.shape[2 + i] - 1) + outPad[i] + w[2 + i] - pads[i] - pads[i + sp],
      );
      return [{ shape: [x.shape[0], w[1] * attrInt(attrs, "group", 1), ...spatial], dtype: "float32" }];
    },
    gradient: null,
  },
  Gemm: {
    shape: ({ x, need, attrs }) => {
      const [a, b] = [x.shape, need(1).shape];
      const transA = attrInt(attrs, "transA", 0) === 1;
      const transB = attrInt(attrs, "transB", 0) === 1;
      const [m, ka] = transA ? [a[1], a[0]] : [a[0], a[1]];
      const [kb, n] = transB ? [b[1], b[0]] : [b[0], b[1]];
      if (ka >= 0 && kb >= 0 && ka !== kb) throw new Error(`Gemm inner dimensions differ: ${ka} vs ${kb}`);
      return [{ shape: [m, n], dtype: "float32" }];
    },
    gradient: gemm,
  },
  MatMul: {
    shape: ({ x, need }) => {
      const [a, b] = [x.shape, need(1).shape];
      if (a.length < 2 || b.length < 2) throw new Error("MatMul: only operands of rank ≥ 2 are used here");
      const [m, k] = a.slice(-2);
      const [k2, n] = b.slice(-2);
      if (k !== k2) throw new Error(`MatMul inner dimensions differ: ${k} vs ${k2}`);
      return [{ shape: [...broadcast(a.slice(0, -2), b.slice(0, -2)), m, n], dtype: "float32" }];
    },
    gradient: ({ g, node, dy: d, wants }) => {
      const [a, b] = node.inputs;
      return [
        wants(0) ? g.op("Gemm", [d, b], { transB: 1 }) : undefined,
        wants(1) ? g.op("Gemm", [a, d], { transA: 1 }) : undefined,
      ];
    },
  },
  // Inference only: training lowers pooling to window reshuffles and ReduceMax (graph/lowering.ts).
  MaxPool: {
    shape: ({ x, attrs, node }) => {
      const k = attrInts(attrs, "kernel_shape", []);
      const sp = k.length;
      const strides = attrInts(attrs, "strides", Array(sp).fill(1));
      const pads = attrInts(attrs, "pads", Array(2 * sp).fill(0));
      const spatial = k.map((kk, i) => convOut(x.shape[2 + i], kk, strides[i], pads[i], pads[i + sp], 1));
      const out = { shape: [x.shape[0], x.shape[1], ...spatial], dtype: "float32" as DType };
      return node.outputs.length > 1 ? [out, { shape: out.shape, dtype: "int64" }] : [out];
    },
    gradient: null,
  },
  // Augmentation (compiler/augment.ts) moves pixels of the input, which needs no gradient.
  GridSample: {
    shape: ({ x, need }) => {
      const grid = need(1).shape;
      return [{ shape: [x.shape[0], x.shape[1], grid[1], grid[2]], dtype: "float32" }];
    },
    gradient: null,
  },
  Resize: {
    shape: ({ x, constInput }) => {
      const sizes = constInput(3);
      if (sizes.length !== x.shape.length)
        throw new Error(`Resize: sizes [${sizes}] for a rank-${x.shape.length} input`);
      return [{ shape: [...sizes], dtype: x.dtype }];
    },
    gradient: null,
  },
  // Inference (moving statistics), or training_mode 1: batch statistics, and the moving ones updated.
  BatchNormalization: {
    shape: ({ x, need, node }) => [same(x)[0], ...node.outputs.slice(1).map(() => same(need(1))[0])],
    gradient: batchNormGradient,
  },
  Dropout: {
    shape: ({ x, node }) => (node.outputs.length > 1 ? [same(x)[0], same(x, "bool")[0]] : same(x)),
    gradient: ({ g, node, dy: d }) => {
      const ratioInit = node.inputs[1] ? g.initializers.get(node.inputs[1]) : undefined;
      const ratio = ratioInit ? Number(ratioInit.data[0]) : 0.5;
      if (node.outputs.length < 2) throw new Error("Dropout gradient needs the mask output");
      const kept = g.op("Mul", [d, mask(g, node.outputs[1])]);
      return [g.op("Mul", [kept, g.scalar(1 / (1 - ratio))])];
    },
  },
  Softmax: {
    shape: ({ x }) => same(x),
    gradient: ({ g, node, dy: d }) => {
      const y = node.outputs[0];
      const axis = attrInt(node.attrs, "axis", -1);
      const dot = g.op("ReduceSum", [g.op("Mul", [d, y]), g.ints([axis], "axes")], { keepdims: 1 });
      return [g.op("Mul", [y, g.op("Sub", [d, dot])])];
    },
  },
  LogSoftmax: {
    shape: ({ x }) => same(x),
    gradient: ({ g, node, dy: d }) => {
      const axis = attrInt(node.attrs, "axis", -1);
      const total = g.op("ReduceSum", [d, g.ints([axis], "axes")], { keepdims: 1 });
      const p = g.op("Exp", [node.outputs[0]]);
      return [g.op("Sub", [d, g.op("Mul", [p, total])])];
    },
  },
};
