/**
 * The page's answer time: a model served by `digits serve`, a real pendigits digit drawn on the pad with the
 * mouse in headless Chromium, then "Predict" in the browser (onnxruntime-web, one thread) again and again.
 * Each answer is timed by the page itself, from the pad's pixels to the probabilities (preprocessing and
 * inference), as it shows "Answered by this browser in … ms".
 * Usage: npm run bench:page [-- --model DIR --rounds 60]. JSON on the last line.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { PACKAGE_ROOT, DEFAULT_MODEL_DIR } from "../src/paths.js";
import { parsePenDigits, placeOnPad, readGzipText } from "../src/data/strokes.js";
import { Random } from "../src/util/random.js";
import { launchChromium } from "../test/helpers/browser.js";
import { serveModel } from "./served.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: DEFAULT_MODEL_DIR },
    rounds: { type: "string", default: "60" },
  },
});
const rounds = Number(values.rounds);
const file = path.resolve(PACKAGE_ROOT, "../shared/datasets/pendigits/pendigits-train-strokes.jsonl.gz");
const [digit] = parsePenDigits(await readGzipText(file), file);
const strokes = placeOnPad(digit.strokes, new Random(1), 20);

const server = await serveModel(values.model!);
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  await page.goto(server.url);
  await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("Model ready"));
  const box = (await page.locator("#pad").boundingBox())!;
  const at = ([x, y]: readonly [number, number]): [number, number] => [
    box.x + (x * box.width) / 280,
    box.y + (y * box.height) / 280,
  ];
  for (const s of strokes) {
    await page.mouse.move(...at(s[0]));
    await page.mouse.down();
    for (const p of s.slice(1)) await page.mouse.move(...at(p));
    await page.mouse.up();
  }
  const times: number[] = [];
  for (let i = 0; i < rounds + 5; i++) {
    await page.evaluate(() => delete document.body.dataset.ms);
    await page.click("#predict");
    await page.waitForFunction(
      () => document.body.dataset.ms !== undefined && document.body.dataset.by === "browser",
    );
    const ms = Number(await page.evaluate(() => document.body.dataset.ms));
    if (i >= 5) times.push(ms); // the first answers warm onnxruntime-web up
  }
  times.sort((a, b) => a - b);
  const q = (f: number) => times[Math.min(times.length - 1, Math.floor(f * times.length))];
  const digitRead = Number(await page.evaluate(() => document.body.dataset.digit));
  process.stderr.write(
    `${values.model}: the page answers a drawn ${digit.label} (read as ${digitRead}) in ${q(0.5).toFixed(2)} ms (median of ${times.length}; p90 ${q(0.9).toFixed(2)} ms)\n`,
  );
  console.log(
    JSON.stringify({
      model: values.model,
      rounds: times.length,
      medianMs: q(0.5),
      // The browser's clock ticks in 0.1 ms (coarsened against timing attacks): the mean resolves finer.
      meanMs: Number((times.reduce((a, b) => a + b, 0) / times.length).toFixed(3)),
      p90Ms: q(0.9),
      minMs: times[0],
    }),
  );
} finally {
  await browser.close();
  server.stop();
}
