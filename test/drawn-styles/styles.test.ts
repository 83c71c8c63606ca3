/** The style test set: drawn as the page draws, reproducible, and scored per style. */
import { describe, expect, it } from "vitest";
import { DEFAULT_MODEL_DIR } from "../../src/paths.js";
import { drawTemplate, styleSet } from "../../src/drawn-styles/draw.js";
import { PAD, PENS } from "../../src/vision/pen.js";
import { scoreStyles, stylesTable } from "../../src/drawn-styles/score.js";
import { TEMPLATES } from "../../src/drawn-styles/templates.js";
import { Random } from "../../src/util/random.js";
import { loadModel } from "../../src/saved/saved-model.js";

describe("style test set", () => {
  it("covers every digit in at least two styles, including the ones MNIST lacks", () => {
    for (let d = 0; d < 10; d++)
      expect(TEMPLATES.filter((t) => t.digit === d).length, `digit ${d}`).toBeGreaterThanOrEqual(2);
    const styles = TEMPLATES.map((t) => `${t.digit} ${t.style}`);
    for (const s of ["1 flag", "7 crossbar", "4 open", "9 curved tail", "3 flat top"])
      expect(styles).toContain(s);
  });

  it("draws each template on the pad with the pen's width, dark on white, the same for the same seed", () => {
    for (const t of TEMPLATES)
      for (const pen of PENS) {
        const a = drawTemplate(t, new Random(4), pen);
        expect(a.length).toBe(PAD * PAD * 4);
        const dark = a.filter((_, i) => i % 4 === 0 && a[i] < 128).length;
        // Ink covers roughly stroke length × pen width: more with a thicker pen, never the whole pad.
        expect(dark, `${t.digit} ${t.style} pen ${pen}`).toBeGreaterThan(pen * 40);
        expect(dark).toBeLessThan(PAD * PAD * 0.5);
        expect(Array.from(drawTemplate(t, new Random(4), pen))).toEqual(Array.from(a));
      }
  });

  it("scores a model per style, and the shipped model reads most drawn digits", async () => {
    const set = styleSet(2, 9);
    expect(set.count).toBe(TEMPLATES.length * PENS.length * 2);
    expect(set.x.every((v) => v >= 0 && v <= 1)).toBe(true);
    const predictor = await loadModel(DEFAULT_MODEL_DIR).predictor();
    const { accuracy, styles, count } = await scoreStyles(predictor, set);
    await predictor.release();
    expect(count).toBe(set.count);
    expect(styles.reduce((n, s) => n + s.count, 0)).toBe(set.count);
    const right = styles.reduce((n, s) => n + s.accuracy * s.count, 0);
    expect(right / count).toBeCloseTo(accuracy, 9);
    expect(accuracy).toBeGreaterThan(0.9);
    expect(stylesTable(styles)).toMatch(/7 crossbar\s+6\s+\d+\.\d%/);
  });
});
