/** The optimizers' fused WebAssembly updates compute what their graph fragments compute, to the last bit. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { adam, sgd, type Optimizer } from "../../src/engine/compiler/optimizers.js";
import { Graph } from "../../src/engine/graph/graph.js";
import { toOnnx } from "../../src/engine/graph/serialize.js";
import { UpdateKernel } from "../../src/engine/runtime/kernels/update.js";
import { createSession, floatTensor, nodeRuntime, type ort } from "../../src/engine/runtime/ort.js";
import { scalarFeeds } from "../../src/engine/runtime/step.js";

/** Deterministic values spread over several orders of magnitude, both signs. */
function values(n: number, seed: number, scale: number): Float32Array {
  return Float32Array.from(
    { length: n },
    (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * scale * 10 ** ((i % 7) - 3),
  );
}

/** `steps` updates through the optimizer's graph fragment, fed the replicas' gradients weighted by share. */
async function graphUpdates(
  optimizer: Optimizer,
  w: Float32Array,
  partials: Float32Array[][],
  shares: number[],
) {
  const n = w.length;
  const g = new Graph();
  const param = g.input("w", [n]);
  const grads = shares.map((share, r) => g.op("Mul", [g.input(`g${r}`, [n]), g.scalar(share)]));
  const grad = grads.length === 1 ? grads[0] : g.op("Sum", grads);
  const slots = optimizer.slots.map((s) => g.input(s, [n]));
  const scalars = Object.fromEntries(optimizer.scalarInputs.map((s) => [s, g.input(s, [])]));
  const update = optimizer.update(g, param, grad, slots, scalars);
  g.output(g.rename(update.param, "next:w"));
  update.slots.forEach((s, k) => g.output(g.rename(s, `next:${optimizer.slots[k]}`)));
  const session = await createSession(toOnnx(g), { threads: 1 });
  let state: Record<string, ort.Tensor> = { w: floatTensor(w.slice(), [n]) };
  for (const s of optimizer.slots) state[s] = floatTensor(new Float32Array(n), [n]);
  for (let t = 1; t <= partials.length; t++) {
    const feeds: Record<string, ort.Tensor> = { ...state, ...scalarFeeds(nodeRuntime(), optimizer, t) };
    partials[t - 1].forEach((p, r) => (feeds[`g${r}`] = floatTensor(p, [n])));
    const out = await session.run(feeds);
    state = Object.fromEntries(["w", ...optimizer.slots].map((k) => [k, out[`next:${k}`]]));
  }
  await session.release();
  return Object.fromEntries(Object.entries(state).map(([k, v]) => [k, v.data as Float32Array]));
}

describe("fused update kernels", () => {
  const cases: [string, () => Optimizer][] = [
    ["Adam", () => adam()],
    ["Adam, cosine decay", () => adam({ learningRate: 0.01, decaySteps: 3 })],
    ["AdamW", () => adam({ learningRate: 0.01, weightDecay: 0.05 })],
    ["SGD", () => sgd({ learningRate: 0.1 })],
    ["SGD with momentum", () => sgd({ learningRate: 0.05, momentum: 0.9 })],
    ["SGD with Nesterov momentum", () => sgd({ learningRate: 0.05, momentum: 0.9, nesterov: true })],
  ];
  for (const [name, make] of cases) {
    it(`equal the graph's update bit for bit: ${name}, three replicas, four steps, a length not a multiple of 4`, async () => {
      const n = 1031;
      const shares = [0.5, 0.3125, 0.1875];
      const w = values(n, 1, 1);
      const partials = [1, 2, 3, 4].map((t) => shares.map((_, r) => values(n, 10 * t + r, 0.5)));
      const optimizer = make();
      const expected = await graphUpdates(optimizer, w, partials, shares);
      const kernel = new UpdateKernel(n, optimizer.slots.length, shares.length);
      kernel.weights.set(w);
      partials.forEach((step, i) => {
        step.forEach((p, r) => kernel.partials[r].set(p));
        kernel.apply(shares, optimizer.fused(i + 1));
      });
      expect(kernel.weights).not.toEqual(w);
      expect(kernel.weights).toEqual(expected.w);
      optimizer.slots.forEach((s, k) => expect(kernel.slots[k], s).toEqual(expected[s]));
    });
  }

  it("are, with every other kernel, the compiled form of their .wat (scripts/build-kernels.mjs --check)", () => {
    expect(() =>
      execFileSync("node", ["scripts/build-kernels.mjs", "--check"], { stdio: "pipe" }),
    ).not.toThrow();
  });
});
