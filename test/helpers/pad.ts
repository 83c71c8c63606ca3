/** Writing on the page's pad as a person does, with real pen strokes, and answering the teaching card. */
import type { Page } from "playwright-core";
import { parsePenDigits, placeOnPad, readGzipText, type PenDigit } from "../../src/data/strokes.js";
import type { Random } from "../../src/util/random.js";

/** Draws pen strokes (pad coordinates) on the pad with the mouse, after clearing it. */
export async function drawPen(
  page: Page,
  strokes: readonly (readonly (readonly [number, number])[])[],
  pen: number,
) {
  await page.click("#clear");
  await page.selectOption("#pen", String(pen));
  await page.locator("#pad").scrollIntoViewIfNeeded();
  const box = (await page.locator("#pad").boundingBox()) as { x: number; y: number; width: number };
  const at = ([x, y]: readonly [number, number]) =>
    [box.x + (x * box.width) / 280, box.y + (y * box.width) / 280] as [number, number];
  for (const s of strokes) {
    await page.mouse.move(...at(s[0]));
    await page.mouse.down();
    for (const p of s.slice(1)) await page.mouse.move(...at(p));
    await page.mouse.up();
  }
}

/** One writer's own digits (real pen strokes), by label, handed out in order. */
export async function writerDigits(file: string, writer: string): Promise<Map<number, PenDigit[]>> {
  const byLabel = new Map<number, PenDigit[]>();
  for (const d of parsePenDigits(await readGzipText(file), file))
    if (d.writer === writer) byLabel.set(d.label, [...(byLabel.get(d.label) ?? []), d]);
  return byLabel;
}

/**
 * Answers the card's prompts with the writer's digits until it stops asking (or `until` prompts): each
 * prompted digit drawn from real strokes, placed on the pad as a person would, then Next.
 */
export async function answerPrompts(
  page: Page,
  byLabel: Map<number, PenDigit[]>,
  rng: Random,
  until = Infinity,
): Promise<number> {
  let answered = 0;
  while (answered < until && (await page.locator("#teach-card").isVisible())) {
    const asked = Number(await page.locator("#teach-ask").getAttribute("data-digit"));
    const left = await page.locator("#teach-left").textContent();
    const d = byLabel.get(asked)?.shift();
    if (!d) throw new Error(`the writer has no more ${asked}s`);
    await drawPen(
      page,
      placeOnPad(d.strokes, rng, 20).map((s) => s.map(([x, y]) => [Math.round(x), Math.round(y)] as const)),
      20,
    );
    await page.click("#teach-next");
    answered++;
    // The card moved on (or closed): the next prompt is not read before it is shown.
    await page.waitForFunction(
      (was: string | null) =>
        document.getElementById("teach-card")?.hidden === true ||
        document.getElementById("teach-left")?.textContent !== was,
      left,
    );
  }
  return answered;
}
