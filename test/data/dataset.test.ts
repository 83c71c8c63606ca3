/**
 * `--dataset`: USPS (../shared's copy, and a real download from a server on 127.0.0.1 serving the book's text
 * file made from it), Fashion-MNIST from Debian's package, IDX pairs of any size, a folder of real MNIST
 * digits saved as pictures of several sizes, mixtures, and every way they can be wrong.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { carve, loadDataset } from "../../src/data/dataset.js";
import { readImages, readLabels } from "../../src/data/idx.js";
import { FASHION_MNIST } from "../../src/data/known.js";
import { toSplit } from "../../src/data/split.js";
import { serveFiles, type FileServer } from "../helpers/http.js";
import { shippedAccuracy } from "../helpers/models.js";
import { MNIST_PACKAGE_DIR, mnistSlice, scaledDigit } from "../helpers/mnist.js";

const DATASETS = path.resolve(import.meta.dirname, "../../../shared/datasets");
const USPS_DIR = path.join(DATASETS, "usps");
/** Byte-equal (toEqual walks a million-element array slowly). */
const same = (a: Uint8Array, b: Uint8Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "digits-dataset-"));

/** The book's zip.train text for the 16×16 IDX digits: label, then 256 values in [-1, 1] to 4 decimals. */
async function zipTrainText(): Promise<string> {
  const images = await readImages(path.join(USPS_DIR, "usps16-train-images-idx3-ubyte.gz"));
  const labels = await readLabels(path.join(USPS_DIR, "usps16-train-labels-idx1-ubyte.gz"));
  const lines: string[] = [];
  for (let i = 0; i < images.count; i++) {
    const values = Array.from(images.pixels.subarray(i * 256, (i + 1) * 256), (p) =>
      ((p / 255) * 2 - 1).toFixed(4),
    );
    lines.push(`${labels.labels[i].toFixed(4)} ${values.join(" ")}`);
  }
  return `${lines.join("\n")}\n`;
}

describe("USPS", () => {
  it("loads from a folder of datasets, holds every fifth digit out as its test split, and boxes each digit as MNIST's", async () => {
    const usps = await loadDataset("usps", { dataDir: DATASETS });
    const [part] = usps.parts;
    expect(part.source).toEqual({ kind: "dir", location: USPS_DIR });
    expect([usps.train.count, usps.test.count]).toEqual([5833, 1458]);
    expect([part.carved, part.prepared]).toEqual([true, true]);
    // The README's first labels are 6, 5, 4, 7, 3, 6, 3, 1, 0, 1: the fifth and the tenth are held out.
    expect(Array.from(usps.train.labels.subarray(0, 8))).toEqual([6, 5, 4, 7, 6, 3, 1, 0]);
    expect(Array.from(usps.test.labels.subarray(0, 2))).toEqual([3, 1]);
    // Native 16×16 digits fill their box; after the recipe they sit in MNIST's 20×20 box in 28×28.
    const first = usps.test.pixels.subarray(0, 784);
    const rows = [...Array(28).keys()].filter((r) => first.subarray(r * 28, r * 28 + 28).some((p) => p > 0));
    expect(rows[0]).toBeGreaterThanOrEqual(3);
    expect(rows[rows.length - 1]).toBeLessThanOrEqual(24);
    expect(await shippedAccuracy(usps.test.x, usps.test.labels)).toBeGreaterThan(0.97);
  });

  it("reads $USPS_DIR, and says where to get it when it is nowhere", async () => {
    process.env.USPS_DIR = USPS_DIR;
    try {
      expect((await loadDataset("usps")).parts[0].source.location).toBe(USPS_DIR);
    } finally {
      delete process.env.USPS_DIR;
    }
    await expect(loadDataset("usps", { cacheDir: tmp(), mirrors: [] })).rejects.toThrow(
      /USPS not found: give --data-dir or \$USPS_DIR/,
    );
  });

  describe("downloaded", () => {
    let server: FileServer;
    let base: string;
    beforeAll(async () => {
      server = await serveFiles({
        "/book/zip.train.gz": zlib.gzipSync(await zipTrainText()),
        "/bad/zip.train.gz": zlib.gzipSync("1.0000 0.5 -1\n"),
      });
      base = server.base;
    });
    afterAll(() => server.close());

    it("converts the book's text file to checked IDX in the cache, fetched once, then reads the cache", async () => {
      const cache = tmp();
      const before = server.gets();
      const usps = await loadDataset("usps", {
        cacheDir: cache,
        mirrors: [`${base}/missing/`, `${base}/book/`],
      });
      expect(usps.parts[0].source).toEqual({ kind: "download", location: cache });
      expect(server.gets() - before).toBe(3); // the missing mirror for each file, the book once for both
      expect(fs.readdirSync(cache).sort()).toEqual([
        "usps16-train-images-idx3-ubyte.gz",
        "usps16-train-labels-idx1-ubyte.gz",
      ]);
      const shared = await loadDataset("usps", { dataDir: USPS_DIR });
      expect(same(usps.train.pixels, shared.train.pixels)).toBe(true);
      const again = server.gets();
      expect(
        (await loadDataset("usps", { cacheDir: cache, mirrors: [`${base}/book/`] })).parts[0].source.kind,
      ).toBe("cache");
      expect(server.gets()).toBe(again);
    });

    it("refuses a file that is not the book's and leaves nothing behind", async () => {
      const cache = tmp();
      await expect(loadDataset("usps", { cacheDir: cache, mirrors: [`${base}/bad/`] })).rejects.toThrow(
        /could not download usps16-train-images-idx3-ubyte.gz:\n.*bad\/: zip.train line 1: expected a label 0–9 and 256 values/,
      );
      expect(fs.readdirSync(cache)).toEqual([]);
    });
  });
});

