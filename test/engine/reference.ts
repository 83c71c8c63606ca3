/**
 * A slow, obviously-correct float64 interpreter for the ONNX ops the compiler emits, written from the ONNX
 * operator specs. Tests use it as ground truth: forward values, and central finite differences precise enough
 * for convolutions (a float32 difference through the graph is too noisy).
 */
import type { Graph, Node } from "../../src/engine/graph/graph.js";
import { sizeOf } from "../../src/engine/graph/ir.js";

export interface T {
  shape: number[];
  data: Float64Array;
}

const strides = (s: readonly number[]) => {
  const r = new Array(s.length).fill(1);
  for (let i = s.length - 2; i >= 0; i--) r[i] = r[i + 1] * s[i + 1];
  return r;
};
const t = (shape: number[], data?: Float64Array): T => ({
  shape,
  data: data ?? new Float64Array(sizeOf(shape)),
});

function broadcastShape(a: number[], b: number[]): number[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    return x === 1 ? y : x;
  });
}

function elementwise(inputs: T[], f: (...v: number[]) => number): T {
  const shape = inputs.reduce((s, x) => broadcastShape(s, x.shape), [] as number[]);
  const out = t(shape);
  const os = strides(shape);
  const ins = inputs.map((x) => {
    const pad = shape.length - x.shape.length;
    const xs = strides(x.shape);
    return { x, pad, xs };
  });
  const vals = new Array(inputs.length);
  for (let i = 0; i < out.data.length; i++) {
    for (let k = 0; k < ins.length; k++) {
      const { x, pad, xs } = ins[k];
      let off = 0;
      for (let d = 0; d < x.shape.length; d++) {
        const coord = Math.floor(i / os[d + pad]) % shape[d + pad];
        off += (x.shape[d] === 1 ? 0 : coord) * xs[d];
      }
      vals[k] = x.data[off];
    }
    out.data[i] = f(...vals);
  }
  return out;
}

function reduce(
  x: T,
  axes: number[] | undefined,
  keep: boolean,
  init: number,
  f: (acc: number, v: number) => number,
): T {
  const r = x.shape.length;
  const set = new Set(
    (axes && axes.length ? axes : x.shape.map((_, i) => i)).map((a) => (a < 0 ? a + r : a)),
  );
  const outShapeKeep = x.shape.map((d, i) => (set.has(i) ? 1 : d));
  const out = t(outShapeKeep, new Float64Array(sizeOf(outShapeKeep)).fill(init));
  const xs = strides(x.shape);
  const os = strides(outShapeKeep);
  for (let i = 0; i < x.data.length; i++) {
    let off = 0;
    for (let d = 0; d < r; d++) if (!set.has(d)) off += (Math.floor(i / xs[d]) % x.shape[d]) * os[d];
    out.data[off] = f(out.data[off], x.data[i]);
  }
  return keep
    ? out
    : t(
        x.shape.filter((_, i) => !set.has(i)),
        out.data,
      );
}

function transpose(x: T, perm: number[]): T {
  const shape = perm.map((p) => x.shape[p]);
  const out = t(shape);
  const xs = strides(x.shape);
  const os = strides(shape);
  for (let i = 0; i < out.data.length; i++) {
    let off = 0;
    for (let d = 0; d < shape.length; d++) off += (Math.floor(i / os[d]) % shape[d]) * xs[perm[d]];
    out.data[i] = x.data[off];
  }
  return out;
}

function conv(x: T, w: T, b: T | undefined, st: number[], pads: number[]): T {
  const [n, c, h, wd] = x.shape;
  const [o, , kh, kw] = w.shape;
  const oh = Math.floor((h + pads[0] + pads[2] - kh) / st[0]) + 1;
  const ow = Math.floor((wd + pads[1] + pads[3] - kw) / st[1]) + 1;
  const out = t([n, o, oh, ow]);
  for (let ni = 0; ni < n; ni++)
    for (let oi = 0; oi < o; oi++)
      for (let y = 0; y < oh; y++)
        for (let z = 0; z < ow; z++) {
          let s = b ? b.data[oi] : 0;
          for (let ci = 0; ci < c; ci++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const yy = y * st[0] + i - pads[0];
                const zz = z * st[1] + j - pads[1];
                if (yy < 0 || zz < 0 || yy >= h || zz >= wd) continue;
                s += x.data[((ni * c + ci) * h + yy) * wd + zz] * w.data[((oi * c + ci) * kh + i) * kw + j];
              }
          out.data[((ni * o + oi) * oh + y) * ow + z] = s;
        }
  return out;
}

