/**
 * Whether ONNX Runtime's blocked-layout (NCHWc) kernels can take this CPU's training convolutions, and with
 * which block size: it depends on the vector width (8 floats with AVX2, 16 with AVX-512F: both seen on this
 * project's machines) and the domain is internal to onnxruntime. So it is probed, once per process: a small
 * convolution through the nchwcConvolutions pass at each candidate block, against the plain Conv. No match, or
 * DIGITS_NCHWC=off → the portable path.
 */
import { nchwcConvolutions } from "../compiler/passes.js";
import { Graph } from "../graph/graph.js";
import { toOnnx } from "../graph/serialize.js";
import { createSession, floatTensor } from "./ort.js";

const CANDIDATES = [8, 16];
let probed: Promise<number | undefined> | undefined;

/** The block size training uses the blocked kernels with, unless told not to (DIGITS_NCHWC=off). */
export function nchwcBlock(): Promise<number | undefined> {
  return process.env.DIGITS_NCHWC === "off" ? Promise.resolve(undefined) : probeNchwcBlock();
}

/** The block size the blocked kernels compute correctly with here, or undefined. */
export function probeNchwcBlock(): Promise<number | undefined> {
  probed ??= probe();
  return probed;
}

async function convolve(block: number | undefined, x: Float32Array, w: Float32Array): Promise<Float32Array> {
  const g = new Graph();
  const y = g.op("Conv", [g.input("x", [2, 16, 6, 6]), g.input("w", [16, 16, 3, 3])], {
    kernel_shape: [3, 3],
  });
  g.annotate(y, { kind: "conv" }); // a forward convolution, as the pass takes them
  // Read through another node: the pass redirects a value's readers, and a graph output keeps its producer.
  g.output(g.op("Identity", [y]));
  if (block) {
    nchwcConvolutions(block)(g);
    if (!g.nodes.some((n) => n.op === "nchwc.Conv"))
      throw new Error("the nchwcConvolutions pass left the probe's convolution alone");
  }
  const session = await createSession(toOnnx(g), { threads: 1 });
  try {
    const out = await session.run({ x: floatTensor(x, [2, 16, 6, 6]), w: floatTensor(w, [16, 16, 3, 3]) });
    return Float32Array.from(out[g.outputs[0].name].data as Float32Array);
  } finally {
    await session.release();
  }
}

async function probe(): Promise<number | undefined> {
  const x = Float32Array.from({ length: 2 * 16 * 36 }, (_, i) => Math.sin(i * 1.7));
  const w = Float32Array.from({ length: 16 * 16 * 9 }, (_, i) => Math.cos(i * 0.3) * 0.2);
  const plain = await convolve(undefined, x, w);
  for (const block of CANDIDATES) {
    try {
      const y = await convolve(block, x, w);
      if (y.every((v, i) => Math.abs(v - plain[i]) < 1e-4)) return block;
    } catch {
      // The domain or the layout is not there in this onnxruntime: try the next, then fall back.
    }
  }
  return undefined;
}
