/**
 * Reverse-mode differentiation over a Graph: one vector-Jacobian rule per ONNX op (graph/ops/), applied in
 * reverse topological order, with contributions to a value summed. The same design as ONNX Runtime's training
 * gradient builder — ops marked non-differentiable stop the gradient — but emitting only standard opset-17
 * ops so onnxruntime-node can run the result.
 */
import type { Graph, Node } from "../graph/graph.js";
import { NOT_DIFFERENTIABLE, opDef } from "../graph/ops/index.js";

export interface Gradients {
  /** Gradient value name for each requested parameter, in the order asked. */
  readonly grads: string[];
}

function nodesBetween(
  g: Graph,
  loss: string,
  wrt: readonly string[],
): { nodes: Node[]; active: Set<string> } {
  // Values that depend on a parameter (forward closure) ...
  const active = new Set(wrt);
  for (const n of g.nodes) {
    if (opDef(n.op).gradient === NOT_DIFFERENTIABLE) continue;
    if (n.inputs.some((i) => active.has(i))) n.outputs.forEach((o) => active.add(o));
  }
  // ... intersected with values the loss depends on (backward closure).
  const needed = new Set([loss]);
  const nodes: Node[] = [];
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k];
    if (!n.outputs.some((o) => needed.has(o))) continue;
    if (!n.inputs.some((i) => active.has(i))) continue;
    nodes.push(n);
    n.inputs.forEach((i) => needed.add(i));
  }
  return { nodes, active };
}

export function differentiate(g: Graph, loss: string, wrt: readonly string[]): Gradients {
  if (g.shape(loss).length !== 0) throw new Error(`loss "${loss}" must be a scalar, is [${g.shape(loss)}]`);
  const { nodes, active } = nodesBetween(g, loss, wrt);
  const contributions = new Map<string, string[]>([[loss, [g.scalar(1, "dloss")]]]);
  const total = (name: string): string | undefined => {
    const parts = contributions.get(name);
    if (!parts || parts.length === 0) return undefined;
    const sum = parts.length === 1 ? parts[0] : g.op("Sum", parts);
    contributions.set(name, [sum]);
    return sum;
  };

  for (const node of nodes) {
    const def = opDef(node.op);
    const rule = def.gradient;
    if (rule === null || rule === NOT_DIFFERENTIABLE) throw new Error(`no gradient rule for op ${node.op}`);
    const dys = node.outputs.map(total);
    if (dys.every((d) => d === undefined)) continue;
    if (!def.everyOutput && dys.some((d, i) => i > 0 && d !== undefined))
      throw new Error(`the gradient rule for op ${node.op} takes a gradient into its first output only`);
    const dxs = rule({ g, node, dy: dys[0] as string, dys, wants: (i) => active.has(node.inputs[i]) });
    node.inputs.forEach((input, i) => {
      const dx = dxs[i];
      if (dx === undefined || !active.has(input)) return;
      const want = g.shape(input);
      const got = g.shape(dx);
      if (want.length !== got.length || want.some((d, k) => d !== got[k])) {
        throw new Error(`gradient rule for ${node.op} gave [${got}] for input [${want}]`);
      }
      const list = contributions.get(input) ?? [];
      list.push(dx);
      contributions.set(input, list);
    });
  }

  return {
    grads: wrt.map((p) => {
      const d = total(p);
      if (d === undefined) throw new Error(`the loss does not depend on "${p}"`);
      return d;
    }),
  };
}
