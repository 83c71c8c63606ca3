/**
 * The page in a real headless Chromium: digits drawn stroke by stroke with the mouse (real MNIST test digits
 * traced row by row, scaled up, off-centre, thin and thick pens), an uploaded dark-on-light photo, both
 * engines (onnxruntime-web in the page, and the server), no console errors, and a screenshot kept.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { AddressInfo } from "node:net";
import sharp from "sharp";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digitsArgs } from "../helpers/cli.js";
import { DEFAULT_MODEL_DIR, PACKAGE_ROOT, WEB_DIST_DIR } from "../../src/paths.js";
import { loadModel, saveModel } from "../../src/saved/saved-model.js";
import { buildArchitecture } from "../../src/zoo/architectures.js";
import { adam, fit } from "../../src/engine/index.js";
import { buildApp } from "../../src/server/app.js";
import { SqliteSampleStore } from "../../src/samples/sqlite.js";
import { launchChromium } from "../helpers/browser.js";
import { answerPrompts, drawPen, writerDigits } from "../helpers/pad.js";
import { mnistSlice } from "../helpers/mnist.js";
import { parsePenDigits, placeOnPad, readGzipText, type PenDigit } from "../../src/data/strokes.js";
import { Random } from "../../src/util/random.js";
import { drawStrokes, PENS } from "../../src/vision/pen.js";

const PENDIGITS_FILE = path.resolve(
  import.meta.dirname,
  "../../../shared/datasets/pendigits/pendigits-train-strokes.jsonl.gz",
);
const UNIPEN_FILE = path.resolve(
  import.meta.dirname,
  "../../../shared/datasets/unipen/unipen-1a-strokes.jsonl.gz",
);
import type { FastifyInstance } from "fastify";

const ARTIFACTS = path.join(PACKAGE_ROOT, "artifacts");
let app: FastifyInstance;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const store = SqliteSampleStore.open(
  path.join(fs.mkdtempSync(path.join(os.tmpdir(), "digits-page-")), "samples.db"),
);

beforeAll(async () => {
  app = await buildApp({
    model: loadModel(DEFAULT_MODEL_DIR),
    webDir: WEB_DIST_DIR,
    samples: store,
    replay: async () => {
      const { labels, pixels } = await mnistSlice("train", 0, 1000);
      return { labels, pixels };
    },
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  await page.goto(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`);
  await page.waitForFunction(
    () => document.getElementById("status")?.textContent?.startsWith("Model ready"),
    null,
    { timeout: 30_000 },
  );
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await store.close();
});

/** Traces an MNIST digit onto the pad: one mouse stroke per run of ink in each row and each column. */
async function drawDigit(
  pixels: Uint8Array,
  scale: number,
  offset: { x: number; y: number },
  pen: "12" | "20" | "30",
  clearFirst = true,
) {
  if (clearFirst) await page.click("#clear");
  await page.selectOption("#pen", pen);
  // Mouse coordinates are the viewport's: the pad must be in view (a click further down may have scrolled).
  await page.locator("#pad").scrollIntoViewIfNeeded();
  const box = (await page.locator("#pad").boundingBox()) as {
    x: number;
    y: number;
    width: number;
    height: number;
  };
  const toClient = (px: number, py: number) => ({
    x: box.x + ((offset.x + (px + 0.5) * scale) * box.width) / 280,
    y: box.y + ((offset.y + (py + 0.5) * scale) * box.height) / 280,
  });
  const ink = (x: number, y: number) => pixels[y * 28 + x] >= 128;
  const runs: [number, number, number, number][] = [];
  for (let a = 0; a < 28; a++) {
    for (const horizontal of [true, false]) {
      let b = 0;
      while (b < 28) {
        const at = (k: number) => (horizontal ? ink(k, a) : ink(a, k));
        if (!at(b)) {
          b++;
          continue;
        }
        const start = b;
        while (b < 28 && at(b)) b++;
        runs.push(horizontal ? [start, a, b - 1, a] : [a, start, a, b - 1]);
      }
    }
  }
  for (const [x0, y0, x1, y1] of runs) {
    const p = toClient(x0, y0);
    const q = toClient(x1, y1);
    await page.mouse.move(p.x, p.y);
    await page.mouse.down();
    await page.mouse.move(q.x, q.y, { steps: 2 });
    await page.mouse.up();
  }
}

