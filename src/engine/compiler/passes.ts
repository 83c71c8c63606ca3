/**
 * Rewrite passes over a built graph. Each keeps the graph's outputs numerically equal (checked in
 * test/engine/passes.test.ts) and exists only because it makes ONNX Runtime faster or the graph smaller.
 * Forward passes run before differentiation (autodiff then sees the cheaper forward); backward passes after.
 */
import type { Graph, Node } from "../graph/graph.js";
import { wholeWindows, windowMaxPool } from "../graph/lowering.js";
import { sameShape } from "../graph/ops/types.js";
import { isWeight } from "./params.js";

export type Pass = (g: Graph) => void;

/** Which nodes (in topological order) and values the graph's outputs depend on. */
function liveness(g: Graph): { nodes: boolean[]; values: Set<string> } {
  const values = new Set(g.outputs.map((o) => o.name));
  const nodes: boolean[] = new Array(g.nodes.length).fill(false);
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k];
    if (n.outputs.some((o) => values.has(o))) {
      nodes[k] = true;
      n.inputs.forEach((i) => values.add(i));
    }
  }
  return { nodes, values };
}

/** The nodes of the graph's live part that read `value`. */
function liveReaders(g: Graph, value: string): Node[] {
  const live = liveness(g).nodes;
  return g.nodes.filter((n, k) => live[k] && n.inputs.includes(value));
}

const isToChannelsLast = (n: Node) =>
  n.op === "Transpose" && attrs(n, "perm", []).join() === [0, 2, 3, 1].join();

/** Removes nodes whose outputs nothing reads (gradient rules may build values that end up unused). */
export const eliminateDeadNodes: Pass = (g) => {
  const live = liveness(g);
  const kept = g.nodes.filter((_, k) => live.nodes[k]);
  g.nodes.splice(0, g.nodes.length, ...kept);
  for (const name of [...g.initializers.keys()]) if (!live.values.has(name)) g.initializers.delete(name);
};

function readers(g: Graph, value: string): Node[] {
  return g.nodes.filter((n) => n.inputs.includes(value));
}

/** Whether any trainable weight (a weight input) flows into `value`. */
function dependsOnWeights(g: Graph, value: string): boolean {
  const seen = new Set<string>();
  const stack = [value];
  while (stack.length) {
    const v = stack.pop() as string;
    if (seen.has(v)) continue;
    seen.add(v);
    if (isWeight(v)) return true;
    const p = g.producer(v);
    if (p) stack.push(...p.inputs.filter((i) => i !== ""));
  }
  return false;
}

const attrs = (n: Node, key: string, fallback: readonly number[]) =>
  (n.attrs[key] as readonly number[] | undefined) ?? fallback;

/** The stride-1 convolution (and the ReLU after it) that feeds a pooling node and nothing else, if any. */
function convBeforePool(g: Graph, pool: Node): { conv: Node; relu?: Node } | undefined {
  let conv = g.producer(pool.meta?.input as string);
  let relu: Node | undefined;
  if (conv?.op === "Relu") {
    relu = conv;
    conv = g.producer(conv.inputs[0]);
  }
  if (!conv || conv.meta?.kind !== "conv") return undefined;
  if (attrs(conv, "strides", [1, 1]).some((s) => s !== 1)) return undefined;
  if (readers(g, conv.outputs[0]).length !== 1 || (relu && readers(g, relu.outputs[0]).length !== 1))
    return undefined;
  return { conv, relu };
}

/**
 * Forward pass: a stride-1 convolution on the model input, followed by (ReLU and) 2×2 max-pooling, becomes four
 * stride-2 "phase" convolutions — one per position in the pooling window — and an element-wise Max. This
 * skips the full-resolution conv output, its window reshuffling and ReLU, and makes the pooling backward an
 * exact, cheap first-wins mask. The input needs no gradient, so the four backward-data convolutions that
 * would make this a loss deeper in the network never happen.
 */
