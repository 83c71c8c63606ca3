/**
 * Digits rendered from handwriting-like fonts that Debian packages (Ecolier's crossed 7s and flagged 1s,
 * Kristi's brush strokes, DKG's and Breip's hands, …): styles MNIST's writers rarely used, for training.
 * Each digit is drawn at a random size, slant, tilt, place and pen weight on the page's 280×280 pad
 * (resvg renders the glyph; a stroke around it thickens it), then goes through MNIST's preprocessing.
 * Rendering takes ~7 ms a digit, so a set is cached (~/.cache/digits/synthetic/), keyed by its settings.
 */
import fs from "node:fs";
import path from "node:path";
import { Resvg } from "@resvg/resvg-js";
import { encodeImages, encodeLabels, parseImages, parseLabels } from "../data/idx.js";
import { toSplit, type Split } from "../data/split.js";
import { Random } from "../util/random.js";
import { cacheDir } from "../paths.js";
import { writeAtomic } from "../util/fs.js";
import { sha256 } from "../util/hash.js";
import { NoInkError, preprocess, rgbaLight, SIZE } from "../vision/preprocess.js";

/** Font files and the Debian package each comes from (.ci/run installs them). */
export const HANDWRITING_FONTS: readonly { file: string; pkg: string }[] = [
  { file: "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf", pkg: "fonts-dkg-handwriting" },
  { file: "/usr/share/fonts/truetype/fifthhorseman/dkgIt.ttf", pkg: "fonts-dkg-handwriting" },
  { file: "/usr/share/fonts/truetype/ecolier-court/Ecolier-court.ttf", pkg: "fonts-ecolier-court" },
  { file: "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf", pkg: "fonts-humor-sans" },
  { file: "/usr/share/fonts/truetype/breip/Breip.ttf", pkg: "fonts-breip" },
  { file: "/usr/share/fonts/truetype/klee/KleeOne-Regular.ttf", pkg: "fonts-klee" },
  { file: "/usr/share/fonts/truetype/kristi/Kristi.ttf", pkg: "fonts-kristi" },
  { file: "/usr/share/fonts/truetype/rufscript/Rufscript010.ttf", pkg: "fonts-rufscript" },
  { file: "/usr/share/fonts/opentype/bwht/BecauseWeLearn-Regular.otf", pkg: "fonts-bwht" },
  { file: "/usr/share/fonts/opentype/bwht/BecauseWeBuild-Regular.otf", pkg: "fonts-bwht" },
  { file: "/usr/share/fonts/opentype/bwht/BecauseWeCreate-Regular.otf", pkg: "fonts-bwht" },
  { file: "/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf", pkg: "fonts-comic-neue" },
  { file: "/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf", pkg: "fonts-dancingscript" },
  { file: "/usr/share/fonts/opentype/kaushanscript/KaushanScript-Regular.otf", pkg: "fonts-kaushanscript" },
];

export function availableFonts(): string[] {
  return HANDWRITING_FONTS.map((f) => f.file).filter((f) => fs.existsSync(f));
}

const PAD = 280;

/** One digit in one font, as a writer with that hand would put it on the pad: RGBA, dark on white. */
export function renderFontDigit(
  font: string,
  digit: number,
  rng: Random,
): { rgba: Uint8Array; width: number; height: number } {
  return renderFontGlyph(font, String(digit), rng);
}

const escapeXml = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Any short text (a digit, a letter, a symbol) in one font, placed on the pad the same random way. */
export function renderFontGlyph(
  font: string,
  text: string,
  rng: Random,
): { rgba: Uint8Array; width: number; height: number } {
  const size = rng.uniform(110, 230);
  const weight = rng.uniform(0, 9);
  const [skew, tilt] = [rng.uniform(-15, 15), rng.uniform(-8, 8)];
  const [x, y] = [rng.uniform(90, 190), rng.uniform(150 + size / 4, 200 + size / 4)].map(Math.round);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${PAD}" height="${PAD}"><rect width="${PAD}" height="${PAD}" fill="white"/>` +
    `<g transform="rotate(${tilt.toFixed(2)} 140 140) translate(${x} ${y - size / 3}) skewX(${skew.toFixed(2)})">` +
    `<text y="${(size / 3).toFixed(1)}" font-size="${size.toFixed(1)}" text-anchor="middle" font-family="F" fill="black" ` +
    `stroke="black" stroke-width="${weight.toFixed(2)}" stroke-linejoin="round">${escapeXml(text)}</text></g></svg>`;
  const image = new Resvg(svg, {
    font: { fontFiles: [font], loadSystemFonts: false, defaultFontFamily: "F" },
  }).render();
  return { rgba: image.pixels, width: image.width, height: image.height };
}

export interface FontDigitsOptions {
  count: number;
  seed?: number;
  fonts?: readonly string[];
  cacheDir?: string;
  onProgress?(message: string): void;
}

/** `count` font-rendered digits (balanced over digits and fonts) as a training split, cached. */
export function fontDigits(options: FontDigitsOptions): Split {
  const fonts = options.fonts ?? availableFonts();
  if (fonts.length === 0)
    throw new Error(
      `no handwriting fonts found: install ${[...new Set(HANDWRITING_FONTS.map((f) => f.pkg))].join(" ")} (Debian packages)`,
    );
  const seed = options.seed ?? 1;
  const key = sha256(JSON.stringify({ v: 1, fonts, seed, count: options.count })).slice(0, 16);
  const dir = options.cacheDir ?? cacheDir("synthetic");
  const [imagesFile, labelsFile] = [
    path.join(dir, `fonts-${key}-images.idx`),
    path.join(dir, `fonts-${key}-labels.idx`),
  ];
  if (fs.existsSync(imagesFile) && fs.existsSync(labelsFile))
    return toSplit(
      parseImages(fs.readFileSync(imagesFile), imagesFile),
      parseLabels(fs.readFileSync(labelsFile), labelsFile).labels,
    );
  const rng = new Random(seed);
  const pixels = new Uint8Array(options.count * SIZE * SIZE);
  const labels = new Uint8Array(options.count);
  for (let i = 0; i < options.count; i++) {
    const [digit, font] = [i % 10, fonts[Math.floor(i / 10) % fonts.length]];
    for (;;) {
      const { rgba, width, height } = renderFontDigit(font, digit, rng);
      try {
        const { input } = preprocess(rgbaLight(rgba, width, height));
        for (let k = 0; k < input.length; k++) pixels[i * SIZE * SIZE + k] = Math.round(255 * input[k]);
        break;
      } catch (e) {
        if (!(e instanceof NoInkError)) throw e; // a glyph pushed off the pad: draw another
      }
    }
    labels[i] = digit;
    if ((i + 1) % 2000 === 0) options.onProgress?.(`rendered ${i + 1} of ${options.count} font digits`);
  }
  fs.mkdirSync(dir, { recursive: true });
  writeAtomic(imagesFile, encodeImages({ count: options.count, rows: SIZE, cols: SIZE, pixels }));
  writeAtomic(labelsFile, encodeLabels(labels));
  return toSplit({ count: options.count, rows: SIZE, cols: SIZE, pixels }, labels);
}
