/** Every op the compiler emits, by name: its shape rule and its gradient rule (types.ts says what they are). */
import type { Node, Value } from "../ir.js";
import { ELEMENTWISE_OPS } from "./elementwise.js";
import { LAYOUT_OPS } from "./layout.js";
import { NCHWC_OPS } from "./nchwc.js";
import { NN_OPS } from "./nn.js";
import { REDUCE_OPS } from "./reduce.js";
import type { Inferred, OpDef } from "./types.js";

export const OPS: Readonly<Record<string, OpDef>> = {
  ...ELEMENTWISE_OPS,
  ...NN_OPS,
  ...REDUCE_OPS,
  ...LAYOUT_OPS,
  ...NCHWC_OPS,
};

export function opDef(op: string): OpDef {
  const def = OPS[op];
  if (!def) throw new Error(`op ${op} is not one the compiler knows (no shape or gradient rule)`);
  return def;
}

/** Output shapes and dtypes of a node, from its inputs' (and constant inputs' known contents). */
export function inferShapes(
  node: Node,
  lookup: (name: string) => Value | undefined,
  known: ReadonlyMap<string, readonly number[]>,
): Inferred {
  const ins = node.inputs.map((n) => lookup(n));
  return opDef(node.op).shape({
    node,
    attrs: node.attrs,
    ins,
    x: ins[0] as Value,
    need(i) {
      const v = ins[i];
      if (!v) throw new Error(`${node.op} needs input ${i}`);
      return v;
    },
    constInput(i) {
      const v = known.get(node.inputs[i]);
      if (!v) throw new Error(`${node.op}: input ${i} must be a known constant`);
      return v;
    },
  });
}

export { NOT_DIFFERENTIABLE } from "./types.js";
export type { GradientContext, GradientRule, Inferred, OpDef } from "./types.js";
export { broadcast, reduceTo } from "./elementwise.js";
export { sliceLength } from "./layout.js";
