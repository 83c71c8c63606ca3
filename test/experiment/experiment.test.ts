/** An experiment on a tiny grid: every cell trains, the table and figure are written, and it resumes. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadDataset, type Dataset } from "../../src/data/dataset.js";
import type { Split } from "../../src/data/split.js";
import { gridPoints, readExperiment } from "../../src/experiment/config.js";
import { runExperiment } from "../../src/experiment/grid.js";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "digits-experiment-"));

describe("digits experiment", () => {
  const config = {
    name: "tiny",
    seeds: [1, 2],
    base: { epochs: 2, batchSize: 100, limit: 600, validation: "split:0.2" },
    grid: { augment: ["none", "standard"] },
    also: { drawn: "styles:1" },
  };

  it("trains every cell, never reads the test set before the final scoring, tabulates, draws, and resumes", async () => {
    const dir = tmp();
    const file = path.join(dir, "tiny.json");
    fs.writeFileSync(file, JSON.stringify(config));
    const e = readExperiment(file);
    // The test images and labels are handed out through getters that note when they are read (their count
    // is free: a run may say how many there are).
    const events: string[] = [];
    const watched = (s: Split): Split => ({
      get x() {
        events.push("test read");
        return s.x;
      },
      get labels() {
        events.push("test read");
        return s.labels;
      },
      pixels: s.pixels,
      count: s.count,
    });
    const sources = {
      loadDataset: async (...a: Parameters<typeof loadDataset>): Promise<Dataset> => {
        const data = await loadDataset(...a);
        const test = watched(data.test);
        return { ...data, test, parts: data.parts.map((p) => ({ ...p, test })) };
      },
    };
    const out = path.join(dir, "out");
    const first = await runExperiment(e, out, { onEpochEnd: () => void events.push("epoch") }, sources);
    expect(first.cells.map((c) => [c.point, c.seed, c.reused])).toEqual([
      ["augment=none", 1, false],
      ["augment=none", 2, false],
      ["augment=standard", 1, false],
      ["augment=standard", 2, false],
    ]);
    // Each run: two epochs, then (and only then) the test set, for its final score.
    const runs = events.filter((v, i) => v !== events[i - 1] || v === "epoch"); // one "test read" per scoring
    expect(runs.join(" ")).toBe(Array(4).fill("epoch epoch test read").join(" "));
    for (const p of first.points) {
      expect(p.runs).toBe(2);
      expect(p.accuracy.mean).toBeGreaterThan(0.5);
      expect(p.accuracy.std).toBeGreaterThanOrEqual(0);
      // The drawn digits are scored too: 66 of them (22 styles × 3 pens), so a multiple of 1/66.
      expect(p.also.drawn.mean).toBeGreaterThan(0.1);
    }
    for (const c of first.cells)
      expect(Math.abs(c.also.drawn * 66 - Math.round(c.also.drawn * 66))).toBeLessThan(1e-9);
    const table = fs.readFileSync(first.files.table, "utf8");
    expect(table).toMatch(/augment=standard\s+2\s+\d+\.\d\d% ± \d+\.\d\d%\s+[\d.]+ ± [\d.]+\s+\d+\.\d\d% ± /);
    expect(table.split("\n")[0]).toMatch(/test loss\s+drawn/);
    expect(fs.statSync(path.join(out, "accuracy.png")).size).toBeGreaterThan(1000);
    // A second call finds every cell finished and trains nothing; a deleted cell is trained again.
    // A cell whose extra scores were lost is scored again, not trained again.
    fs.rmSync(path.join(out, "augment=standard", "seed-2", "metrics.json"));
    fs.rmSync(path.join(out, "augment=none", "seed-1", "also.json"));
    const again = await runExperiment(e, out, {}, sources);
    expect(again.cells.map((c) => c.reused)).toEqual([true, true, true, false]);
    expect(again.points[0].accuracy).toEqual(first.points[0].accuracy);
    expect(again.cells[0].also).toEqual(first.cells[0].also);
  });

  it("compares training sets, scoring each model on a named set's held-out test split", async () => {
    const dir = tmp();
    const file = path.join(dir, "sets.json");
    const datasets = path.resolve(import.meta.dirname, "../../../shared/datasets");
    fs.writeFileSync(
      file,
      JSON.stringify({
        name: "sets",
        seeds: [1],
        base: {
          epochs: 1,
          batchSize: 100,
          limit: 600,
          validation: "none",
          dataDir: path.relative(dir, datasets),
        },
        grid: { dataset: ["mnist", "optdigits+mnist"] },
        also: { optdigits: "dataset:optdigits" },
      }),
    );
    const { cells, points } = await runExperiment(readExperiment(file), path.join(dir, "out"));
    expect(cells.map((c) => c.point)).toEqual(["dataset=mnist", "dataset=optdigits_mnist"]);
    // optdigits' validation file: 946 digits, so each score is a multiple of 1/946.
    for (const c of cells)
      expect(Math.abs(c.also.optdigits * 946 - Math.round(c.also.optdigits * 946))).toBeLessThan(1e-6);
    // 600 optdigits digits to learn from beat none.
    expect(points[1].also.optdigits.mean).toBeGreaterThan(points[0].also.optdigits.mean);
  });

  it("refuses the test set as validation, unknown settings, and an empty grid", () => {
    const dir = tmp();
    const write = (c: unknown) => {
      const f = path.join(dir, "e.json");
      fs.writeFileSync(f, JSON.stringify(c));
      return f;
    };
    expect(() => readExperiment(write({ ...config, base: { validation: "test" } }))).toThrow(
      /never on the test set/,
    );
    expect(() => readExperiment(write({ ...config, grid: { dropout: [0.1] } }))).toThrow(
      /"dropout" is not a training setting/,
    );
    expect(() => readExperiment(write({ ...config, grid: {} }))).toThrow(/an empty grid/);
    expect(() => readExperiment(write({ ...config, also: { usps: "usps.idx" } }))).toThrow(
      /styles, styles:N, idx:IMAGES,LABELS or dataset:NAME/,
    );
    // A data directory is found beside the experiment file too.
    const base = readExperiment(write({ ...config, base: { dataDir: "../datasets" } })).base;
    expect(base.dataDir).toBe(path.resolve(dir, "../datasets"));
    // An IDX pair is found beside the experiment file, wherever the command runs.
    const pair = readExperiment(write({ ...config, also: { usps: "idx:data/i.gz,l.gz" } })).also.usps;
    expect(pair).toBe(`idx:${path.join(dir, "data/i.gz")},${path.join(dir, "l.gz")}`);
    expect(gridPoints({ a: [1, 2], b: ["x", "y"] })).toEqual([
      { a: 1, b: "x" },
      { a: 1, b: "y" },
      { a: 2, b: "x" },
      { a: 2, b: "y" },
    ]);
  });
});
