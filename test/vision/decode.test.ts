/** The 28×28 the model saw, as a PNG for people: exact pixels, and scaled up without blurring. */
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { inputToPng } from "../../src/vision/png.js";
import { mnistSlice } from "../helpers/mnist.js";

describe("inputToPng", () => {
  it("writes a grey PNG whose pixels are the input's, each scale×scale", async () => {
    const { x, pixels } = await mnistSlice("t10k", 0, 1);
    for (const scale of [1, 3]) {
      const png = inputToPng(x, scale);
      const meta = await sharp(png).metadata();
      expect([meta.format, meta.width, meta.height, meta.channels]).toEqual([
        "png",
        28 * scale,
        28 * scale,
        1,
      ]);
      const data = await sharp(png).toColourspace("b-w").raw().toBuffer();
      for (let y = 0; y < 28 * scale; y++) {
        for (let col = 0; col < 28 * scale; col++) {
          const expected = pixels[Math.floor(y / scale) * 28 + Math.floor(col / scale)];
          if (data[y * 28 * scale + col] !== expected) throw new Error(`pixel ${col},${y} at scale ${scale}`);
        }
      }
    }
  });
});
