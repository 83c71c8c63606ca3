/** The model's 28×28 input as a PNG, for people (the server's reply, the report's thumbnails). */
import { PNG } from "pngjs";
import { SIZE } from "./preprocess.js";

/**
 * A 28×28 input as a grey PNG (white on black), each pixel scaled to scale×scale for people: what the model
 * saw. pngjs, not sharp: for 784 pixels sharp's round trip through its thread pool costs ~1 ms per call, a
 * quarter of the server's work per request, where pngjs takes ~0.05 ms.
 */
export function inputToPng(input: Float32Array, scale = 1): Buffer {
  const side = SIZE * scale;
  const png = new PNG({ width: side, height: side, colorType: 0 });
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const v = Math.round(
        Math.min(1, Math.max(0, input[Math.floor(y / scale) * SIZE + Math.floor(x / scale)])) * 255,
      );
      const o = (y * side + x) * 4;
      png.data[o] = png.data[o + 1] = png.data[o + 2] = v;
      png.data[o + 3] = 255;
    }
  }
  return PNG.sync.write(png, { colorType: 0 });
}
