/**
 * The world's handwriting as `--dataset` sources: pendigits and UNIPEN (real pen trajectories, drawn as the
 * page draws them, split by writer) and optdigits (scanned), read from ../shared/datasets; the download path
 * against a server on 127.0.0.1; and every way a file can be wrong.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDataset, type Dataset } from "../../src/data/dataset.js";
import { parsePenDigits, readGzipText, renderPenDigit } from "../../src/data/strokes.js";
import { splitByWriter } from "../../src/data/writers.js";
import { Random } from "../../src/util/random.js";
import { serveFiles, type FileServer } from "../helpers/http.js";
import { shippedAccuracy } from "../helpers/models.js";

const DATASETS = path.resolve(import.meta.dirname, "../../../shared/datasets");
const PENDIGITS_FILE = path.join(DATASETS, "pendigits", "pendigits-train-strokes.jsonl.gz");
const UNIPEN_FILE = path.join(DATASETS, "unipen", "unipen-1a-strokes.jsonl.gz");
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "digits-pen-"));

const counts = (labels: Uint8Array) => [...Array(10).keys()].map((d) => labels.filter((l) => l === d).length);

/** The rows and columns a 28×28 picture has ink in. */
function inkBox(pixels: Uint8Array): { rows: number[]; cols: number[] } {
  const rows = [...Array(28).keys()].filter((r) => pixels.subarray(r * 28, r * 28 + 28).some((p) => p > 0));
  const cols = [...Array(28).keys()].filter((c) => [...Array(28).keys()].some((r) => pixels[r * 28 + c] > 0));
  return { rows, cols };
}

describe("pendigits", () => {
  let pen: Dataset;
  beforeAll(async () => {
    pen = await loadDataset("pendigits", { dataDir: DATASETS });
  }, 120_000);

  it("reads all 7,494 digits by 30 writers, checked, and holds six writers out whole", () => {
    const [part] = pen.parts;
    expect(part.source).toEqual({ kind: "dir", location: path.join(DATASETS, "pendigits") });
    expect(part.sha256.strokes).toBe("2a56e68a4293a678d52e93a64e58b1d5f37c06ee2fa880ece4880fe925e94e4b");
    expect(pen.train.count + pen.test.count).toBe(7494);
    // The README's counts per digit.
    const all = counts(pen.train.labels).map((n, d) => n + counts(pen.test.labels)[d]);
    expect(all).toEqual([780, 779, 780, 719, 780, 720, 720, 778, 719, 719]);
    const { train, test } = part.writers!;
    const [trainers, testers] = [new Set(train), new Set(test)];
    expect([trainers.size, testers.size]).toEqual([24, 6]);
    expect([...testers].filter((w) => trainers.has(w))).toEqual([]);
    expect([train.length, test.length]).toEqual([pen.train.count, pen.test.count]);
    expect(part.carved).toBe(false);
  });

  it("draws each digit as the page would send it: MNIST's box, and the shipped model reads most", async () => {
    for (let i = 0; i < 50; i++) {
      const { rows, cols } = inkBox(pen.test.pixels.subarray(i * 784, (i + 1) * 784));
      // The ink fits MNIST's 20×20 box, its long side filling it (then placed by its centre of mass).
      expect(Math.max(rows.length, cols.length), `digit ${i}`).toBeGreaterThanOrEqual(19);
      expect(Math.max(rows.length, cols.length), `digit ${i}`).toBeLessThanOrEqual(21);
    }
    expect(await shippedAccuracy(pen.test.x, pen.test.labels)).toBeGreaterThan(0.9);
  });

  it("draws a known digit: the file's first, an 8 by writer 12 in one stroke, read as 8", async () => {
    const [d] = parsePenDigits(await readGzipText(PENDIGITS_FILE), PENDIGITS_FILE);
    expect([d.label, d.writer, d.strokes.length, d.strokes[0][0]]).toEqual([8, "12", 1, [267, 167]]);
    const x = renderPenDigit(d, new Random(1), 20);
    // An 8's ink: in the top half and the bottom half, and across the middle column in both.
    const ink = (y0: number, y1: number) => x.subarray(y0 * 28, y1 * 28).reduce((a, b) => a + b, 0);
    expect(ink(4, 14)).toBeGreaterThan(15);
    expect(ink(14, 24)).toBeGreaterThan(15);
    expect(await shippedAccuracy(x, Uint8Array.of(8))).toBe(1);
  });

  it("draws the same pictures from the same seed, other ones from another", async () => {
    const again = await loadDataset("pendigits", { dataDir: DATASETS });
    expect(Buffer.from(again.test.pixels).equals(Buffer.from(pen.test.pixels))).toBe(true);
    const [d] = parsePenDigits(await readGzipText(PENDIGITS_FILE), PENDIGITS_FILE);
    const a = renderPenDigit(d, new Random(1), 20);
    expect(Array.from(renderPenDigit(d, new Random(1), 20))).toEqual(Array.from(a));
    expect(Array.from(renderPenDigit(d, new Random(2), 20))).not.toEqual(Array.from(a));
  });
});

