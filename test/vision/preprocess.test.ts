/**
 * MNIST's recipe on digits handed over as people hand them over: MNIST test digits re-rendered large,
 * off-centre, dark on light, on transparent backgrounds, with noise. Scored with the shipped model.
 */
import fc from "fast-check";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { argmax } from "../../src/util/argmax.js";
import { DEFAULT_MODEL_DIR } from "../../src/paths.js";
import { Predictor } from "../../src/engine/index.js";
import { Random } from "../../src/util/random.js";
import { loadModel } from "../../src/saved/saved-model.js";
import { decodeImage, prepareImage } from "../../src/vision/decode.js";
import { mnistFromInk } from "../../src/vision/mnist-box.js";
import { NoInkError, preprocess, rgbaLight, type Prepared } from "../../src/vision/preprocess.js";
import { mnistSlice, scaledDigit } from "../helpers/mnist.js";

let predictor: Predictor;
beforeAll(async () => {
  predictor = await Predictor.create(loadModel(DEFAULT_MODEL_DIR).model);
});

type Style = "dark-on-white" | "transparent" | "light-on-dark-noisy" | "grey-paper";

/** One MNIST digit as a person's picture: scaled up, placed off-centre on a larger canvas, in a style. */
function render(
  pixels: Uint8Array,
  rng: Random,
  style: Style,
): { rgba: Uint8Array; width: number; height: number } {
  const scale = 3 + rng.next() * 7; // 3–10×
  const side = Math.round(28 * scale);
  const big = scaledDigit(pixels, side);
  const width = side + Math.round(side * (0.3 + rng.next()));
  const height = side + Math.round(side * (0.3 + rng.next()));
  const ox = rng.next() < 0.5 ? 0 : width - side; // pushed into a corner
  const oy = rng.next() < 0.5 ? 0 : height - side;
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x >= ox && y >= oy && x < ox + side && y < oy + side;
      const ink = inside ? Math.min(1, big[(y - oy) * side + (x - ox)]) : 0;
      const noise = (rng.next() - 0.5) * 0.2;
      const i = 4 * (y * width + x);
      let v: number;
      let a = 255;
      if (style === "dark-on-white") v = 255 * (1 - ink);
      else if (style === "grey-paper") v = 255 * (0.8 - 0.7 * ink + noise * 0.5);
      else if (style === "light-on-dark-noisy") v = 255 * (ink + Math.max(0, noise));
      else {
        v = 20; // dark ink drawn on a transparent canvas
        a = Math.round(255 * ink);
      }
      rgba[i] = rgba[i + 1] = rgba[i + 2] = Math.max(0, Math.min(255, Math.round(v)));
      rgba[i + 3] = a;
    }
  }
  return { rgba, width, height };
}