async function prediction(by: "browser" | "server"): Promise<number> {
  await page.click("#predict");
  await page.waitForFunction(
    (engine) => document.body.dataset.by === engine && document.body.dataset.digit !== undefined,
    by,
  );
  return Number(await page.evaluate(() => document.body.dataset.digit));
}

describe("the web app in Chromium", () => {
  it("recognises digits drawn with the mouse: scaled, off-centre, thin and thick", async () => {
    const { pixels, labels } = await mnistSlice("t10k", 10, 12);
    const variants = [
      { scale: 6, offset: { x: 5, y: 8 }, pen: "12" as const }, // small, top-left, thin
      { scale: 9.5, offset: { x: 10, y: 12 }, pen: "30" as const }, // large, thick
      { scale: 7, offset: { x: 80, y: 70 }, pen: "20" as const }, // bottom-right
    ];
    let correct = 0;
    const got: string[] = [];
    for (let i = 0; i < 12; i++) {
      const v = variants[i % 3];
      await drawDigit(pixels.subarray(i * 784, (i + 1) * 784), v.scale, v.offset, v.pen);
      const d = await prediction("browser");
      got.push(`${labels[i]}→${d}`);
      if (d === labels[i]) correct++;
      else await page.screenshot({ path: path.join(ARTIFACTS, `web-app-miss-${i}.png`) });
    }
    console.log(`drawn digits: ${correct}/12 correct (${got.join(" ")})`);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "web-app-drawn.png"), fullPage: true });
    expect(correct).toBeGreaterThanOrEqual(11);
  }, 120_000);

  it("asks the server when told to, and says which one answered", async () => {
    const { pixels, labels } = await mnistSlice("t10k", 0, 1);
    await page.check("input[name=engine][value=server]");
    await drawDigit(pixels, 8, { x: 30, y: 30 }, "20");
    expect(await prediction("server")).toBe(labels[0]);
    await expect(page.locator("#answered").textContent()).resolves.toMatch(/Answered by the server/);
    await page.check("input[name=engine][value=browser]");
  }, 60_000);

  it("recognises an uploaded dark-on-light photo of a digit", async () => {
    const { pixels, labels } = await mnistSlice("t10k", 40, 1);
    const file = path.join(ARTIFACTS, "upload-digit.png");
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await sharp(Buffer.from(pixels.map((v) => 230 - Math.round(v * 0.8))), {
      raw: { width: 28, height: 28, channels: 1 },
    })
      .resize(300, 300)
      .extend({ top: 40, left: 200, bottom: 160, right: 20, background: "#e6e6e6" })
      .png()
      .toFile(file);
    await page.click("#clear");
    await page.setInputFiles("#file", file);
    await page.waitForFunction(() => document.body.dataset.digit !== undefined);
    await page.screenshot({ path: path.join(ARTIFACTS, "web-app-upload.png"), fullPage: true });
    expect(Number(await page.evaluate(() => document.body.dataset.digit))).toBe(labels[0]);
  }, 60_000);

  it("undo removes the last stroke, clear empties the pad, and a blank pad gives no prediction", async () => {
    const { pixels, labels } = await mnistSlice("t10k", 2, 1);
    await drawDigit(pixels, 7, { x: 40, y: 30 }, "20");
    await page.click("#predict");
    await page.waitForFunction(() => document.body.dataset.digit !== undefined);
    const digit = await page.evaluate(() => document.body.dataset.digit);
    expect(Number(digit)).toBe(labels[0]);
    const padImage = () =>
      page.evaluate(() => (document.getElementById("pad") as HTMLCanvasElement).toDataURL());
    const drawn = await padImage();
    // One more stroke, a bar across the pad: the picture changes.
    const box = (await page.locator("#pad").boundingBox()) as {
      x: number;
      y: number;
      width: number;
      height: number;
    };
    await page.mouse.move(box.x + 10, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width - 10, box.y + box.height / 2, { steps: 8 });
    await page.mouse.up();
    expect(await padImage()).not.toBe(drawn);
    await page.click("#undo");
    expect(await padImage()).toBe(drawn);
    await page.click("#predict");
    await page.waitForFunction((d) => document.body.dataset.digit === d, digit);
    await page.click("#clear");
    expect(await padImage()).not.toBe(drawn);
    await page.click("#predict");
    await expect(page.locator("#confidence").textContent()).resolves.toMatch(/Draw a digit/);
    expect(await page.evaluate(() => document.body.dataset.digit)).toBeUndefined();
  });

  it("keeps a corrected digit only when the person ticks the box, and deletes it when asked", async () => {
    const { pixels, labels } = await mnistSlice("t10k", 0, 1);
    await drawDigit(pixels, 8, { x: 30, y: 30 }, "20");
    expect(await prediction("browser")).toBe(labels[0]);
    await expect(page.locator("#right").textContent()).resolves.toBe(`Yes, a ${labels[0]}`);
    await page.click("#labels button[data-label='3']");
    await page.waitForFunction(() => document.getElementById("kept")?.textContent?.startsWith("Noted"));
    await expect(page.locator("#kept").textContent()).resolves.toMatch(
      /Noted: a 3\. Not kept \(tick the box/,
    );
    expect(await store.count()).toBe(0);
    await page.check("#consent");
    await page.click("#labels button[data-label='3']");
    await page.waitForFunction(() => document.body.dataset.kept !== undefined);
    const [kept] = await store.list();
    expect([await store.count(), kept.label, kept.predicted, kept.imageType]).toEqual([
      1,
      3,
      labels[0],
      "image/png",
    ]);
    // The page updates these after its requests return: wait for them, then check.
    await page.waitForFunction(() => document.getElementById("forget")?.hidden === false);
    await expect(page.locator("#forget").textContent()).resolves.toBe("Delete the 1 digit this browser kept");
    await page.click("#forget");
    await page.waitForFunction(() => document.getElementById("kept")?.textContent?.startsWith("Deleted"));
    await expect(page.locator("#kept").textContent()).resolves.toBe("Deleted 1 kept digit(s).");
    expect(await store.count()).toBe(0);
    await page.uncheck("#consent");
  }, 60_000);

  it("draws a real pen digit exactly as the Node renderer that draws the pen datasets", async () => {
    const digits = parsePenDigits(await readGzipText(PENDIGITS_FILE), PENDIGITS_FILE).slice(0, 3);
    const rng = new Random(5);
    for (const [k, d] of digits.entries()) {
      const pen = PENS[k % PENS.length];
      // Whole pad pixels: a pointer event's position then maps to the pad exactly.
      const strokes = placeOnPad(d.strokes, rng, pen).map((s) =>
        s.map(([x, y]) => [Math.round(x), Math.round(y)] as const),
      );
      await drawPen(page, strokes, pen);
      const drawn = await page.evaluate(() => {
        const c = document.getElementById("pad") as HTMLCanvasElement;
        return Array.from(c.getContext("2d")!.getImageData(0, 0, 280, 280).data);
      });
      const mine = drawStrokes(strokes, pen);
      let off = 0;
      let worst = 0;
      for (let i = 0; i < mine.length; i += 4) {
        const diff = Math.abs(mine[i] - drawn[i]);
        worst = Math.max(worst, diff);
        if (diff > 1) off++;
      }
      expect(off, `digit ${k} (a ${d.label}), pen ${pen}: pixels that differ`).toBe(0);
      expect(worst).toBeLessThanOrEqual(1);
    }
  });

  it("logs no console errors", () => {
    expect(consoleErrors, consoleErrors.join("\n")).toEqual([]);
  });
});