export const phaseConvolutionPooling: Pass = (g) => {
  for (const pool of g.nodes.filter((n) => n.meta?.kind === "max-pool" && n.meta.pool === 2)) {
    const found = convBeforePool(g, pool);
    if (!found) continue;
    const { conv, relu } = found;
    const [x, w, b] = conv.inputs;
    if (dependsOnWeights(g, x)) continue;

    const [kh, kw] = attrs(conv, "kernel_shape", []);
    const pads = attrs(conv, "pads", [0, 0, 0, 0]);
    const [, , ch, cw] = g.shape(conv.outputs[0]);
    const [oh, ow] = [Math.floor(ch / 2), Math.floor(cw / 2)];
    const padded = pads.some((p) => p !== 0)
      ? g.op("Pad", [x, g.ints([0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]], "pads")])
      : x;
    const phases = [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ].map(([i, j]) => {
      const window = g.op("Slice", [
        padded,
        g.ints([i, j]),
        g.ints([i + 2 * (oh - 1) + kh, j + 2 * (ow - 1) + kw]),
        g.ints([2, 3]),
      ]);
      return g.op("Conv", b ? [window, w, b] : [window, w], { kernel_shape: [kh, kw], strides: [2, 2] });
    });
    // A tree of two-input maxima, in window order, keeps first-wins ties and has a cheap backward.
    const max = g.op("Max", [g.op("Max", [phases[0], phases[1]]), g.op("Max", [phases[2], phases[3]])]);
    // ReLU is monotone, so it commutes with max: apply it to a quarter of the values.
    const out = relu ? g.op("Relu", [max]) : max;
    g.replaceUses(pool.outputs[0], out);
  }
  g.sortTopologically();
};

/**
 * Backward pass: the weight gradient of a stride-1 convolution as explicit im2col GEMMs, instead of a
 * convolution over the batch with batch and channels swapped, which onnxruntime runs on a slow path. The
 * input is made channels-last once, so each kernel-offset slice copies whole rows of W·C values and is, as it
 * stands, the [N·H·W, C] operand of that kernel position's GEMM; the nine small products are stacked. (Measured
 * slower: the slices stacked into one patch tensor for one batched MatMul — the stacking copy alone cost more
 * than the GEMMs gained, 12.65 against 11.7–12.1 ms of kernels a step at batch 64 on one thread — and
 * channels-first slices, a Concat and one big GEMM, ~3% slower still.)
 */
export const im2colWeightGradients: Pass = (g) => {
  for (const node of g.nodes.filter((n) => n.meta?.kind === "conv-weight-grad")) {
    const meta = node.meta as { x: string; dyTransposed: string; strides: number[]; pads: number[] };
    if (meta.strides.some((s) => s !== 1)) continue;
    const dw = node.outputs[0];
    const [o, c, kh, kw] = g.shape(dw);
    const [co, n, oh, ow] = g.shape(meta.dyTransposed);
    if (c === 1 || co !== o) continue; // one input channel: the swapped convolution is already a thin GEMM
    const p = meta.pads;
    const padded = p.some((v) => v !== 0)
      ? g.op("Pad", [meta.x, g.ints([0, 0, p[0], p[1], 0, 0, p[2], p[3]], "pads")])
      : meta.x;
    const xl = g.op("Transpose", [padded], { perm: [0, 2, 3, 1] });
    const dy = g.op("Reshape", [meta.dyTransposed, g.ints([o, n * oh * ow], "shape")]);
    const products: string[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const slice = g.op("Slice", [xl, g.ints([i, j]), g.ints([i + oh, j + ow]), g.ints([1, 2])]);
        const patch = g.op("Reshape", [slice, g.ints([n * oh * ow, c], "shape")]);
        products.push(g.op("MatMul", [dy, patch]));
      }
    }
    const kernel = g.op("Reshape", [g.op("Concat", products, { axis: 0 }), g.ints([kh, kw, o, c], "shape")]);
    g.replaceUses(dw, g.op("Transpose", [kernel], { perm: [2, 3, 0, 1] }));
  }
  g.sortTopologically();
};

