import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  encodeImages,
  encodeLabels,
  IdxError,
  parseImages,
  parseLabels,
  readImages,
  readLabels,
} from "../../src/data/idx.js";
import { MNIST_PACKAGE_DIR } from "../helpers/mnist.js";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "digits-idx-"));

describe("IDX reader", () => {
  it("reads the real MNIST test files: counts, sizes, first labels, class counts", async () => {
    const images = await readImages(path.join(MNIST_PACKAGE_DIR, "t10k-images-idx3-ubyte"));
    const labels = await readLabels(path.join(MNIST_PACKAGE_DIR, "t10k-labels-idx1-ubyte"));
    expect([images.count, images.rows, images.cols]).toEqual([10000, 28, 28]);
    expect(Array.from(labels.labels.slice(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    const counts = new Array(10).fill(0);
    labels.labels.forEach((l) => counts[l]++);
    expect(counts).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  it("reads gzip by content, whatever the file is called", async () => {
    const dir = tmp();
    const raw = fs.readFileSync(path.join(MNIST_PACKAGE_DIR, "t10k-labels-idx1-ubyte"));
    fs.writeFileSync(path.join(dir, "labels.idx"), zlib.gzipSync(raw));
    expect((await readLabels(path.join(dir, "labels.idx"))).count).toBe(10000);
  });

  it("round-trips what it encodes", () => {
    const pixels = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 10);
    const back = parseImages(encodeImages({ count: 2, rows: 3, cols: 4, pixels }));
    expect([back.count, back.rows, back.cols]).toEqual([2, 3, 4]);
    expect(Array.from(back.pixels)).toEqual(Array.from(pixels));
    expect(Array.from(parseLabels(encodeLabels(Uint8Array.of(3, 1, 4))).labels)).toEqual([3, 1, 4]);
  });

  it("names the file and the problem for corrupt input", async () => {
    const good = encodeImages({ count: 2, rows: 28, cols: 28, pixels: new Uint8Array(2 * 784) });
    expect(() => parseImages(good.subarray(0, 100), "a.idx")).toThrow(
      "a.idx: truncated: header says 2 images of 28×28 (1584 bytes), file has 100",
    );
    expect(() => parseImages(good.subarray(0, 10), "a.idx")).toThrow(
      /a.idx: truncated: 10 bytes is shorter than the 16-byte IDX header/,
    );
    expect(() => parseImages(encodeLabels(Uint8Array.of(1)), "l.idx")).toThrow(
      /bad magic number 2049.*\(this is a label file\)/,
    );
    expect(() => parseLabels(good, "i.idx")).toThrow(/bad magic number 2051.*\(this is an image file\)/);
    expect(() => parseLabels(encodeLabels(Uint8Array.of(1, 12)), "l.idx")).toThrow(
      "l.idx: label 12 at index 1 is not a class 0–9",
    );
    const extra = new Uint8Array(good.length + 5);
    extra.set(good);
    expect(() => parseImages(extra, "x")).toThrow(/too long/);
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "bad.gz"), Uint8Array.of(0x1f, 0x8b, 8, 0, 1, 2, 3));
    await expect(readImages(path.join(dir, "bad.gz"))).rejects.toThrow(/bad.gz: corrupt gzip data/);
    await expect(readImages(path.join(dir, "missing"))).rejects.toThrow(/missing: file not found/);
  });
});

describe("IDX reader under random input (fast-check)", () => {
  const header = (words: number[]) => {
    const b = new Uint8Array(4 * words.length);
    const v = new DataView(b.buffer);
    words.forEach((w, i) => v.setUint32(4 * i, w >>> 0, false));
    return b;
  };

  it("round-trips any small image set and label list it encodes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.infiniteStream(fc.integer({ min: 0, max: 255 })),
        (count, rows, cols, values) => {
          const pixels = Uint8Array.from(values.take(count * rows * cols));
          const back = parseImages(encodeImages({ count, rows, cols, pixels }));
          expect([back.count, back.rows, back.cols]).toEqual([count, rows, cols]);
          expect(Array.from(back.pixels)).toEqual(Array.from(pixels));
          const labels = Uint8Array.from(values.take(count), (v) => v % 10);
          expect(Array.from(parseLabels(encodeLabels(labels)).labels)).toEqual(Array.from(labels));
        },
      ),
    );
  });

  it("gives random bytes either a consistent parse or an IdxError naming the file, nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, asImages) => {
        // Half the time, a valid magic number up front, so the deeper checks are reached too.
        const b = Uint8Array.from(bytes);
        if (b.length >= 4 && bytes[0] % 2 === 0) b.set(header([asImages ? 2051 : 2049]));
        try {
          if (asImages) {
            const r = parseImages(b, "r.idx");
            expect(r.pixels.length).toBe(r.count * r.rows * r.cols);
          } else expect(parseLabels(b, "r.idx").labels.length).toBe(parseLabels(b, "r.idx").count);
        } catch (e) {
          expect(e).toBeInstanceOf(IdxError);
          expect((e as Error).message).toMatch(/^r\.idx: /);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses every truncation of a valid file, and huge declared sizes, without reading past the end", () => {
    const good = encodeImages({ count: 3, rows: 5, cols: 4, pixels: new Uint8Array(60).fill(7) });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), (cut) => {
        expect(() => parseImages(good.subarray(0, cut), "t.idx")).toThrow(/t\.idx: truncated/);
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 2 ** 20, max: 2 ** 32 - 1 }),
        fc.integer({ min: 1, max: 2 ** 32 - 1 }),
        (count, side) => {
          const huge = header([2051, count, side, side]);
          expect(() => parseImages(huge, "h.idx")).toThrow(/h\.idx: truncated: header says/);
          expect(() => parseLabels(header([2049, count]), "h.idx")).toThrow(/h\.idx: truncated: header says/);
        },
      ),
    );
  });

  it("never inflates a gzip past what its IDX header declares: a 1 GiB bomb fails fast and small", async () => {
    const dir = tmp();
    const bomb = path.join(dir, "bomb.gz");
    const gz = zlib.createGzip({ level: 9 });
    const chunks: Buffer[] = [];
    gz.on("data", (c: Buffer) => chunks.push(c));
    gz.write(header([2051, 10, 28, 28])); // declares 7,856 bytes
    const zeros = Buffer.alloc(1 << 20);
    for (let i = 0; i < 1024; i++) gz.write(zeros);
    gz.end();
    await new Promise((r) => gz.on("end", r));
    fs.writeFileSync(bomb, Buffer.concat(chunks)); // ~1 MB on disk
    const rss = process.memoryUsage().rss;
    const t0 = performance.now();
    await expect(readImages(bomb)).rejects.toThrow(
      /bomb\.gz: inflates to more than the 7,856 bytes its header declares/,
    );
    // The bounds this checks: well under a second, and no more memory than the declared size allows.
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 << 20);
    const huge = path.join(dir, "huge.gz");
    fs.writeFileSync(huge, zlib.gzipSync(header([2051, 100_000, 1000, 1000])));
    await expect(readImages(huge)).rejects.toThrow(
      /huge\.gz: its header declares 100,000,000,016 bytes, more than digits reads/,
    );
    const text = path.join(dir, "text.gz");
    fs.writeFileSync(text, zlib.gzipSync("not an idx file at all"));
    await expect(readImages(text)).rejects.toThrow(/text\.gz: gzip data that is not an IDX file/);
  });
});