describe("MNIST-style preprocessing", () => {
  it("recognises ≥ 98% of 1,000 MNIST test digits re-rendered as people give them", async () => {
    const { pixels, labels } = await mnistSlice("t10k", 0, 1000);
    const rng = new Random(2026);
    const styles: Style[] = ["dark-on-white", "transparent", "light-on-dark-noisy", "grey-paper"];
    const x = new Float32Array(1000 * 784);
    for (let i = 0; i < 1000; i++) {
      const { rgba, width, height } = render(pixels.subarray(i * 784, (i + 1) * 784), rng, styles[i % 4]);
      x.set(preprocess(rgbaLight(rgba, width, height)).input, i * 784);
    }
    const p = await predictor.predict(x);
    let correct = 0;
    const perStyle = new Map<Style, number>();
    for (let i = 0; i < 1000; i++) {
      const row = Array.from(p.subarray(i * 10, i * 10 + 10));
      if (argmax(row) === labels[i]) {
        correct++;
        perStyle.set(styles[i % 4], (perStyle.get(styles[i % 4]) ?? 0) + 1);
      }
    }
    console.log(
      `re-rendered MNIST: ${(correct / 10).toFixed(1)}% correct; per style of 250: ${JSON.stringify(Object.fromEntries(perStyle))}`,
    );
    expect(correct / 1000).toBeGreaterThanOrEqual(0.98);
  }, 120_000);

  it("leaves an MNIST digit essentially as it was (it is already in MNIST's form)", async () => {
    const { pixels } = await mnistSlice("t10k", 0, 1);
    const rgba = new Uint8Array(784 * 4);
    pixels.forEach((v, i) => rgba.set([v, v, v, 255], i * 4));
    const { input, inverted } = preprocess(rgbaLight(rgba, 28, 28));
    expect(inverted).toBe(false);
    let diff = 0;
    input.forEach((v, i) => (diff += Math.abs(v - pixels[i] / 255)));
    expect(diff / 784).toBeLessThan(0.05);
  });

  it("fits the ink into 20×20 keeping the aspect ratio, centred by mass", () => {
    const w = 100;
    const h = 300;
    const ink = new Float32Array(w * h);
    for (let y = 50; y < 250; y++) for (let x = 10; x < 30; x++) ink[y * w + x] = 1; // a tall bar, 20×200
    const { input } = mnistFromInk(ink, w, h);
    const rows = new Set<number>();
    const cols = new Set<number>();
    let mass = 0;
    let cx = 0;
    let cy = 0;
    input.forEach((v, i) => {
      if (v > 0.01) {
        rows.add(Math.floor(i / 28));
        cols.add(i % 28);
      }
      mass += v;
      cx += v * (i % 28);
      cy += v * Math.floor(i / 28);
    });
    expect(rows.size).toBe(20);
    expect(cols.size).toBe(2);
    expect(Math.abs(cx / mass - 14)).toBeLessThanOrEqual(0.5); // where MNIST's centres of mass are
    expect(Math.abs(cy / mass - 14)).toBeLessThanOrEqual(0.5);
  });

  it("rejects a blank or flat picture: no ink found", () => {
    const white = new Uint8Array(50 * 40 * 4).fill(255);
    expect(() => preprocess(rgbaLight(white, 50, 40))).toThrow(NoInkError);
    const transparent = new Uint8Array(50 * 40 * 4);
    expect(() => preprocess(rgbaLight(transparent, 50, 40))).toThrow(/no ink found/);
  });

  it("decodes PNG, JPEG and WebP, flattens alpha, and refuses junk and decompression bombs", async () => {
    const { pixels, labels } = await mnistSlice("t10k", 0, 1);
    const dark = Buffer.from(pixels.map((v) => 255 - v));
    const base = sharp(dark, { raw: { width: 28, height: 28, channels: 1 } }).resize(200, 200);
    for (const format of ["png", "jpeg", "webp"] as const) {
      const bytes = await base.clone().toFormat(format).toBuffer();
      const prepared = await prepareImage(bytes, format);
      expect(prepared.inverted).toBe(true);
      const p = await predictor.predict(prepared.input);
      expect(argmax(p), format).toBe(labels[0]);
    }
    await expect(decodeImage(Buffer.from("definitely not an image"), "junk")).rejects.toThrow(
      /junk: not a readable image/,
    );
    const bomb = await sharp({ create: { width: 10000, height: 10000, channels: 3, background: "#ffffff" } })
      .png()
      .toBuffer();
    expect(bomb.length).toBeLessThan(1_000_000); // 100 megapixels in a small file
    await expect(decodeImage(bomb, "bomb")).rejects.toThrow(/bomb: the image is too large/);
    // Refused from the header, before any pixel is decoded: its first 100 bytes (no pixel data at all) get
    // the same answer, where a decoder that had started would call the file unreadable.
    await expect(decodeImage(bomb.subarray(0, 100), "cut bomb")).rejects.toThrow(
      /cut bomb: the image is too large/,
    );
    await expect(decodeImage(bomb.subarray(0, 20), "cut header")).rejects.toThrow(/not a readable image/);
  });
});