/**
 * Forward pass: when 2×2 pooling will drop a convolution's last output row or column (an odd size), the
 * convolution never computes it: its input is cropped instead. For the reference CNN's 11×11 conv2 output
 * that is 17% less work in the forward convolution, its input gradient and its weight gradient. A ReLU
 * between them moves after the pooling (it commutes with max), onto a quarter of the values.
 */
export const cropBeforeConvolution: Pass = (g) => {
  for (const pool of g.nodes.filter((n) => n.meta?.kind === "max-pool")) {
    if (readers(g, pool.outputs[0]).length === 0) continue; // already rewritten
    const p = pool.meta?.pool as number;
    const found = convBeforePool(g, pool);
    if (!found) continue;
    const { conv, relu } = found;
    const pads = attrs(conv, "pads", [0, 0, 0, 0]);
    if (pads[2] !== 0 || pads[3] !== 0) continue;
    const [, , h, w] = g.shape(conv.outputs[0]);
    const dropH = h % p;
    const dropW = w % p;
    if (dropH === 0 && dropW === 0) continue;
    const [x, weight, bias] = conv.inputs;
    const [, , ih, iw] = g.shape(x);
    const cropped = crop(g, x, ih - dropH, iw - dropW);
    const y = g.op("Conv", bias ? [cropped, weight, bias] : [cropped, weight], { ...conv.attrs });
    g.annotate(y, { kind: "conv" });
    // ReLU is monotone, so it commutes with max: apply it after pooling, to a quarter of the values.
    const pooled = windowMaxPool(g, y, p);
    g.replaceUses(pool.outputs[0], relu ? g.op("Relu", [pooled]) : pooled);
  }
  g.sortTopologically();
};

/** The first h rows and w columns of an NCHW value, as a Slice the sinkCrops pass recognises. */
function crop(g: Graph, x: string, h: number, w: number): string {
  const y = g.op("Slice", [x, g.ints([0, 0]), g.ints([h, w]), g.ints([2, 3])]);
  g.annotate(y, { kind: "crop", rows: h, columns: w });
  return y;
}

/** The values some node of the graph's live part reads, with how many live readers each has. */
function liveReaderCounts(g: Graph): Map<string, number> {
  const live = liveness(g).nodes;
  const counts = new Map<string, number>();
  g.nodes.forEach((n, k) => live[k] && n.inputs.forEach((i) => counts.set(i, (counts.get(i) ?? 0) + 1)));
  return counts;
}

/**
 * Forward pass, after cropBeforeConvolution: a crop moves up through what computed the value it crops —
 * ReLU, an element-wise Max, a convolution without padding — as long as nothing else reads that value, so
 * nothing upstream computes what the crop drops. For the reference CNN, conv1's pooling phases then compute
 * 12×12 instead of 13×13 (15% less of conv1, its ReLU, maxima and their gradients), and the crop's gradient, a
 * Pad of conv2's input gradient, disappears.
 */
export const sinkCrops: Pass = (g) => {
  for (let moved = true; moved;) {
    moved = false;
    const readersOf = liveReaderCounts(g);
    for (const slice of g.nodes.filter((n) => n.meta?.kind === "crop")) {
      const v = slice.inputs[0];
      const p = g.producer(v);
      if (!p || readersOf.get(v) !== 1 || readersOf.get(slice.outputs[0]) === undefined) continue;
      const [h, w] = [slice.meta?.rows as number, slice.meta?.columns as number];
      let out: string | undefined;
      if (p.op === "Relu" || (p.op === "Max" && p.inputs.every((i) => sameShape(g.shape(i), g.shape(v))))) {
        out = g.op(
          p.op,
          p.inputs.map((i) => crop(g, i, h, w)),
          { ...p.attrs },
        );
      } else if (p.op === "Conv" && attrs(p, "pads", [0, 0, 0, 0]).every((q) => q === 0)) {
        if (attrs(p, "dilations", [1, 1]).some((d) => d !== 1) || (p.attrs.group ?? 1) !== 1) continue;
        const [sh, sw] = attrs(p, "strides", [1, 1]);
        const [kh, kw] = g.shape(p.inputs[1]).slice(2);
        const [x, ...rest] = p.inputs;
        out = g.op("Conv", [crop(g, x, (h - 1) * sh + kh, (w - 1) * sw + kw), ...rest], { ...p.attrs });
        if (p.meta) g.annotate(out, { ...p.meta });
      }
      if (out === undefined) continue;
      g.replaceUses(slice.outputs[0], out);
      g.sortTopologically(); // liveReaderCounts walks the nodes in order
      moved = true;
      break; // the live readers changed
    }
  }
};

