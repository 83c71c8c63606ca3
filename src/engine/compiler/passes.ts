/**
 * Rewrite passes over a built graph. Each pass keeps the graph's outputs numerically equal (checked in
 * test/engine/passes.test.ts) and exists only because it makes ONNX Runtime faster or the graph smaller.
 */
import type { Graph } from "./graph.js";

export type Pass = (g: Graph) => void;

/** Removes nodes whose outputs nothing reads (gradient rules may build values that end up unused). */
export const eliminateDeadNodes: Pass = (g) => {
  const live = new Set(g.outputs.map((o) => o.name));
  const keep: boolean[] = new Array(g.nodes.length).fill(false);
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k];
    if (n.outputs.some((o) => live.has(o))) {
      keep[k] = true;
      n.inputs.forEach((i) => live.add(i));
    }
  }
  const kept = g.nodes.filter((_, k) => keep[k]);
  g.nodes.splice(0, g.nodes.length, ...kept);
  for (const name of [...g.initializers.keys()]) if (!live.has(name)) g.initializers.delete(name);
};

export const PASSES: readonly Pass[] = [eliminateDeadNodes];

export function runPasses(g: Graph, passes: readonly Pass[] = PASSES): void {
  for (const pass of passes) pass(g);
}