describe("inside the model, in the page", () => {
  it("shows the first layer's feature maps and a saliency map for the digit just read", async () => {
    const { pixels, labels } = await mnistSlice("t10k", 0, 1);
    await page.click("#inside summary");
    await drawDigit(pixels, 8, { x: 30, y: 30 }, "20");
    expect(await prediction("browser")).toBe(labels[0]);
    await page.waitForFunction((d) => document.body.dataset.inside === String(d), labels[0]);
    const drawn = await page.evaluate(() => {
      const read = (id: string) => {
        const c = document.getElementById(id) as HTMLCanvasElement;
        return {
          w: c.width,
          h: c.height,
          data: Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data),
        };
      };
      return { maps: read("maps"), saliency: read("saliency") };
    });
    expect([drawn.maps.w, drawn.maps.h]).toEqual([8 * 27, 4 * 27]); // 32 maps of 26×26, a pixel apart
    const px = (d: number[]) => Array.from({ length: d.length / 4 }, (_, i) => d.slice(4 * i, 4 * i + 3));
    expect(px(drawn.maps.data).filter(([r]) => r < 128).length).toBeGreaterThan(500); // strong responses
    const saliency = px(drawn.saliency.data);
    expect(saliency.filter(([r, g, b]) => r > 200 && g < 150 && b < 150).length).toBeGreaterThan(5); // towards
    expect(saliency.filter(([r, g, b]) => b > 200 && r < 150 && g < 150).length).toBeGreaterThan(5); // away
    await expect(page.locator("#inside-caption").textContent()).resolves.toMatch(/32 feature maps/);
    await page.screenshot({ path: path.join(ARTIFACTS, "web-app-inside.png"), fullPage: true });
    await page.click("#inside summary");
  }, 60_000);
});