describe("a small thin digit on a big canvas", () => {
  it("is found and read, though its ink covers well under 1% of the picture", async () => {
    // A "1": a 4-pixel pen, 70 pixels tall, on a 400×400 white canvas (0.18% ink), off to one side.
    const [w, h] = [400, 400];
    const rgba = new Uint8ClampedArray(w * h * 4).fill(255);
    for (let y = 60; y < 130; y++)
      for (let x = 300; x < 304; x++) rgba.set([0, 0, 0], 4 * (y * w + x + Math.round((130 - y) / 10)));
    const { input, box } = preprocess(rgbaLight(rgba, w, h));
    expect(box.height).toBeGreaterThanOrEqual(70);
    expect(argmax(await predictor.predict(input))).toBe(1);
  });
});

describe("preprocessing under random pictures (fast-check)", () => {
  // Pictures of 1×1 to 48×48 pixels, and of up to 320×320 (analysed reduced): random noise, or a random
  // rectangle of ink on random paper.
  const side = fc.oneof(fc.integer({ min: 1, max: 48 }), fc.integer({ min: 90, max: 320 }));
  const picture = fc
    .record({
      width: side,
      height: side,
      seed: fc.integer(),
      kind: fc.constantFrom("noise", "rectangle", "flat"),
      paper: fc.integer({ min: 0, max: 255 }),
      alpha: fc.constantFrom(0, 128, 255),
    })
    .map(({ width, height, seed, kind, paper, alpha }) => {
      const rng = new Random(seed);
      const rgba = new Uint8ClampedArray(width * height * 4);
      const [x0, y0] = [rng.int(width), rng.int(height)];
      const [x1, y1] = [x0 + rng.int(width - x0) + 1, y0 + rng.int(height - y0) + 1];
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          const inRect = x >= x0 && x < x1 && y >= y0 && y < y1;
          const v = kind === "noise" ? rng.int(256) : kind === "rectangle" && inRect ? 255 - paper : paper;
          rgba.set([v, v, v, kind === "flat" ? alpha : 255], 4 * (y * width + x));
        }
      return { rgba, width, height };
    });

  it("gives every picture a 28×28 input in 0–1 with its ink centred, or a clear no-ink error", () => {
    fc.assert(
      fc.property(picture, ({ rgba, width, height }) => {
        for (const read of [
          () => [preprocess(rgbaLight(rgba, width, height))],
          () => preprocess(rgbaLight(rgba, width, height), { several: true }),
        ]) {
          let out: Prepared[];
          try {
            out = read();
          } catch (e) {
            expect(e).toBeInstanceOf(NoInkError);
            continue;
          }
          for (const { input, box } of out) {
            expect(input.length).toBe(784);
            expect(input.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
            const mass = input.reduce((a, b) => a + b, 0);
            expect(mass).toBeGreaterThan(0);
            const cy = input.reduce((s, v, i) => s + v * Math.floor(i / 28), 0) / mass;
            const cx = input.reduce((s, v, i) => s + v * (i % 28), 0) / mass;
            expect(Math.hypot(cx - 13.5, cy - 13.5)).toBeLessThan(3);
            expect(box.x + box.width).toBeLessThanOrEqual(width);
            expect(box.y + box.height).toBeLessThanOrEqual(height);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("refuses NaN, infinite and out-of-range channel values by name", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, 256]) {
      const rgba = new Float64Array(30 * 30 * 4).fill(255);
      rgba[401] = bad;
      expect(() => preprocess(rgbaLight(rgba, 30, 30))).toThrow(
        `RGBA value ${bad} at 401: each channel is a number from 0 to 255`,
      );
    }
  });

  it("refuses pixels that do not match the stated size", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: -3, max: 3 }),
        (w, h, off) => {
          fc.pre(off !== 0 && w * h * 4 + off >= 0);
          expect(() => preprocess(rgbaLight(new Uint8ClampedArray(w * h * 4 + off), w, h))).toThrow(
            /pixels|RGBA|values/i,
          );
        },
      ),
    );
  });
});
