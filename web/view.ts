/** The result panel: the answer, the ten probabilities, the 28×28 inputs the model saw, and messages. */
import { argmax } from "../src/util/argmax.js";
import { pct } from "../src/util/format.js";
import { SIZE } from "../src/vision/preprocess.js";
import { $ } from "./dom.js";
import type { Result } from "./predict.js";

export class ResultView {
  private readonly bars = $("bars");

  constructor(private readonly lowConfidence: () => number) {
    for (let d = 0; d < 10; d++) {
      const li = document.createElement("li");
      // No style attribute in markup: the content-security policy allows no inline styles.
      li.innerHTML = `<span>${d}</span><span class="bar"><span></span></span><span class="p">–</span>`;
      (li.querySelector(".bar span") as HTMLElement).style.width = "0%";
      this.bars.append(li);
    }
    this.drawSeen([]);
  }

  show(r: Result): void {
    const answer = r.digits.map((d) => argmax(d.probabilities)).join("");
    const confidences = r.digits.map((d) => Math.max(...d.probabilities));
    const confidence = Math.min(...confidences);
    const unsure = confidence < this.lowConfidence();
    this.answer(
      unsure ? `${answer}?` : answer,
      r.digits.length === 1
        ? `${pct(confidence, 1)} sure`
        : `${r.digits.length} digits; the least sure is ${pct(confidence, 1)} sure`,
    );
    $("warning").hidden = !unsure;
    $("warning").textContent =
      `Unsure: below the ${pct(this.lowConfidence(), 0)} it needs to answer. Maybe ${answer}, maybe not a digit at all — try a larger, clearer, single digit.`;
    document.body.dataset.unsure = String(unsure);
    $("answered").textContent =
      r.by === "browser"
        ? `Answered by this browser (onnxruntime-web) in ${r.ms.toFixed(1)} ms.`
        : `Answered by the server in ${r.ms.toFixed(1)} ms.`;
    // The ten bars are for one digit; a number shows each digit's confidence in the caption instead.
    this.bars.hidden = r.digits.length !== 1;
    if (r.digits.length === 1) this.setBars(r.digits[0].probabilities);
    this.drawSeen(r.digits.map((d) => d.input));
    $("seen-caption").textContent =
      r.digits.length === 1
        ? "What the model saw (28×28)"
        : `What the model saw, digit by digit: ${r.digits.map((_, i) => `${answer[i]} ${pct(confidences[i], 0)}`).join(", ")}`;
    document.body.dataset.digit = answer;
    document.body.dataset.by = r.by;
    document.body.dataset.ms = r.ms.toFixed(2);
  }

  empty(message: string): void {
    this.answer("–", message);
    $("warning").hidden = true;
    $("answered").textContent = "";
    this.setBars(undefined);
    this.drawSeen([]);
    this.bars.hidden = false;
    delete document.body.dataset.digit;
  }

  /** The answer in the result panel, and at a glance under the pad (shown on narrow screens). */
  private answer(digit: string, confidence: string): void {
    $("digit").textContent = digit;
    $("confidence").textContent = confidence;
    $("glance-digit").textContent = digit;
    $("glance-confidence").textContent = confidence;
  }

  error(message: string): void {
    this.empty(`Error: ${message}`);
  }

  private setBars(probabilities: number[] | undefined): void {
    const top = probabilities ? argmax(probabilities) : -1;
    this.bars.querySelectorAll("li").forEach((li, d) => {
      li.classList.toggle("top", d === top);
      const p = probabilities?.[d];
      (li.querySelector(".bar span") as HTMLElement).style.width = p === undefined ? "0%" : pct(p, 1);
      (li.querySelector(".p") as HTMLElement).textContent = pct(p, 1);
    });
  }

  /** The 28×28 inputs the model saw, side by side. */
  private drawSeen(inputs: Float32Array[]): void {
    const canvas = $<HTMLCanvasElement>("seen");
    const n = Math.max(1, inputs.length);
    canvas.width = SIZE * n;
    canvas.style.width = `${6 * SIZE * n}px`;
    const c = canvas.getContext("2d") as CanvasRenderingContext2D;
    const img = c.createImageData(SIZE * n, SIZE);
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < SIZE * SIZE; i++) {
        const v = inputs[k] ? Math.round(255 * Math.min(1, inputs[k][i])) : 0;
        const [row, col] = [Math.floor(i / SIZE), i % SIZE];
        img.data.set([v, v, v, 255], 4 * (row * SIZE * n + k * SIZE + col));
      }
    }
    c.putImageData(img, 0, 0);
  }
}
