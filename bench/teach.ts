/**
 * The page's "Teach it your handwriting", timed as a person meets it: a model served by `digits serve`, the
 * card answered in headless Chromium with 30 real digits of a UNIPEN writer the shipped model never saw
 * (pen strokes drawn on the pad with the mouse), and the time from the 30th digit's "Next" to the tuned model
 * answering, as the page measures it (fetching the model and MNIST digits, building the training graph, the
 * steps in a Web Worker on onnxruntime-web, loading the tuned model). Each round is a fresh page.
 * Usage: npm run bench:teach [-- --model DIR --rounds 3]. JSON on the last line.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { PACKAGE_ROOT, DEFAULT_MODEL_DIR } from "../src/paths.js";
import { Random } from "../src/util/random.js";
import { launchChromium } from "../test/helpers/browser.js";
import { serveModel } from "./served.js";
import { answerPrompts, writerDigits } from "../test/helpers/pad.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: DEFAULT_MODEL_DIR },
    rounds: { type: "string", default: "3" },
    writer: { type: "string", default: "syn/rkt-dig19" },
  },
});
const rounds = Number(values.rounds);
const file = path.resolve(PACKAGE_ROOT, "../shared/datasets/unipen/unipen-1a-strokes.jsonl.gz");

const server = await serveModel(values.model!);
const browser = await launchChromium();
const seconds: number[] = [];
try {
  for (let r = 0; r < rounds; r++) {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() =>
      document.getElementById("status")?.textContent?.startsWith("Model ready"),
    );
    await page.click("#teach-start");
    await answerPrompts(page, await writerDigits(file, values.writer!), new Random(r + 1), 30);
    await page.click("#teach-skip");
    await page.waitForFunction(() => document.body.dataset.tunedSeconds !== undefined, null, {
      timeout: 300_000,
    });
    const s = Number(await page.evaluate(() => document.body.dataset.tunedSeconds));
    process.stderr.write(
      `round ${r + 1}: from the 30th digit to the tuned model answering, ${s.toFixed(2)} s\n`,
    );
    seconds.push(s);
    await context.close();
  }
} finally {
  await browser.close();
  server.stop();
}
seconds.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    model: values.model,
    writer: values.writer,
    rounds,
    seconds,
    median_seconds: seconds[Math.floor(seconds.length / 2)],
    target_seconds: 15,
  }),
);