function slice(x: T, starts: number[], ends: number[], axes: number[], steps: number[]): T {
  const r = x.shape.length;
  const st = new Array(r).fill(0);
  const sp = new Array(r).fill(1);
  const shape = [...x.shape];
  axes.forEach((a0, i) => {
    const a = a0 < 0 ? a0 + r : a0;
    const d = x.shape[a];
    const norm = (v: number) => (v < 0 ? v + d : v);
    const [lo, hi] = steps[i] > 0 ? [0, d] : [-1, d - 1];
    const s = Math.min(Math.max(norm(starts[i]), lo), hi);
    const e = Math.min(Math.max(norm(ends[i]), lo), hi);
    st[a] = s;
    sp[a] = steps[i];
    shape[a] = Math.max(0, Math.ceil((e - s) / steps[i]));
  });
  const out = t(shape);
  const xs = strides(x.shape);
  const os = strides(shape);
  for (let i = 0; i < out.data.length; i++) {
    let off = 0;
    for (let d = 0; d < r; d++) off += (st[d] + (Math.floor(i / os[d]) % shape[d]) * sp[d]) * xs[d];
    out.data[i] = x.data[off];
  }
  return out;
}

function gemm(a: T, b: T, c: T | undefined, transA: boolean, transB: boolean): T {
  const A = transA ? transpose(a, [1, 0]) : a;
  const B = transB ? transpose(b, [1, 0]) : b;
  const [m, k] = A.shape;
  const n = B.shape[1];
  const out = t([m, n]);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += A.data[i * k + q] * B.data[q * n + j];
      out.data[i * n + j] = s;
    }
  return c ? elementwise([out, c], (p, q) => p + q) : out;
}

function softmax(x: T, log: boolean): T {
  const [m, n] = x.shape;
  const out = t([m, n]);
  for (let i = 0; i < m; i++) {
    let mx = -Infinity;
    for (let j = 0; j < n; j++) mx = Math.max(mx, x.data[i * n + j]);
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(x.data[i * n + j] - mx);
    for (let j = 0; j < n; j++) {
      const v = x.data[i * n + j] - mx;
      out.data[i * n + j] = log ? v - Math.log(s) : Math.exp(v) / s;
    }
  }
  return out;
}

