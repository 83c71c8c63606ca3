/**
 * "Teach it your handwriting": the digits the person confirmed or corrected in this visit fine-tune the model
 * in a Web Worker (tune-worker.ts), with a progress bar; the page then reads with the tuned model and offers
 * it as a zipped model directory that `digits predict --model tuned.zip` takes. Nothing leaves the browser.
 */
import { zipSync } from "fflate";
import { FINETUNE } from "../src/training/mix.js";
import { $ } from "./dom.js";
import type { Labelled } from "./feedback.js";
import type { TuneMessage, TuneRequest } from "./tune-worker.js";

/** Fewer digits than this teach nothing measurable. */
export const MIN_DIGITS = 5;

export class Tuner {
  private readonly digits: Labelled[] = [];
  private download: string | undefined;

  constructor(private readonly useModel: (onnx: Uint8Array) => Promise<void> | undefined) {
    $("tune-start").addEventListener("click", () => void this.start());
    this.update();
  }

  add(l: Labelled): void {
    this.digits.push(l);
    this.update();
  }

  private update(): void {
    const n = this.digits.length;
    const button = $<HTMLButtonElement>("tune-start");
    button.disabled = n < MIN_DIGITS;
    button.textContent = `Fine-tune on my ${n} digit${n === 1 ? "" : "s"}`;
    $("tune-count").textContent =
      n < MIN_DIGITS
        ? `Confirm or correct ${MIN_DIGITS - n} more digit${MIN_DIGITS - n === 1 ? "" : "s"} above to tune the model to your handwriting, here in this browser.`
        : `${n} of your digits are ready to tune the model on, here in this browser.`;
  }

  private async start(): Promise<void> {
    const button = $<HTMLButtonElement>("tune-start");
    const progress = $<HTMLProgressElement>("tune-progress");
    const status = $("tune-status");
    button.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    status.textContent = "Preparing the training graph…";
    const [onnx, metadata, replay] = await Promise.all([
      fetch("/model.onnx").then(async (r) => new Uint8Array(await r.arrayBuffer())),
      fetch("/metadata.json").then((r) => r.json()),
      fetch("/api/replay").then(async (r) => (r.ok ? new Uint8Array(await r.arrayBuffer()) : undefined)),
    ]);
    const n = this.digits.length;
    const per = this.digits[0].input.length;
    const x = new Float32Array(n * per);
    this.digits.forEach((d, i) => x.set(d.input, i * per));
    const request: TuneRequest = {
      onnx,
      metadata,
      digits: { x, labels: Uint8Array.from(this.digits, (d) => d.label) },
      replay: replay && replayDigits(replay),
      epochs: FINETUNE.epochs,
      learningRate: FINETUNE.learningRate,
      share: FINETUNE.share,
      batch: FINETUNE.batchSize,
      seed: 1,
      wasmPaths: new URL("/ort/", location.href).href,
    };
    const worker = new Worker("tune-worker.js", { type: "module" });
    worker.onmessage = async (e: MessageEvent<TuneMessage>) => {
      const m = e.data;
      if (m.type === "progress") {
        progress.value = m.step / m.steps;
        status.textContent = `Training: step ${m.step} of ${m.steps}, loss ${m.loss.toFixed(3)}`;
        return;
      }
      worker.terminate();
      button.disabled = false;
      if (m.type === "error") {
        status.textContent = `Fine-tuning failed: ${m.message}`;
        return;
      }
      await this.useModel(m.onnx);
      $("status").textContent = `Answering with the model tuned in this browser on your ${n} digits.`;
      status.textContent =
        `Tuned in ${m.seconds.toFixed(1)} s: it now reads ${m.after} of your ${n} digits right (${m.before} before)` +
        `${request.replay ? `, with ${request.replay.labels.length} MNIST digits mixed in so it does not forget` : ""}. ` +
        "This browser now answers with the tuned model.";
      this.offer(m.onnx, m.metadata);
      document.body.dataset.tuned = String(m.after);
    };
    worker.postMessage(request);
  }

  /** The tuned model as a zipped model directory. */
  private offer(onnx: Uint8Array, metadata: unknown): void {
    if (this.download) URL.revokeObjectURL(this.download);
    const zip = zipSync({
      "digits-tuned-model": {
        "model.onnx": onnx,
        "metadata.json": new TextEncoder().encode(`${JSON.stringify(metadata, null, 2)}\n`),
      },
    });
    this.download = URL.createObjectURL(new Blob([zip], { type: "application/zip" }));
    const a = $<HTMLAnchorElement>("tune-download");
    a.href = this.download;
    a.hidden = false;
  }
}

/** The server's replay body: the labels, then 784 pixel bytes per digit. */
function replayDigits(body: Uint8Array): { x: Float32Array; labels: Uint8Array } {
  const count = body.length / 785;
  return {
    labels: body.slice(0, count),
    x: Float32Array.from(body.subarray(count), (p) => p / 255),
  };
}
