/** A simulated writer: MNIST training digits all written one consistent way (turned 30°, 0.8× size, thick pen). */
import { toSplit } from "../../src/data/split.js";
import { transformDigits } from "../../src/robustness/shifts.js";
import { mnistSlice } from "./mnist.js";

export async function simulatedWriter(count: number) {
  const { x, labels } = await mnistSlice("train", 50_000, count);
  const turned = await transformDigits(x, count, { affine: { rotation: 30, scale: 0.8 } });
  const written = await transformDigits(turned, count, { thicker: 1 });
  const pixels = Uint8Array.from(written, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  return toSplit({ count, rows: 28, cols: 28, pixels }, labels);
}