function run(
  node: Node,
  ins: (T | undefined)[],
  ints: (i: number) => number[],
  given: (name: string) => T | undefined,
): T[] {
  const a = node.attrs as Record<string, unknown>;
  const x = ins[0] as T;
  const num = (k: string, d: number) => (a[k] as number | undefined) ?? d;
  const arr = (k: string, d: number[]) => (a[k] as number[] | undefined) ?? d;
  switch (node.op) {
    case "Identity":
      return [x];
    case "Relu":
      return [elementwise([x], (v) => Math.max(v, 0))];
    case "Neg":
      return [elementwise([x], (v) => -v)];
    case "Sqrt":
      return [elementwise([x], Math.sqrt)];
    case "Exp":
      return [elementwise([x], Math.exp)];
    case "Log":
      return [elementwise([x], Math.log)];
    case "Reciprocal":
      return [elementwise([x], (v) => 1 / v)];
    case "Sigmoid":
      return [elementwise([x], (v) => 1 / (1 + Math.exp(-v)))];
    case "Tanh":
      return [elementwise([x], Math.tanh)];
    case "Add":
    case "Sum":
      return [elementwise(ins as T[], (...v) => v.reduce((p, q) => p + q, 0))];
    case "Sub":
      return [elementwise(ins as T[], (p, q) => p - q)];
    case "Mul":
      return [elementwise(ins as T[], (p, q) => p * q)];
    case "Div":
      return [elementwise(ins as T[], (p, q) => p / q)];
    case "Max":
      return [elementwise(ins as T[], (...v) => Math.max(...v))];
    case "Gemm":
      return [gemm(x, ins[1] as T, ins[2], num("transA", 0) === 1, num("transB", 0) === 1)];
    case "MatMul":
      return [gemm(x, ins[1] as T, undefined, false, false)];
    case "Conv":
      return [conv(x, ins[1] as T, ins[2], arr("strides", [1, 1]), arr("pads", [0, 0, 0, 0]))];
    case "Softmax":
      return [softmax(x, false)];
    case "LogSoftmax":
      return [softmax(x, true)];
    case "Flatten": {
      const axis = num("axis", 1);
      return [t([sizeOf(x.shape.slice(0, axis)), sizeOf(x.shape.slice(axis))], x.data)];
    }
    case "Reshape": {
      const target = ints(1).map((d, i) => (d === 0 ? x.shape[i] : d));
      const known = target.filter((d) => d !== -1).reduce((p, q) => p * q, 1);
      return [
        t(
          target.map((d) => (d === -1 ? x.data.length / known : d)),
          x.data,
        ),
      ];
    }
    case "Squeeze": {
      const r = x.shape.length;
      const drop = new Set(ints(1).map((d) => (d < 0 ? d + r : d)));
      return [
        t(
          x.shape.filter((_, i) => !drop.has(i)),
          x.data,
        ),
      ];
    }
    case "Unsqueeze": {
      const r = x.shape.length + ints(1).length;
      const add = new Set(ints(1).map((d) => (d < 0 ? d + r : d)));
      const rest = [...x.shape];
      return [
        t(
          Array.from({ length: r }, (_, i) => (add.has(i) ? 1 : (rest.shift() as number))),
          x.data,
        ),
      ];
    }
    case "Cast":
      return [x]; // booleans are 0/1 here already
    case "Dropout": {
      // Random: the test feeds the mask onnxruntime drew (the node's second output) to check against it.
      const m = given(node.outputs[1]);
      if (!m) throw new Error("reference interpreter: feed Dropout's mask output to evaluate it");
      const ratio = ins[1] ? ins[1].data[0] : 0.5;
      return [elementwise([x, m], (v, k) => (v * k) / (1 - ratio)), m];
    }
    case "Transpose":
      return [transpose(x, arr("perm", [...x.shape.keys()].reverse()))];
    case "ReduceSum":
      return [reduce(x, node.inputs[1] ? ints(1) : undefined, num("keepdims", 1) === 1, 0, (p, v) => p + v)];
    case "ReduceMean": {
      const s = reduce(x, arr("axes", []), num("keepdims", 1) === 1, 0, (p, v) => p + v);
      const n = x.data.length / s.data.length;
      return [
        t(
          s.shape,
          s.data.map((v) => v / n),
        ),
      ];
    }
    case "ReduceMax":
      return [reduce(x, arr("axes", []), num("keepdims", 1) === 1, -Infinity, Math.max)];
    case "Slice": {
      const starts = ints(1);
      return [
        slice(
          x,
          starts,
          ints(2),
          node.inputs[3] ? ints(3) : starts.map((_, i) => i),
          node.inputs[4] ? ints(4) : starts.map(() => 1),
        ),
      ];
    }
    case "Split": {
      const r = x.shape.length;
      const axis = (num("axis", 0) + r) % r;
      const part = x.shape[axis] / node.outputs.length;
      return node.outputs.map((_, k) => slice(x, [k * part], [(k + 1) * part], [axis], [1]));
    }
    case "Pad": {
      const p = ints(1);
      const r = x.shape.length;
      const shape = x.shape.map((d, i) => d + p[i] + p[i + r]);
      const out = t(shape);
      const xs = strides(x.shape);
      const os = strides(shape);
      for (let i = 0; i < x.data.length; i++) {
        let off = 0;
        for (let d = 0; d < r; d++) off += ((Math.floor(i / xs[d]) % x.shape[d]) + p[d]) * os[d];
        out.data[off] = x.data[i];
      }
      return [out];
    }
    case "Concat": {
      const r = x.shape.length;
      const axis = (num("axis", 0) + r) % r;
      const parts = ins as T[];
      const outer = sizeOf(x.shape.slice(0, axis));
      const shape = [...x.shape];
      shape[axis] = parts.reduce((s, p) => s + p.shape[axis], 0);
      const out = t(shape);
      let o = 0;
      for (let i = 0; i < outer; i++)
        for (const p of parts) {
          const block = sizeOf(p.shape.slice(axis));
          out.data.set(p.data.subarray(i * block, (i + 1) * block), o);
          o += block;
        }
      return [out];
    }
    case "SpaceToDepth": {
      const bs = num("blocksize", 2);
      const [n, c, h, w] = x.shape;
      const r = transpose(t([n, c, h / bs, bs, w / bs, bs], x.data), [0, 3, 5, 1, 2, 4]);
      return [t([n, c * bs * bs, h / bs, w / bs], r.data)];
    }
    case "DepthToSpace": {
      const bs = num("blocksize", 2);
      const [n, c, h, w] = x.shape;
      const r = transpose(t([n, bs, bs, c / (bs * bs), h, w], x.data), [0, 3, 4, 1, 5, 2]);
      return [t([n, c / (bs * bs), h * bs, w * bs], r.data)];
    }
    case "MaxPool": {
      const [kh, kw] = arr("kernel_shape", []);
      const [sh, sw] = arr("strides", [1, 1]);
      const [n, c, h, w] = x.shape;
      const oh = Math.floor((h - kh) / sh) + 1;
      const ow = Math.floor((w - kw) / sw) + 1;
      const out = t([n, c, oh, ow]);
      for (let q = 0; q < n * c; q++)
        for (let y = 0; y < oh; y++)
          for (let z = 0; z < ow; z++) {
            let m = -Infinity;
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) m = Math.max(m, x.data[(q * h + y * sh + i) * w + z * sw + j]);
            out.data[(q * oh + y) * ow + z] = m;
          }
      return [out];
    }
    case "BatchNormalization": {
      const [, scale, bias, mean, variance] = ins as T[];
      const eps = (a.epsilon as { float: number } | undefined)?.float ?? 1e-5;
      const momentum = (a.momentum as { float: number } | undefined)?.float ?? 0.9;
      const c = x.shape[1];
      const inner = sizeOf(x.shape.slice(2));
      const channelOf = (i: number) => Math.floor(i / inner) % c;
      const training = num("training_mode", 0) === 1;
      // Training mode: the batch's own statistics (biased variance), and the moving ones blended towards them.
      const mu = new Float64Array(c);
      const va = new Float64Array(c);
      const n = x.data.length / c;
      if (training) {
        x.data.forEach((v, i) => (mu[channelOf(i)] += v / n));
        x.data.forEach((v, i) => (va[channelOf(i)] += (v - mu[channelOf(i)]) ** 2 / n));
      }
      const [m, s2] = training ? [mu, va] : [mean.data, variance.data];
      const out = t([...x.shape]);
      for (let i = 0; i < x.data.length; i++) {
        const ch = channelOf(i);
        out.data[i] = ((x.data[i] - m[ch]) / Math.sqrt(s2[ch] + eps)) * scale.data[ch] + bias.data[ch];
      }
      if (!training) return [out];
      const blend = (moving: T, batch: Float64Array) =>
        t(
          [c],
          moving.data.map((v, k) => v * momentum + batch[k] * (1 - momentum)),
        );
      return [out, blend(mean, mu), blend(variance, va)];
    }
    default:
      throw new Error(`reference interpreter: no op ${node.op}`);
  }
}

