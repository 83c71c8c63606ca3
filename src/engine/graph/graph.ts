/**
 * A small in-memory ONNX graph with static shape and dtype tracking.
 *
 * Every value knows its shape when it is created, so gradient rules and rewrite passes can reason about
 * broadcasting, padding and reshapes without asking ONNX Runtime. A dimension of -1 is the symbolic batch
 * ("N"), used only by inference graphs that accept any batch size; training graphs are compiled per batch size.
 */
import type { AttrValue, DType, GraphBuilder, Initializer, Node, Shape, Value } from "./ir.js";
import { sizeOf } from "./ir.js";
import { inferShapes } from "./ops/index.js";

export type { AttrValue, DType, GraphBuilder, Initializer, Node, Shape, Value } from "./ir.js";
export { sizeOf } from "./ir.js";

export class Graph implements GraphBuilder {
  readonly values = new Map<string, Value>();
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers = new Map<string, Initializer>();
  /** Values whose contents are known while building (small int64 constants: shapes, axes, pads). */
  readonly knownInts = new Map<string, readonly number[]>();
  private counter = 0;

  fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  value(name: string): Value {
    const v = this.values.get(name);
    if (!v) throw new Error(`graph has no value named "${name}"`);
    return v;
  }

  shape(name: string): Shape {
    return this.value(name).shape;
  }

  private declare(v: Value): string {
    if (this.values.has(v.name)) throw new Error(`value "${v.name}" is defined twice`);
    this.values.set(v.name, v);
    return v.name;
  }

  input(name: string, shape: Shape, dtype: DType = "float32"): string {
    const n = this.declare({ name, shape, dtype });
    this.inputs.push(this.value(n));
    return n;
  }

  output(name: string): void {
    this.outputs.push(this.value(name));
  }

  initializer(name: string, shape: Shape, data: Float32Array): string {
    if (data.length !== sizeOf(shape)) {
      throw new Error(`initializer "${name}": ${data.length} values do not fill shape [${shape}]`);
    }
    this.declare({ name, shape, dtype: "float32" });
    this.initializers.set(name, { value: this.value(name), data });
    return name;
  }

  /** An int64 constant (shapes, axes, pads, indices), remembered for shape inference. */
  ints(values: readonly number[], hint = "const"): string {
    const name = this.fresh(hint);
    this.declare({ name, shape: [values.length], dtype: "int64" });
    this.initializers.set(name, {
      value: this.value(name),
      data: BigInt64Array.from(values, (x) => BigInt(x)),
    });
    this.knownInts.set(name, values);
    return name;
  }

  /** A float32 scalar constant. */
  scalar(x: number, hint = "scalar"): string {
    const name = this.fresh(hint);
    this.declare({ name, shape: [], dtype: "float32" });
    this.initializers.set(name, { value: this.value(name), data: Float32Array.of(x) });
    return name;
  }

  /** Adds a node and returns its output names; output shapes and dtypes are inferred. */
  opN(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, nOutputs = 1): string[] {
    for (const i of inputs) if (i !== "") this.value(i);
    const outs = Array.from({ length: nOutputs }, () => this.fresh(op.toLowerCase()));
    const node: Node = { op, inputs, outputs: outs, attrs, name: this.fresh(`n_${op}`) };
    const inferred = inferShapes(node, (n) => (n === "" ? undefined : this.value(n)), this.knownInts);
    outs.forEach((name, k) => {
      const info = inferred[k];
      if (!info) throw new Error(`shape inference gave no output ${k} for ${op}`);
      this.declare({ name, shape: info.shape, dtype: info.dtype });
    });
    if (inferred.known) this.knownInts.set(outs[0], inferred.known);
    this.nodes.push(node);
    return outs;
  }

  op(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.opN(op, inputs, attrs, 1)[0];
  }

  /** The node producing a value, if any. */
  producer(name: string): Node | undefined {
    return this.nodes.find((n) => n.outputs.includes(name));
  }

  /** Attaches pass metadata to the node producing `value`. */
  annotate(value: string, meta: Record<string, unknown>): void {
    const node = this.producer(value);
    if (!node) throw new Error(`no node produces "${value}"`);
    node.meta = { ...node.meta, ...meta };
  }

  /** Makes every reader of `from` read `to` instead (graph outputs keep their names). */
  replaceUses(from: string, to: string): void {
    const a = this.value(from);
    const b = this.value(to);
    if (
      a.dtype !== b.dtype ||
      a.shape.length !== b.shape.length ||
      a.shape.some((d, i) => d !== b.shape[i])
    ) {
      throw new Error(
        `cannot replace [${a.shape}] ${a.dtype} "${from}" with [${b.shape}] ${b.dtype} "${to}"`,
      );
    }
    this.nodes.forEach((n, k) => {
      if (n.inputs.includes(from))
        this.nodes[k] = { ...n, inputs: n.inputs.map((i) => (i === from ? to : i)) };
    });
  }

  /** Restores topological order after a pass appended nodes that earlier nodes now read. */
  sortTopologically(): void {
    const ready = new Set<string>([...this.inputs.map((v) => v.name), ...this.initializers.keys()]);
    const pending = [...this.nodes];
    const sorted: Node[] = [];
    while (pending.length) {
      const before = pending.length;
      for (let k = 0; k < pending.length;) {
        const n = pending[k];
        if (n.inputs.every((i) => i === "" || ready.has(i))) {
          sorted.push(n);
          n.outputs.forEach((o) => ready.add(o));
          pending.splice(k, 1);
        } else k++;
      }
      if (pending.length === before)
        throw new Error(`graph has a cycle or a missing value at ${pending[0].op}`);
    }
    this.nodes.splice(0, this.nodes.length, ...sorted);
  }

  /** Gives a value a stable public name by routing it through Identity (for graph outputs). */
  rename(from: string, to: string): string {
    const v = this.value(from);
    this.declare({ name: to, shape: v.shape, dtype: v.dtype });
    this.nodes.push({
      op: "Identity",
      inputs: [from],
      outputs: [to],
      attrs: {},
      name: this.fresh("n_Identity"),
    });
    return to;
  }
}