describe("learning the person's handwriting in the page", () => {
  // A UNIPEN writer the shipped model never saw (held out of its training), who writes 9 with a long tail.
  const WRITER = "syn/rkt-dig19";
  let byLabel: Map<number, PenDigit[]>;

  beforeAll(async () => {
    byLabel = await writerDigits(UNIPEN_FILE, WRITER);
    await page.reload();
    await page.waitForFunction(() =>
      document.getElementById("status")?.textContent?.startsWith("Model ready"),
    );
  });

  it("asks for each digit three times, learns them in a worker, checks on digits it never learned from, and answers with the tuned model", async () => {
    await page.click("#teach-start");
    await expect(page.locator("#teach-left").textContent()).resolves.toBe("30 of 30 left to learn from");
    // A blank digit is refused, and the card asks for the same digit again.
    await page.click("#clear");
    const asked = await page.locator("#teach-ask").getAttribute("data-digit");
    await page.click("#teach-next");
    await expect(page.locator("#teach-error").textContent()).resolves.toMatch(
      /^Nothing written yet: write a \d/,
    );
    await expect(page.locator("#teach-left").textContent()).resolves.toBe("30 of 30 left to learn from");
    expect(await page.locator("#teach-ask").getAttribute("data-digit")).toBe(asked);

    const rng = new Random(23);
    expect(await answerPrompts(page, byLabel, rng, 30)).toBe(30);
    // The tuning runs while the card asks for the check digits.
    await expect(page.locator("#teach-left").textContent()).resolves.toMatch(/10 of 10 left to check with/);
    expect(await answerPrompts(page, byLabel, rng)).toBe(10);
    await page.waitForFunction(() => document.body.dataset.tunedCheck !== undefined, null, {
      timeout: 120_000,
    });
    const seconds = Number(await page.evaluate(() => document.body.dataset.tunedSeconds));
    const [before, after, n] = (await page.evaluate(() => document.body.dataset.tunedCheck))!
      .split("/")
      .map(Number);
    console.log(
      `in the page: ${WRITER}'s check digits ${before}/${n} before, ${after}/${n} after; from the last of the 30 digits to the tuned model answering ${seconds} s`,
    );
    expect(n).toBe(10);
    expect(after).toBeGreaterThanOrEqual(Math.max(before, 9));
    await expect(page.locator("#tune-status").textContent()).resolves.toMatch(
      /Every answer from now on comes from the model tuned to you/,
    );
    await expect(page.locator("#tune-result").textContent()).resolves.toBe(
      `Your 10 check digits, which it never learned from: the model read ${before} right before, ${after} after.`,
    );
    await expect(page.locator("#status").textContent()).resolves.toBe(
      "Answering with the model tuned to your handwriting, in this browser.",
    );
    // The card can be started again, to learn from new digits.
    await expect(page.locator("#teach-start").textContent()).resolves.toBe("Teach it my handwriting again");
    expect(await page.locator("#teach-card").isVisible()).toBe(false);
    // Nothing was ticked: the server never saw the person's digits.
    expect(await store.count()).toBe(0);
    // The server has only the shipped model: the page answers with the tuned one, itself.
    expect(await page.locator("input[name=engine][value=server]").isDisabled()).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, "web-app-tuned.png"), fullPage: true });

    // The downloaded model records what it learned from, and `digits predict` takes it.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#tune-download")]);
    const zip = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "digits-tuned-")), "tuned.zip");
    await download.saveAs(zip);
    const tuned = loadModel(zip);
    expect(tuned.metadata.training?.finetuned).toMatchObject({
      where: "in the browser (onnxruntime-web)",
      digits: 30,
      perClass: Array(10).fill(3),
      replay: 1000,
      check: { digits: 10, before: before / 10, after: after / 10 },
    });
    expect(
      Date.now() - Date.parse(String((tuned.metadata.training?.finetuned as { when: string }).when)),
    ).toBeLessThan(600_000);
    const { pixels, labels } = await mnistSlice("t10k", 0, 1);
    const picture = path.join(path.dirname(zip), "digit.png");
    await sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } })
      .resize(140, 140)
      .png()
      .toFile(picture);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      digitsArgs("predict", "--model", zip, picture, "--json"),
      {
        cwd: PACKAGE_ROOT,
      },
    );
    expect(JSON.parse(stdout)).toMatchObject([{ digit: labels[0] }]);
  }, 300_000);

  it("keeps the tuned model across a reload, and answers with it", async () => {
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.tunedModel === "yes", null, { timeout: 30_000 });
    await expect(page.locator("#tune-status").textContent()).resolves.toMatch(
      /^Answering with the model tuned to your handwriting on .* from 30 digits, kept in this browser\.$/,
    );
    expect(await page.locator("input[name=engine][value=server]").isDisabled()).toBe(true);
    const nine = byLabel.get(9)!.shift()!;
    await drawPen(
      page,
      placeOnPad(nine.strokes, new Random(3), 20).map((s) =>
        s.map(([x, y]) => [Math.round(x), Math.round(y)] as const),
      ),
      20,
    );
    expect(await prediction("browser")).toBe(9);
  }, 60_000);

  it("keeps the model it had when the card is closed during the tuning", async () => {
    const kept = await page.evaluate(() => document.getElementById("tune-status")?.textContent);
    await page.click("#teach-start");
    expect(await answerPrompts(page, byLabel, new Random(29), 30)).toBe(30);
    await page.click("#teach-close");
    await expect(page.locator("#tune-status").textContent()).resolves.toBe(
      "Closed before it finished: the model that answered before still answers.",
    );
    // Nothing replaced the model this browser keeps: a reload answers with the same one.
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.tunedModel === "yes", null, { timeout: 30_000 });
    expect(await page.locator("#tune-status").textContent()).toBe(kept);
  }, 120_000);

  it("forgets the tuned model with one button: the shipped model answers, after a reload too", async () => {
    await page.click("#tune-forget");
    await page.waitForFunction(() =>
      document.getElementById("tune-status")?.textContent?.startsWith("Forgotten"),
    );
    await expect(page.locator("#status").textContent()).resolves.toBe("The shipped model answers again.");
    expect(await page.locator("input[name=engine][value=server]").isDisabled()).toBe(false);
    await page.reload();
    await page.waitForFunction(() =>
      document.getElementById("status")?.textContent?.startsWith("Model ready"),
    );
    expect(await page.evaluate(() => document.body.dataset.tunedModel)).toBeUndefined();
    await expect(page.locator("#tune-forget").isVisible()).resolves.toBe(false);
  }, 60_000);

  it("forgets a kept model it cannot read, and the shipped model answers", async () => {
    // What idb-keyval keeps under the page's key, made unreadable: three bytes where the ONNX file was.
    await page.evaluate(
      () =>
        new Promise<void>((resolve, reject) => {
          const open = indexedDB.open("keyval-store");
          open.onsuccess = () => {
            const tx = open.result.transaction("keyval", "readwrite");
            tx.objectStore("keyval").put(
              { onnx: new Uint8Array([1, 2, 3]), metadata: {} },
              "digits-tuned-model",
            );
            tx.oncomplete = () => resolve();
            tx.onerror = () => reject(tx.error);
          };
          open.onerror = () => reject(open.error);
        }),
    );
    await page.reload();
    await page.waitForFunction(() =>
      /could not be read/.test(document.getElementById("tune-status")?.textContent ?? ""),
    );
    await expect(page.locator("#tune-status").textContent()).resolves.toMatch(
      /^The tuned model this browser kept could not be read \(.+\); it was forgotten, and the shipped model answers\.$/,
    );
    expect(await page.evaluate(() => document.body.dataset.tunedModel)).toBeUndefined();
    expect(await page.locator("#status").textContent()).toMatch(/^Model ready/);
    const { pixels, labels } = await mnistSlice("t10k", 0, 1);
    await drawDigit(pixels, 8, { x: 30, y: 30 }, "20");
    expect(await prediction("browser")).toBe(labels[0]);
    await page.reload();
    await page.waitForFunction(() =>
      document.getElementById("status")?.textContent?.startsWith("Model ready"),
    );
    expect(await page.locator("#tune-status").textContent()).toBe("");
  }, 60_000);
});