/** Evaluates `want` from `feeds` (float64) and the graph's initializers. */
export function evaluate(g: Graph, feeds: Record<string, T>, want: string[]): T[] {
  const env = new Map<string, T>(Object.entries(feeds));
  for (const [name, init] of g.initializers) {
    if (!env.has(name))
      env.set(
        name,
        t([...init.value.shape], Float64Array.from(init.data as ArrayLike<number | bigint>, Number)),
      );
  }
  // Only the nodes the wanted values depend on (a gradient graph also holds its backward).
  const needed = new Set(want);
  const chosen = new Set<Node>();
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k];
    if (!n.outputs.some((o) => needed.has(o))) continue;
    chosen.add(n);
    n.inputs.forEach((i) => needed.add(i));
  }
  for (const node of g.nodes.filter((n) => chosen.has(n))) {
    if (node.outputs.every((o) => env.has(o))) continue;
    const ins = node.inputs.map((i) => (i === "" ? undefined : env.get(i)));
    const outs = run(
      node,
      ins,
      (k) => Array.from((ins[k] as T).data),
      (name) => env.get(name),
    );
    node.outputs.forEach((o, k) => outs[k] && env.set(o, outs[k]));
  }
  return want.map((w) => {
    const v = env.get(w);
    if (!v) throw new Error(`reference interpreter: "${w}" was not computed`);
    return v;
  });
}

export function tensor(shape: number[], data: ArrayLike<number>): T {
  return { shape, data: Float64Array.from(data) };
}