/**
 * Forward pass, after the others: 2×2 max-pooling that is still a window pooling (conv2's, in the reference
 * CNN) runs channels-last, as two halvings — the window's columns, then its rows — each an even Split and a
 * two-input Max. Channels-last, both splits cut whole runs of channels, and the backward is two masks and two
 * Concats; the window pooling's SpaceToDepth, ArgMax over the window axis and DepthToSpace are generic strided
 * loops in onnxruntime (1.44 against 0.63 ms forward and backward at batch 64, one thread, the transposes to and
 * from channels-last included). Columns first, then rows, with the first input winning ties: the same
 * first-in-row-major-order maximum as the window pooling's ArgMax. nchwcConvolutions later folds the transpose
 * into a blocked convolution's output reorder.
 */
export const channelsLastPooling: Pass = (g) => {
  const readersOf = liveReaderCounts(g);
  for (const pool of g.nodes.filter((n) => n.meta?.kind === "max-pool" && n.meta.pool === 2)) {
    if (!readersOf.has(pool.outputs[0])) continue; // replaced by an earlier pass
    const whole = wholeWindows(g, pool.meta?.input as string, 2);
    const [n, c, h, w] = g.shape(whole);
    const [oh, ow] = [h / 2, w / 2];
    const last = g.op("Transpose", [whole], { perm: [0, 2, 3, 1] });
    const [left, right] = g.opN(
      "Split",
      [g.op("Reshape", [last, g.ints([n, 2 * oh, ow, 2 * c])])],
      { axis: 3 },
      2,
    );
    const columns = g.op("Max", [left, right]);
    const [top, bottom] = g.opN(
      "Split",
      [g.op("Reshape", [columns, g.ints([n, oh, 2, ow * c])])],
      { axis: 2 },
      2,
    );
    const rows = g.op("Reshape", [g.op("Max", [top, bottom]), g.ints([n, oh, ow, c])]);
    g.replaceUses(pool.outputs[0], g.op("Transpose", [rows], { perm: [0, 3, 1, 2] }));
  }
  g.sortTopologically();
};

/**
 * Runs after differentiation (it rewrites forward convolutions only, whose gradients are already built), given
 * the CPU's NCHWc block size (runtime/nchwc.ts probes it): each convolution whose input and
 * output channels are multiples of the block runs on ONNX Runtime's blocked-layout kernels — the input reordered,
 * the filter (a graph input, so onnxruntime's own layout pass leaves it alone) permuted in the graph to
 * [O/b, I/b, kh, kw, b(in), b(out)], the output reordered back. The reference CNN's conv2 forward: ~12–20% faster
 * (the reorders included), with the same result to float rounding.
 */