describe("Fashion-MNIST", () => {
  const installed = FASHION_MNIST.packages()[0].location !== undefined;
  it.runIf(installed)("comes from Debian's package, checked by content, untouched (28×28)", async () => {
    const f = await loadDataset("fashion-mnist");
    expect(f.parts[0].source).toEqual({ kind: "package", location: "/usr/share/datasets/fashion-mnist" });
    expect([f.train.count, f.test.count, f.parts[0].carved, f.parts[0].prepared]).toEqual([
      60000,
      10000,
      false,
      false,
    ]);
    expect(Array.from(f.train.labels.subarray(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    expect(f.classes[9]).toBe("Ankle boot");
    // Digits and clothes do not mix.
    await expect(loadDataset("mnist+fashion-mnist")).rejects.toThrow(
      /fashion-mnist's classes \(T-shirt\/top, .*\) are not mnist's/,
    );
  });
  it.runIf(!installed)("is refused with where to get it when Debian's package is missing", async () => {
    await expect(loadDataset("fashion-mnist", { cacheDir: tmp(), mirrors: [] })).rejects.toThrow(
      /install Debian's dataset-fashion-mnist/,
    );
  });
});

describe("IDX pairs and mixtures", () => {
  it("takes 28×28 IDX as it is and boxes any other size", async () => {
    const mnist = path.join(MNIST_PACKAGE_DIR, "t10k");
    const asIs = await loadDataset(`idx:${mnist}-images-idx3-ubyte,${mnist}-labels-idx1-ubyte`);
    const images = await readImages(`${mnist}-images-idx3-ubyte`);
    const all = toSplit(images, (await readLabels(`${mnist}-labels-idx1-ubyte`)).labels);
    expect(asIs.parts[0].prepared).toBe(false);
    expect(same(asIs.test.pixels, carve(all).test.pixels)).toBe(true);
    const u = path.join(USPS_DIR, "usps16-train");
    const boxed = await loadDataset(`idx:${u}-images-idx3-ubyte.gz,${u}-labels-idx1-ubyte.gz`);
    expect(boxed.parts[0].prepared).toBe(true);
    expect(same(boxed.test.pixels, (await loadDataset("usps", { dataDir: USPS_DIR })).test.pixels)).toBe(
      true,
    );
  });

  it("joins mnist+usps: training sets one after the other, each part scored on its own test split", async () => {
    const both = await loadDataset("mnist+usps", { dataDir: DATASETS });
    expect(both.parts.map((p) => [p.name, p.train.count, p.test.count, p.carved])).toEqual([
      ["mnist", 60000, 10000, false],
      ["usps", 5833, 1458, true],
    ]);
    expect([both.train.count, both.test.count]).toEqual([65833, 11458]);
    expect(both.train.labels[60000]).toBe(6);
  });

  it("names the problem: an unknown set, a lone IDX file, files that do not belong together", async () => {
    await expect(loadDataset("emnist")).rejects.toThrow(
      /unknown dataset "emnist": give mnist, usps, fashion-mnist, pendigits, unipen, optdigits, idx:/,
    );
    await expect(loadDataset("mnist+")).rejects.toThrow(/an empty part/);
    await expect(loadDataset("idx:only-one.gz")).rejects.toThrow(/give idx:IMAGES,LABELS/);
    const m = path.join(MNIST_PACKAGE_DIR, "t10k");
    await expect(
      loadDataset(`idx:${m}-images-idx3-ubyte,${path.join(USPS_DIR, "usps16-train-labels-idx1-ubyte.gz")}`),
    ).rejects.toThrow(
      /t10k-images-idx3-ubyte has 10000 images but .*usps16-train-labels-idx1-ubyte.gz has 7291 labels/,
    );
  });
});

describe("a folder of pictures", () => {
  /** Real MNIST test digits as a person's pictures: dark ink on white, 28–140 px, in PATH/<label>/. */
  async function digitFolder(count: number): Promise<{ dir: string; labels: number[] }> {
    const dir = tmp();
    const { pixels, labels } = await mnistSlice("t10k", 0, count);
    for (let i = 0; i < count; i++) {
      const side = 28 + ((i * 37) % 113);
      const ink = scaledDigit(pixels.subarray(i * 784, (i + 1) * 784), side);
      const grey = Buffer.from(Array.from(ink, (v) => 255 - Math.round(v * 255)));
      fs.mkdirSync(path.join(dir, String(labels[i])), { recursive: true });
      const file = path.join(
        dir,
        String(labels[i]),
        `${String(i).padStart(3, "0")}.${i % 2 ? "jpg" : "png"}`,
      );
      await sharp(grey, { raw: { width: side, height: side, channels: 1 } }).toFile(file);
    }
    return { dir, labels: Array.from(labels) };
  }

  it("reads PATH/<label>/* through the whole recipe, labels from the folder names", async () => {
    const { dir } = await digitFolder(200);
    fs.writeFileSync(path.join(dir, ".DS_Store"), "Finder's");
    const d = await loadDataset(`folder:${dir}`);
    expect([d.train.count, d.test.count, d.parts[0].carved]).toEqual([160, 40, true]);
    const all = [...d.train.labels, ...d.test.labels].sort();
    const want = (await mnistSlice("t10k", 0, 200)).labels;
    expect(all).toEqual([...want].sort());
    // Scaled, inverted, JPEG-compressed MNIST digits, back through the recipe: the shipped model reads them.
    expect(await shippedAccuracy(d.train.x, d.train.labels)).toBeGreaterThan(0.95);
    expect(d.parts[0].sha256.pictures).toMatch(/^[0-9a-f]{64}$/);
  });

  it("names the file that is wrong: not a picture, an unknown label, a blank picture, a broken one", async () => {
    const { dir } = await digitFolder(12);
    const expectError = async (setup: () => void, message: RegExp) => {
      setup();
      await expect(loadDataset(`folder:${dir}`)).rejects.toThrow(message);
    };
    const notes = path.join(dir, "7", "notes.txt");
    await expectError(() => fs.writeFileSync(notes, "x"), /7\/notes\.txt: not a picture/);
    fs.rmSync(notes);
    const other = path.join(dir, "x");
    await expectError(() => fs.mkdirSync(other), /\/x: unknown label "x" \(label folders are named 0–9\)/);
    fs.rmSync(other, { recursive: true });
    const blank = path.join(dir, "2", "blank.png");
    await sharp({ create: { width: 40, height: 40, channels: 3, background: "white" } })
      .png()
      .toFile(blank);
    await expectError(() => {}, /2\/blank\.png: no ink found/);
    fs.writeFileSync(blank, Buffer.from("\x89PNG\r\n\x1a\n broken"));
    await expectError(() => {}, /2\/blank\.png: not a readable image/);
    await expect(loadDataset(`folder:${path.join(dir, "nope")}`)).rejects.toThrow(/folder not found/);
  });
});