describe("repeated parts", () => {
  it("repeats a part's training images, a pen set's drawn anew, its test split once", async () => {
    const once = await loadDataset("optdigits+pendigits", { dataDir: DATASETS });
    const twice = await loadDataset("optdigits*2+pendigits*2", { dataDir: DATASETS });
    const [opt, pen] = twice.parts;
    expect([opt.train.count, pen.train.count]).toEqual([2 * 1934, 2 * 5995]);
    expect(twice.test.count).toBe(once.test.count);
    expect(
      Buffer.from(opt.train.pixels.subarray(0, 1934 * 784)).equals(
        Buffer.from(opt.train.pixels.subarray(1934 * 784)),
      ),
    ).toBe(true);
    // The pen set's second copy: the same digits and writers, other pens, sizes, places and slants.
    const [a, b] = [pen.train.pixels.subarray(0, 5995 * 784), pen.train.pixels.subarray(5995 * 784)];
    expect(Buffer.from(a).equals(Buffer.from(once.parts[1].train.pixels))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(Array.from(pen.train.labels.subarray(5995))).toEqual(
      Array.from(pen.train.labels.subarray(0, 5995)),
    );
    expect(pen.writers!.train.slice(5995)).toEqual(pen.writers!.train.slice(0, 5995));
    await expect(loadDataset("pendigits*0", { dataDir: DATASETS })).rejects.toThrow(
      /"pendigits\*0" repeats a part 0 times \(give 1 to 20\)/,
    );
  }, 120_000);
});

describe("UNIPEN", () => {
  it("reads 15,953 digits, writers named by site and id, held out whole", async () => {
    const digits = parsePenDigits(await readGzipText(UNIPEN_FILE), UNIPEN_FILE);
    expect(digits.length).toBe(15953);
    const sites = new Map<string, number>();
    for (const d of digits) sites.set(d.site!, (sites.get(d.site!) ?? 0) + 1);
    expect(sites.size).toBe(17);
    expect([sites.get("syn"), sites.get("apb"), sites.get("lou")]).toEqual([4554, 2033, 7]);
    expect(digits.every((d) => d.writer.startsWith(`${d.site}/`))).toBe(true);
    const { train, test } = splitByWriter(digits);
    const held = new Set(test.map((d) => d.writer));
    expect(train.some((d) => held.has(d.writer))).toBe(false);
    expect(held.size).toBe(Math.floor(new Set(digits.map((d) => d.writer)).size / 5));
    expect(test.length / digits.length).toBeGreaterThan(0.1);
  });
});

describe("optdigits", () => {
  it("reads UCI's training and validation files, native 32×32, boxed as MNIST's", async () => {
    const opt = await loadDataset("optdigits", { dataDir: DATASETS });
    expect([opt.train.count, opt.test.count]).toEqual([1934, 946]);
    expect(opt.parts[0].prepared).toBe(true);
    // The first digits' labels, as the IDX files say.
    expect(Array.from(opt.train.labels.subarray(0, 10))).toEqual([0, 0, 7, 4, 6, 2, 5, 5, 0, 8]);
    expect(Array.from(opt.test.labels.subarray(0, 10))).toEqual([5, 6, 1, 1, 3, 3, 4, 6, 4, 9]);
    const { rows, cols } = inkBox(opt.test.pixels.subarray(0, 784));
    expect(Math.max(rows.length, cols.length)).toBeGreaterThanOrEqual(19);
    expect(Math.max(rows.length, cols.length)).toBeLessThanOrEqual(21);
    expect(await shippedAccuracy(opt.test.x, opt.test.labels)).toBeGreaterThan(0.9);
  });
});

describe("a pen set downloaded, and wrong files", () => {
  let server: FileServer;
  let base: string;
  beforeAll(async () => {
    server = await serveFiles({
      "/good/pendigits-train-strokes.jsonl.gz": fs.readFileSync(PENDIGITS_FILE),
      "/other/pendigits-train-strokes.jsonl.gz": zlib.gzipSync(
        '{"label": 3, "writer": "x", "strokes": [[[0, 0], [1, 1]]]}\n',
      ),
    });
    base = server.base;
  });
  afterAll(() => server.close());

  it("fetches from the first mirror that has it, checks it, keeps it in the cache, then reads the cache", async () => {
    const cache = tmp();
    const got = await loadDataset("pendigits", {
      cacheDir: cache,
      mirrors: [`${base}/missing/`, `${base}/good/`],
    });
    expect(got.parts[0].source).toEqual({ kind: "download", location: cache });
    expect(fs.readdirSync(cache)).toEqual(["pendigits-train-strokes.jsonl.gz"]);
    const again = await loadDataset("pendigits", { cacheDir: cache, mirrors: [] });
    expect(again.parts[0].source.kind).toBe("cache");
    expect(again.train.count).toBe(got.train.count);
  }, 120_000);

  it("refuses a file that is not pendigits, naming it, and leaves nothing behind", async () => {
    const cache = tmp();
    await expect(loadDataset("pendigits", { cacheDir: cache, mirrors: [`${base}/other/`] })).rejects.toThrow(
      /could not download pendigits-train-strokes.jsonl.gz:\n.*other\/pendigits-train-strokes.jsonl.gz: checksum mismatch/,
    );
    expect(fs.readdirSync(cache)).toEqual([]);
    await expect(loadDataset("unipen", { cacheDir: cache, mirrors: [] })).rejects.toThrow(
      /UNIPEN 1a not found: give --data-dir or \$UNIPEN_DIR/,
    );
  });

  it("names a corrupt or foreign file in a data directory, and a bad line", async () => {
    const dir = tmp();
    const file = path.join(dir, "pendigits-train-strokes.jsonl.gz");
    fs.writeFileSync(file, fs.readFileSync(PENDIGITS_FILE).subarray(0, 5000));
    await expect(loadDataset("pendigits", { dataDir: dir })).rejects.toThrow(
      new RegExp(`${file}: corrupt gzip data`),
    );
    // In a mixture, the error says which part.
    await expect(loadDataset("pendigits+unipen", { dataDir: dir })).rejects.toThrow(
      new RegExp(`^pendigits \\(part 1 of pendigits\\+unipen\\): ${file}: corrupt gzip data`),
    );
    fs.writeFileSync(file, zlib.gzipSync("not strokes\n"));
    await expect(loadDataset("pendigits", { dataDir: dir })).rejects.toThrow(
      new RegExp(`${file}: checksum mismatch .* the file is corrupt or not pendigits`),
    );
    const bad = (line: string) => () => parsePenDigits(new TextEncoder().encode(line), "mine.jsonl");
    expect(bad('{"label": 3, "writer": 1, "strokes": []}')).toThrow(/mine.jsonl line 1: no strokes/);
    expect(bad('{"label": 12, "writer": 1, "strokes": [[[0, 0]]]}')).toThrow(
      /mine.jsonl line 1: no label 0–9/,
    );
    expect(bad('\n{"label": 1, "strokes": [[[0, 0]]]}')).toThrow(/mine.jsonl line 2: no writer/);
    expect(bad("[1, 2")).toThrow(/mine.jsonl line 1: not JSON/);
    expect(bad("\n\n")).toThrow(/mine.jsonl: no digits in it/);
  });
});
