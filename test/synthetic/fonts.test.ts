/** Font-rendered training digits: every installed handwriting font draws every digit, and sets are cached. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Random } from "../../src/util/random.js";
import { availableFonts, fontDigits, HANDWRITING_FONTS, renderFontDigit } from "../../src/synthetic/fonts.js";
import { preprocess, rgbaLight } from "../../src/vision/preprocess.js";

describe("font digits", () => {
  it("finds the handwriting fonts .ci/run installs", () => {
    expect(
      availableFonts(),
      `install: ${[...new Set(HANDWRITING_FONTS.map((f) => f.pkg))].join(" ")}`,
    ).toEqual(HANDWRITING_FONTS.map((f) => f.file));
  });

  it("draws every digit in every font with ink the preprocessing finds", () => {
    const rng = new Random(1);
    for (const font of availableFonts())
      for (let d = 0; d < 10; d++) {
        const { rgba, width, height } = renderFontDigit(font, d, rng);
        expect([width, height]).toEqual([280, 280]);
        const { input } = preprocess(rgbaLight(rgba, width, height));
        expect(
          input.reduce((a, b) => a + b, 0),
          `${path.basename(font)} ${d}`,
        ).toBeGreaterThan(20);
      }
  });

  it("makes a balanced, reproducible set, and caches it", () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "digits-fonts-"));
    const a = fontDigits({ count: 60, seed: 3, cacheDir });
    expect(a.count).toBe(60);
    expect(Array.from(a.labels.slice(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(fs.readdirSync(cacheDir).sort()).toHaveLength(2);
    const b = fontDigits({ count: 60, seed: 3, cacheDir }); // from the cache
    expect(Array.from(b.pixels)).toEqual(Array.from(a.pixels));
    const fresh = fontDigits({
      count: 60,
      seed: 3,
      cacheDir: fs.mkdtempSync(path.join(os.tmpdir(), "digits-fonts-")),
    });
    expect(Array.from(fresh.pixels)).toEqual(Array.from(a.pixels));
    expect(() => fontDigits({ count: 10, fonts: [] })).toThrow(/no handwriting fonts found: install fonts-/);
  });
});