export function nchwcConvolutions(block: number): Pass {
  return function nchwcConvolutions(g: Graph) {
    // Forward convolutions only: their filters are weights, small to permute. (A weight gradient computed as
    // a convolution has activations for its filter, as large as the batch: permuting those costs more than
    // the blocked kernels win.)
    for (const conv of g.nodes.filter((n) => n.op === "Conv" && n.meta?.kind === "conv")) {
      const [x, w, b] = conv.inputs;
      const [o, i, kh, kw] = g.shape(w);
      if (g.shape(x).length !== 4 || (conv.attrs.group ?? 1) !== 1) continue;
      if (o % block !== 0 || i % block !== 0 || g.initializers.has(w)) continue;
      // The filter in the blocked order, [O/b, I/b, kh, kw, b(in), b(out)], picked by one Gather from the flat
      // filter: as a 6-D Transpose onnxruntime moves its values one at a time (0.18 ms for conv2's 18k).
      const flat = g.op("Reshape", [w, g.ints([o * i * kh * kw], "shape")]);
      const picked = g.op("Gather", [flat, g.ints(blockedOrder(o, i, kh, kw, block), "order")], { axis: 0 });
      const filter = g.op("Reshape", [picked, g.ints([o, i, kh, kw], "shape")]);
      const blocked = g.op("nchwc.ReorderInput", [x], { channels_last: 0 });
      const y = g.op("nchwc.Conv", b ? [blocked, filter, b] : [blocked, filter], { ...conv.attrs });
      // Read only channels-last (channelsLastPooling's input): the reorder writes that layout itself.
      const readers = liveReaders(g, conv.outputs[0]);
      if (readers.length > 0 && readers.every(isToChannelsLast)) {
        const last = g.op("nchwc.ReorderOutput", [y], { channels: o, channels_last: 1 });
        for (const t of readers) g.replaceUses(t.outputs[0], last);
      } else {
        g.replaceUses(conv.outputs[0], g.op("nchwc.ReorderOutput", [y], { channels: o, channels_last: 0 }));
      }
    }
    g.sortTopologically();
  };
}

/** For each place of an OIHW filter in the NCHWc order [O/b, I/b, kh, kw, b(in), b(out)], where it comes from. */
function blockedOrder(o: number, i: number, kh: number, kw: number, b: number): number[] {
  const order: number[] = [];
  for (let ob = 0; ob < o / b; ob++)
    for (let ib = 0; ib < i / b; ib++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++)
          for (let bi = 0; bi < b; bi++)
            for (let bo = 0; bo < b; bo++) order.push((((ob * b + bo) * i + ib * b + bi) * kh + y) * kw + x);
  return order;
}

export const FORWARD_PASSES: readonly Pass[] = [
  phaseConvolutionPooling,
  cropBeforeConvolution,
  sinkCrops,
  channelsLastPooling,
];
export const BACKWARD_PASSES: readonly Pass[] = [im2colWeightGradients];

/** The passes a training graph runs: over the forward graph before differentiation, and after it. */
export interface TrainingPasses {
  forward: readonly Pass[];
  backward: readonly Pass[];
}

/** Which rewrites a training graph gets, as plain data (it crosses to the replicas' worker threads). */
export interface PassChoice {
  /** The CPU's NCHWc block size, when onnxruntime's blocked kernels work here (runtime/nchwc.ts). */
  nchwcBlock?: number;
  /** Passes to leave out, by name: tests and benchmarks check or measure what each one does. */
  skip?: readonly string[];
  /** None at all: the graph exactly as autodiff wrote it, the reference the passes are checked against. */
  none?: boolean;
}

export function trainingPasses(c: PassChoice = {}): TrainingPasses {
  if (c.none) return { forward: [], backward: [eliminateDeadNodes] };
  const kept = (passes: readonly Pass[]) => passes.filter((p) => !(c.skip ?? []).includes(p.name));
  const blocked = c.nchwcBlock ? [nchwcConvolutions(c.nchwcBlock)] : [];
  return {
    forward: kept(FORWARD_PASSES),
    backward: [...kept([...BACKWARD_PASSES, ...blocked]), eliminateDeadNodes],
  };
}

/** The graph exactly as autodiff wrote it. */
export const NO_PASSES: TrainingPasses = trainingPasses({ none: true });

export function runPasses(g: Graph, passes: readonly Pass[]): void {
  for (const pass of passes) pass(g);
}