describe("reading a number in the page", () => {
  it("reads two digits drawn side by side as it reads each alone, in the browser and on the server", async () => {
    // A fresh page, so the shipped model reads (not the one an earlier test tuned in this page).
    await page.reload();
    await page.waitForFunction(() =>
      document.getElementById("status")?.textContent?.startsWith("Model ready"),
    );
    const { pixels } = await mnistSlice("t10k", 1, 2);
    const places = [
      { x: 8, y: 60 },
      { x: 150, y: 70 },
    ];
    for (const engine of ["browser", "server"] as const) {
      await page.check(`input[name=engine][value=${engine}]`);
      // Each digit alone first, traced where it will stand in the number: the number must read the same.
      await page.uncheck("#multi");
      let expected = "";
      for (const k of [0, 1]) {
        await drawDigit(pixels.subarray(k * 784, (k + 1) * 784), 4.2, places[k], "12");
        await page.evaluate(() => delete document.body.dataset.digit);
        expected += String(await prediction(engine));
      }
      await page.check("#multi");
      await page.click("#clear");
      // two digits, each traced like the single ones, left then right
      const traceBoth = async () => {
        await drawDigit(pixels.subarray(0, 784), 4.2, places[0], "12", false);
        await drawDigit(pixels.subarray(784, 1568), 4.2, places[1], "12", false);
      };
      await traceBoth();
      await page.click("#predict");
      await page
        .waitForFunction(
          (e) => document.body.dataset.by === e && (document.body.dataset.digit ?? "").length === 2,
          engine,
          { timeout: 20_000 },
        )
        .catch(async (e) => {
          const said = await page.locator("#confidence").textContent();
          const digit = await page.evaluate(
            () => `${document.body.dataset.by} ${document.body.dataset.digit}`,
          );
          throw new Error(
            `${engine}: no two-digit answer (the page says "${said}", ${digit}; console: ${consoleErrors.join(" | ")})`,
            { cause: e },
          );
        });
      expect(await page.evaluate(() => document.body.dataset.digit)).toBe(expected);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, "web-app-number.png"), fullPage: true });
    await page.uncheck("#multi");
    await page.check("input[name=engine][value=browser]");
  }, 90_000);
});

