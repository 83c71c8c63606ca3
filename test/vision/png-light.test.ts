/**
 * The server's PNG fast path gives exactly what sharp's decode gives, to the last bit of every light value,
 * for every colour type and row filter it takes (fast-check: random pictures, encoded by pngjs with each
 * filter), and for real digits; what it does not take (palettes, 16 bits, interlacing, damaged files) goes
 * to sharp.
 */
import fc from "fast-check";
import { PNG } from "pngjs";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { decodeImage } from "../../src/vision/decode.js";
import { pngLight } from "../../src/vision/png-light.js";
import { rgbaLight, type LightSource } from "../../src/vision/preprocess.js";
import { mnistSlice } from "../helpers/mnist.js";

/** Light values by sharp's path: what the server computed before the fast path. */
async function bySharp(png: Uint8Array): Promise<LightSource> {
  const { rgba, width, height } = await decodeImage(png);
  return rgbaLight(rgba, width, height);
}

/** The same light values at full size and reduced as the analysis reduces them. */
async function expectSame(fast: LightSource | undefined, png: Uint8Array) {
  expect(fast).toBeDefined();
  const slow = await bySharp(png);
  for (const factor of [1, 2, 3]) {
    const [a, b] = [fast!.at(factor), slow.at(factor)];
    // Compared as bytes first (fast on big pictures), element by element only to show a difference.
    if (!Buffer.from(a.buffer).equals(Buffer.from(b.buffer))) expect(a, `factor ${factor}`).toEqual(b);
  }
}

/** Every colour type the fast path takes, every row filter pngjs writes (-1: its choice per row), a seed. */
const encodings = [
  fc.constantFrom(0, 2, 4, 6),
  fc.constantFrom(-1, 0, 1, 2, 3, 4),
  fc.integer({ min: 0, max: 2 ** 31 - 1 }),
] as const;

/** Seeded bytes (a linear congruential generator: the same seed, the same picture). */
function bytesFrom(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) & 0x7fffffff) >> 16;
}

/** RGBA pixels written as a PNG of this colour type and row filter. */
const encode = (png: PNG, colorType: number, filterType: number) =>
  new Uint8Array(PNG.sync.write(png, { colorType, inputColorType: 6, filterType } as never));

describe("the PNG fast path", () => {
  it("matches sharp bit for bit: every colour type and filter, random pictures", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        ...encodings,
        async (width, height, colorType, filterType, seed) => {
          const png = new PNG({ width, height, colorType, inputColorType: 6, filterType } as never);
          const next = bytesFrom(seed);
          for (let i = 0; i < png.data.length; i++) png.data[i] = next();
          const bytes = encode(png, colorType, filterType);
          await expectSame(pngLight(bytes, 512), bytes);
        },
      ),
      { numRuns: 120 },
    );
  });

  it("matches sharp bit for bit on paper with ink, up to the working size, two pictures read in turn", async () => {
    // Mostly white (the kernel skips each row's paper on both sides sixteen bytes at a time), ink in strokes.
    const picture = (width: number, height: number, colorType: number, filterType: number, seed: number) => {
      const png = new PNG({ width, height } as never);
      png.data.fill(255);
      const next = bytesFrom(seed);
      for (let stroke = 0; stroke < 3; stroke++) {
        const [y, x0, length] = [next() % height, next() % width, next() % width];
        for (let x = x0; x < Math.min(width, x0 + length); x++)
          for (let c = 0; c < 4; c++) png.data[(y * width + x) * 4 + c] = next() & 255;
      }
      return encode(png, colorType, filterType);
    };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 512 }),
        fc.integer({ min: 1, max: 300 }),
        ...encodings,
        async (width, height, colorType, filterType, seed) => {
          const one = picture(width, height, colorType, filterType, seed);
          const other = picture(height, width, colorType, filterType, seed + 1);
          const [a, b] = [pngLight(one, 512), pngLight(other, 512)]; // b's rows replace a's in the kernel
          await expectSame(a, one);
          await expectSame(b, other);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("matches sharp on real digits: a canvas drawing (RGBA, transparent) and a photo-like grey PNG", async () => {
    const { pixels } = await mnistSlice("t10k", 0, 2);
    const ink = Buffer.from(pixels.subarray(0, 784));
    // The page's canvas: black ink whose alpha is the stroke, on a transparent 280×280.
    const canvas = await sharp(Buffer.alloc(28 * 28 * 3), { raw: { width: 28, height: 28, channels: 3 } })
      .joinChannel(ink, { raw: { width: 28, height: 28, channels: 1 } })
      .resize(280, 280)
      .png()
      .toBuffer();
    const grey = await sharp(Buffer.from(pixels.subarray(784).map((v) => 255 - v)), {
      raw: { width: 28, height: 28, channels: 1 },
    })
      .resize(224, 224)
      .extend({ top: 10, left: 60, bottom: 40, right: 10, background: "#ffffff" })
      .png()
      .toBuffer();
    for (const png of [canvas, grey]) await expectSame(pngLight(png, 512), png);
  });

  it("leaves to sharp what it does not take: palettes, 16 bits, interlacing, too big, damaged", async () => {
    const base = sharp({ create: { width: 30, height: 20, channels: 3, background: "#808080" } });
    expect(pngLight(await base.clone().png({ palette: true }).toBuffer(), 512)).toBeUndefined();
    expect(pngLight(await base.clone().png({ progressive: true }).toBuffer(), 512)).toBeUndefined();
    expect(pngLight(await base.clone().toColourspace("rgb16").png().toBuffer(), 512)).toBeUndefined();
    const plain = await base.clone().png().toBuffer();
    expect(pngLight(plain, 512)).toBeDefined();
    expect(pngLight(plain, 25)).toBeUndefined(); // wider than the working size: sharp shrinks it
    const wide = await sharp({ create: { width: 1100, height: 4, channels: 4, background: "#fff" } })
      .png()
      .toBuffer();
    expect(pngLight(wide, 2000)).toBeUndefined(); // rows wider than the kernel's zero row above the first
    const damaged = Buffer.from(plain);
    damaged[damaged.length - 20] ^= 0xff; // inside the IDAT: its CRC no longer matches
    expect(pngLight(damaged, 512)).toBeUndefined();
    expect(pngLight(plain.subarray(0, plain.length - 30), 512)).toBeUndefined();
  });
});
