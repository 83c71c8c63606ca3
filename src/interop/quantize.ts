/**
 * Smaller model.onnx files for the web, weights only: `fp16` stores each large float weight as float16 with a
 * Cast back to float32 in front of its users; `int8` stores it as int8 with one scale per tensor (symmetric)
 * and a DequantizeLinear in front. The arithmetic stays float32, so every runtime that ran the model runs
 * these; the cost is the rounding of the weights, which `digits export` measures on MNIST's test set.
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
export const QUANTIZATIONS = ["fp16", "int8"] as const;
export type Quantization = (typeof QUANTIZATIONS)[number];

/** Weights smaller than this stay float32 (biases, batch-norm vectors: nothing to gain). */
const MIN_ELEMENTS = 1024;

/** IEEE half-precision bits of a float (round to nearest even). */
function toHalf(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    if ((mant >> (shift - 1)) & 1 && (mant & ((1 << (shift - 1)) - 1) || half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  if (mant & 0x1000 && (mant & 0xfff || half & 1)) half++;
  return sign | half;
}

function floats(t: onnxProto.onnx.ITensorProto): Float32Array {
  if (t.rawData && t.rawData.length) return new Float32Array(Uint8Array.from(t.rawData).buffer);
  return Float32Array.from(t.floatData ?? []);
}

export function quantizeOnnx(bytes: Uint8Array, kind: Quantization): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const front: onnxProto.onnx.INodeProto[] = [];
  const kept: onnxProto.onnx.ITensorProto[] = [];
  for (const t of graph.initializer ?? []) {
    const n = (t.dims ?? []).reduce((a, b) => a * Number(b), 1);
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT || n < MIN_ELEMENTS) {
      kept.push(t);
      continue;
    }
    const data = floats(t);
    const stored = `${t.name}::${kind}`;
    if (kind === "fp16") {
      const half = Uint16Array.from(data, toHalf);
      kept.push({
        name: stored,
        dims: t.dims,
        dataType: onnx.TensorProto.DataType.FLOAT16,
        rawData: new Uint8Array(half.buffer),
      });
      front.push({
        opType: "Cast",
        input: [stored],
        output: [t.name!],
        attribute: [
          { name: "to", type: onnx.AttributeProto.AttributeType.INT, i: onnx.TensorProto.DataType.FLOAT },
        ],
      });
    } else {
      const scale = data.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-12) / 127;
      const q = Int8Array.from(data, (v) => Math.max(-127, Math.min(127, Math.round(v / scale))));
      kept.push({
        name: stored,
        dims: t.dims,
        dataType: onnx.TensorProto.DataType.INT8,
        rawData: new Uint8Array(q.buffer),
      });
      kept.push({
        name: `${stored}:scale`,
        dims: [],
        dataType: onnx.TensorProto.DataType.FLOAT,
        floatData: [scale],
      });
      front.push({ opType: "DequantizeLinear", input: [stored, `${stored}:scale`], output: [t.name!] });
    }
  }
  graph.initializer = kept;
  graph.node = [...front, ...(graph.node ?? [])];
  model.docString = `${model.docString ?? ""} (weights stored as ${kind})`.trim();
  return onnx.ModelProto.encode(model).finish();
}