describe("fine-tuning a batch-norm model in the page", () => {
  let bnApp: FastifyInstance;
  let served: ReturnType<typeof loadModel>;

  beforeAll(async () => {
    // A batch-norm CNN trained briefly on MNIST, served as the page's model.
    const model = buildArchitecture("batchnorm", 4);
    const train = await mnistSlice("train", 0, 3000);
    await fit(model, train.x, train.labels, { optimizer: adam(), epochs: 1, inProcess: true }).done;
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "digits-bn-")), "model");
    saveModel(dir, model, { architectureName: "batchnorm" });
    served = loadModel(dir);
    bnApp = await buildApp({
      model: served,
      webDir: WEB_DIST_DIR,
      replay: async () => mnistSlice("train", 3000, 500),
    });
    await bnApp.listen({ port: 0, host: "127.0.0.1" });
    page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    await page.goto(`http://127.0.0.1:${(bnApp.server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() =>
      document.getElementById("status")?.textContent?.startsWith("Model ready"),
    );
  }, 60_000);

  afterAll(async () => {
    await bnApp?.close();
  });

  it("tunes it in the worker, carrying the moving statistics through every step", async () => {
    await page.click("#teach-start");
    expect(
      await answerPrompts(page, await writerDigits(UNIPEN_FILE, "syn/jel-dig14"), new Random(31), 30),
    ).toBe(30);
    await page.click("#teach-skip");
    await page.waitForFunction(
      () =>
        document.body.dataset.tunedModel === "yes" ||
        /could not learn/.test(document.getElementById("tune-status")?.textContent ?? ""),
      null,
      { timeout: 120_000 },
    );
    const status = await page.locator("#tune-status").textContent();
    expect(status).toMatch(/^Learned your handwriting in/);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#tune-download")]);
    const zip = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "digits-tuned-bn-")), "tuned.zip");
    await download.saveAs(zip);
    const tuned = loadModel(zip);
    expect(tuned.metadata.training?.finetuned).toMatchObject({ digits: 30, replay: 500 });
    // The moving statistics moved with the person's digits (a step that dropped them would leave them as served).
    const before = served.model;
    const after = tuned.model;
    const means = before.weightSpecs.filter((w) => w.name === "moving_mean");
    expect(means.length).toBeGreaterThan(0);
    for (const w of means) {
      const a = before.weights.get(w.key) as Float32Array;
      const b = after.weights.get(w.key) as Float32Array;
      expect(
        a.some((v, i) => Math.abs(v - b[i]) > 1e-6),
        w.key,
      ).toBe(true);
    }
  }, 240_000);
});

describe("on a phone", () => {
  it("keeps the answer in view under the pad while drawing (390×844), and only there", async () => {
    const desktop = page;
    expect(await desktop.locator("#glance").isVisible()).toBe(false);
    page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    await page.goto(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() =>
      document.getElementById("status")?.textContent?.startsWith("Model ready"),
    );
    const { pixels } = await mnistSlice("t10k", 3, 1);
    await drawDigit(pixels, 7, { x: 40, y: 30 }, "20");
    const digit = await prediction("browser");
    const inView = async (selector: string) => {
      const box = await page.locator(selector).boundingBox();
      return box !== null && box.y >= 0 && box.y + box.height <= 844;
    };
    // The pad, and the answer beside it, in one screen; the result panel's own answer is below the fold.
    expect(await inView("#pad")).toBe(true);
    expect(await inView("#glance")).toBe(true);
    expect(await inView("#digit")).toBe(false);
    expect(await page.locator("#glance-digit").textContent()).toBe(String(digit));
    expect(await page.locator("#glance-confidence").textContent()).toMatch(/% sure$/);
    await page.screenshot({ path: path.join(ARTIFACTS, "web-app-phone.png") });
    // Teaching it on a phone: the card's request stays on screen beside the pad, covering none of it.
    await page.locator("#teach-start").scrollIntoViewIfNeeded();
    await page.click("#teach-start");
    await page.locator("#pad").scrollIntoViewIfNeeded();
    expect(await inView("#pad")).toBe(true);
    expect(await inView("#teach-ask")).toBe(true);
    const pad = (await page.locator("#pad").boundingBox())!;
    const card = (await page.locator("#teach-card").boundingBox())!;
    expect(card.y).toBeGreaterThanOrEqual(pad.y + pad.height);
    await page.screenshot({ path: path.join(ARTIFACTS, "web-app-phone-teach.png") });
    await page.click("#teach-close");
    await page.close();
    page = desktop;
  }, 60_000);
});
