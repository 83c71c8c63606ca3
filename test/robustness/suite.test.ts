/** The robustness suite on real test digits with the shipped model: every shift runs, and each does what it says. */
import { beforeAll, describe, expect, it } from "vitest";
import { evaluate } from "../../src/engine/index.js";
import { DEFAULT_MODEL_DIR } from "../../src/paths.js";
import { robustness, robustnessTable, type ShiftScore } from "../../src/robustness/suite.js";
import { SHIFTS } from "../../src/robustness/shifts.js";
import { loadModel } from "../../src/saved/saved-model.js";
import { mnistSlice } from "../helpers/mnist.js";

let scores: ShiftScore[];
let plain: number;
const model = loadModel(DEFAULT_MODEL_DIR).model;

beforeAll(async () => {
  const test = await mnistSlice("t10k", 0, 1000);
  const predictor = await loadModel(DEFAULT_MODEL_DIR).predictor();
  scores = await robustness(predictor, { ...test, count: 1000 });
  await predictor.release();
  plain = (await evaluate(model, test.x, test.labels)).accuracy;
});

describe("robustness suite", () => {
  it("scores every shift, the first being the plain test digits", () => {
    expect(scores.map((s) => s.shift)).toEqual(SHIFTS.map((s) => s.name));
    expect(scores[0].accuracy).toBe(plain);
    for (const s of scores) expect(s.change).toBeCloseTo(100 * (s.accuracy - plain), 9);
    expect(robustnessTable(scores)).toMatch(/rotate \+20°\s+\d+\.\d\d%\s+-?\d/);
  });

  it("hurts more the further a digit is turned, and a 3×3 dilation hurts more than half an erosion", () => {
    const acc = (name: string) => scores.find((s) => s.shift === name)?.accuracy as number;
    expect(acc("rotate +20°")).toBeLessThan(acc("rotate +10°"));
    expect(acc("rotate −20°")).toBeLessThan(acc("rotate −10°"));
    expect(acc("rotate +20°")).toBeLessThan(plain);
    expect(acc("thicker")).toBeLessThan(acc("thinner"));
  });

  it("moves pixels: each geometric shift changes the digits, and keeps them in 0–1", async () => {
    const { x } = await mnistSlice("t10k", 0, 20);
    for (const shift of SHIFTS.slice(1)) {
      const y = await shift.apply(x, 20);
      expect(y.length, shift.name).toBe(x.length);
      expect(
        y.every((v) => v >= -1e-6 && v <= 1 + 1e-6),
        shift.name,
      ).toBe(true);
      expect(Math.max(...y.map((v, i) => Math.abs(v - x[i]))), shift.name).toBeGreaterThan(0.1);
    }
  });
});
