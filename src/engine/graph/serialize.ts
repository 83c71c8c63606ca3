/** Graph → ONNX ModelProto bytes (opset 17), via the protobuf classes of the `onnx-proto` package. */
import onnxProto from "onnx-proto";
import type { AttrValue, DType, Graph, Value } from "./graph.js";
import { NCHWC_DOMAIN, NCHWC_PREFIX } from "./ops/nchwc.js";

const { onnx } = onnxProto;

export const OPSET = 17;

const ELEM: Record<DType, number> = { float32: 1, int64: 7, bool: 9 };

function valueInfo(v: Value, batchName: string): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEM[v.dtype],
        shape: { dim: v.shape.map((d) => (d < 0 ? { dimParam: batchName } : { dimValue: d })) },
      },
    },
  };
}

function attribute(name: string, a: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof a === "number") {
    if (!Number.isInteger(a)) throw new Error(`attribute ${name}: ${a} is not an integer (use { float })`);
    return { name, type: T.INT, i: a };
  }
  if (typeof a === "string") return { name, type: T.STRING, s: new TextEncoder().encode(a) };
  if ("float" in a) return { name, type: T.FLOAT, f: a.float };
  if ("floats" in a) return { name, type: T.FLOATS, floats: [...a.floats] };
  return { name, type: T.INTS, ints: [...a] };
}

function bytesOf(data: Float32Array | BigInt64Array): Uint8Array {
  // ONNX raw_data is little-endian, as are typed arrays on every platform Node supports.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}

export interface SerializeOptions {
  /** Name given to the symbolic batch dimension (-1) in inputs and outputs. */
  batchName?: string;
  docString?: string;
}

export function toOnnx(graph: Graph, opts: SerializeOptions = {}): Uint8Array {
  const batchName = opts.batchName ?? "N";
  const model = onnx.ModelProto.fromObject({
    irVersion: 8,
    producerName: "digits",
    producerVersion: "0.1.0",
    docString: opts.docString ?? "",
    opsetImport: [
      { domain: "", version: OPSET },
      ...(graph.nodes.some((n) => n.op.startsWith(NCHWC_PREFIX))
        ? [{ domain: NCHWC_DOMAIN, version: 1 }]
        : []),
    ],
    graph: {
      name: "digits",
      node: graph.nodes.map((n) => ({
        name: n.name,
        ...(n.op.startsWith(NCHWC_PREFIX)
          ? { opType: n.op.slice(NCHWC_PREFIX.length), domain: NCHWC_DOMAIN }
          : { opType: n.op }),
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v)),
      })),
      initializer: [...graph.initializers.values()].map(({ value, data }) => ({
        name: value.name,
        dims: [...value.shape],
        dataType: ELEM[value.dtype],
        rawData: bytesOf(data),
      })),
      input: graph.inputs.map((v) => valueInfo(v, batchName)),
      output: graph.outputs.map((v) => valueInfo(v, batchName)),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
