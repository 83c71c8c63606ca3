/** Reports from short real training runs: figures as SVG and PNG, the HTML in Chromium, run comparison. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MODEL_DIR, PACKAGE_ROOT } from "../../src/paths.js";
import { loadDataset } from "../../src/data/dataset.js";
import { loadMnist } from "../../src/data/mnist.js";
import { loadModel } from "../../src/saved/saved-model.js";
import { reliability } from "../../src/metrics/calibration.js";
import { writeComparison } from "../../src/report/compare.js";
import { writeReport } from "../../src/report/report.js";
import { trainRun } from "../../src/training/train.js";
import { launchChromium } from "../helpers/browser.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "digits-report-"));
const runA = path.join(tmp, "batch-64");
const runB = path.join(tmp, "batch-128");

beforeAll(async () => {
  const base = {
    architecture: "reference" as const,
    epochs: 2,
    learningRate: 1e-3,
    optimizer: "adam" as const,
    seed: 1,
    validation: "test",
    limit: 2000,
  };
  await trainRun({ ...base, batchSize: 64, out: runA });
  await trainRun({ ...base, batchSize: 128, out: runB });
}, 300_000);

describe("digits report", () => {
  it("scores each population on its own, with the worst held-out writers and their mistakes", async () => {
    const out = path.join(tmp, "report-populations");
    const data = await loadDataset("usps+pendigits", {
      dataDir: path.resolve(PACKAGE_ROOT, "../shared/datasets"),
    });
    const { test } = await loadMnist({ limit: { test: 500 } });
    const result = await writeReport({
      loaded: loadModel(DEFAULT_MODEL_DIR),
      test,
      populations: data,
      out,
    });
    const [usps, pen] = result.populations!;
    expect([usps.name, usps.count, pen.name, pen.count]).toEqual(["usps", 1458, "pendigits", 1499]);
    expect(usps.writers).toBeUndefined();
    expect(pen.writers!.count).toBe(6);
    expect(pen.writers!.worst[0].accuracy).toBeLessThanOrEqual(pen.accuracy);
    // A population's accuracy is its digits' recalls weighted by their counts.
    const weighted = pen.perDigit.reduce((s, d) => s + d.accuracy * d.count, 0) / pen.count;
    expect(weighted).toBeCloseTo(pen.accuracy, 9);
    expect(result.figures.map((f) => f.name)).toEqual(
      expect.arrayContaining(["populations", "worst-writers"]),
    );
    const html = fs.readFileSync(result.html, "utf8");
    expect(html).toMatch(/By population/);
    expect(html).toMatch(new RegExp(`pendigits\\s+1499\\s+${(100 * pen.accuracy).toFixed(2)}%`));
  });

  it("writes every figure as SVG and PNG, and a self-contained HTML page that Chromium opens cleanly", async () => {
    const out = path.join(tmp, "report");
    const written: string[] = [];
    const { test } = await loadMnist();
    const history = JSON.parse(fs.readFileSync(path.join(runA, "history.json"), "utf8"));
    const result = await writeReport({
      loaded: loadModel(path.join(runA, "model")),
      history,
      test,
      out,
      robustness: true,
      onProgress: (m) => written.push(m),
    });
    expect(result.robustness?.map((r) => r.shift)).toContain("rotate +20°");
    expect(result.figures.map((f) => f.name)).toEqual([
      "training-curves",
      "confusion-matrix",
      "per-class",
      "samples",
      "mistakes",
      "reliability",
      "unsure",
      "robustness",
    ]);
    for (const f of result.figures) {
      expect(fs.readFileSync(f.files.svg, "utf8")).toMatch(/^<svg/);
      const meta = await sharp(f.files.png).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(["png", f.size.width, f.size.height]);
      expect(meta.width).toBeGreaterThan(500);
      expect(written.some((m) => m.includes(path.basename(f.files.svg)))).toBe(true);
    }
    expect(result.accuracy).toBeGreaterThan(0.8);
    const html = fs.readFileSync(result.html, "utf8");
    expect(html).not.toMatch(/<script|<link|src="http/); // self-contained: nothing to fetch
    expect((html.match(/<svg/g) ?? []).length).toBe(8);
    expect(html).toMatch(/<h2>Robustness<\/h2>.*rotate \+20°/s);
    // An uncalibrated model: the default threshold, and what it refuses of 100 non-digits of each kind.
    expect(html).toMatch(/<h2>Not digits<\/h2>.*\(60\.0%, uncalibrated\).*<td>all<\/td><td>500<\/td>/s);
    expect(result.refusals.digits.count).toBe(10000);

    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`file://${result.html}`);
      await expect(page.locator("h1").textContent()).resolves.toBe("digits — model report");
      fs.mkdirSync(path.join(PACKAGE_ROOT, "artifacts"), { recursive: true });
      await page.screenshot({ path: path.join(PACKAGE_ROOT, "artifacts", "report.png"), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 120_000);

  it("computes calibration: perfectly calibrated bins have zero ECE, over-confidence shows", () => {
    const probs = new Float32Array([
      0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1,
    ]);
    const nineRight = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    expect(reliability(probs, nineRight, 2).ece).toBeCloseTo(0, 6);
    expect(reliability(probs, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], 2).ece).toBeCloseTo(0.4, 6);
  });
});

describe("digits compare", () => {
  it("overlays the runs' curves and tabulates their final metrics", async () => {
    const out = path.join(tmp, "compare");
    const result = await writeComparison([runA, runB], out);
    expect(result.runs.map((r) => [r.name, r.epochs, r.batchSize])).toEqual([
      ["batch-64", 2, 64],
      ["batch-128", 2, 128],
    ]);
    const meta = await sharp(path.join(out, "curves.png")).metadata();
    expect(meta.width).toBeGreaterThan(500);
    const html = fs.readFileSync(result.html, "utf8");
    expect(html).toMatch(/batch-64[\s\S]*batch-128/);
    await expect(writeComparison([path.join(tmp, "nope")], out)).rejects.toThrow(
      /history.json: not found \(is this a run directory\?\)/,
    );
  });
});
