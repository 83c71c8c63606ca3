/**
 * "Teach it your handwriting", as a guided card: it asks for each digit three times in a random order, then
 * learns them in a Web Worker (tune-worker.ts) while it asks for each digit once more, to check; it shows how
 * many of those check digits the model read right before and after. The tuned model is kept in this browser
 * (IndexedDB), answers from then on (the page says so), can be downloaded as a model directory that `digits
 * predict --model tuned.zip` takes, and forgotten with one button. The person's digits leave the browser only
 * if they tick "keep".
 */
import { zipSync } from "fflate";
import { del, get, set } from "idb-keyval";
import { $ } from "./dom.js";
import { keepOnServer } from "./feedback.js";
import type { Pad } from "./pad.js";
import { BrowserModel, padInput } from "./predict.js";
import type { TuneMessage, TuneRequest } from "./tune-worker.js";

/** Digits of each kind to learn from, and to check with. */
export const TEACH = 3;
export const CHECK = 1;
const KEY = "digits-tuned-model";

interface Written {
  label: number;
  input: Float32Array;
  picture: Blob;
}

/** What IndexedDB keeps: the tuned model's two files. */
interface Tuned {
  onnx: Uint8Array;
  metadata: Record<string, unknown>;
}

type Phase = "idle" | "teach" | "check" | "done";

function shuffled(times: number): number[] {
  const order = Array.from({ length: 10 * times }, (_, i) => i % 10);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

function pack(digits: readonly Written[]): { x: Float32Array; labels: Uint8Array } {
  const per = digits[0].input.length;
  const x = new Float32Array(digits.length * per);
  digits.forEach((d, i) => x.set(d.input, i * per));
  return { x, labels: Uint8Array.from(digits, (d) => d.label) };
}

/** The server's replay body: the labels, then 784 pixel bytes per digit. */
function replayDigits(body: Uint8Array): { x: Float32Array; labels: Uint8Array } {
  const count = body.length / 785;
  return { labels: body.slice(0, count), x: Float32Array.from(body.subarray(count), (p) => p / 255) };
}

export class Teacher {
  private phase: Phase = "idle";
  private asks: number[] = [];
  private taught: Written[] = [];
  private checks: Written[] = [];
  private worker: Worker | undefined;
  /** The tuned model answering now (from this visit or kept from an earlier one). */
  private tuned: Tuned | undefined;
  /** The model this round of the card learned, once it has, and the served model it started from. */
  private learned: Tuned | undefined;
  private served: Uint8Array | undefined;
  private lastDigitAt = 0;
  private download: string | undefined;

  /**
   * `pad`: where the person writes; `use`: answer with this model from now on (undefined: the served one);
   * `keeping`: whether the server keeps digits people give it.
   */
  constructor(
    private readonly pad: Pad,
    private readonly use: (onnx: Uint8Array | undefined) => Promise<void>,
    private readonly keeping: () => boolean,
  ) {
    $("teach-start").addEventListener("click", () => this.start());
    $("teach-next").addEventListener("click", () => void this.next());
    $("teach-skip").addEventListener("click", () => this.skipCheck());
    $("teach-close").addEventListener("click", () => this.close());
    $("tune-forget").addEventListener("click", () => void this.forget());
    $("tune-download").addEventListener("click", () => this.offer());
  }

  /** A model tuned in an earlier visit answers again; one that cannot be read is forgotten. */
  async restore(): Promise<void> {
    const kept = await get<Tuned>(KEY).catch(() => undefined);
    if (!kept) return;
    try {
      await this.use(kept.onnx);
    } catch (e) {
      await del(KEY);
      await this.use(undefined);
      $("tune-status").textContent =
        `The tuned model this browser kept could not be read (${(e as Error).message}); it was forgotten, and the shipped model answers.`;
      return;
    }
    this.tuned = kept;
    this.showTuned(`Answering with the model tuned to your handwriting${this.when()}, kept in this browser.`);
  }

  private when(): string {
    const f = this.tuned?.metadata.training as { finetuned?: { when?: string; digits?: number } } | undefined;
    const at = f?.finetuned?.when ? ` on ${new Date(f.finetuned.when).toLocaleString()}` : "";
    return `${at} from ${f?.finetuned?.digits ?? "your"} digits`;
  }

  private showTuned(message: string): void {
    $("status").textContent = "Answering with the model tuned to your handwriting, in this browser.";
    $("tune-status").textContent = message;
    $("tune-forget").hidden = false;
    $("tune-download").hidden = false;
    document.body.dataset.tunedModel = "yes";
  }

  private start(): void {
    this.worker?.terminate();
    this.worker = undefined;
    this.phase = "teach";
    this.asks = shuffled(TEACH);
    this.taught = [];
    this.checks = [];
    this.learned = undefined;
    $("teach-card").hidden = false;
    $("teach-start").hidden = true;
    $("teach-keep-row").hidden = !this.keeping();
    $("tune-result").textContent = "";
    this.pad.clear();
    this.prompt();
  }

  private prompt(): void {
    const left = this.asks.length;
    const digit = this.asks[0];
    $("teach-error").textContent = "";
    $("teach-digit").textContent = String(digit);
    $("teach-ask").dataset.digit = String(digit);
    $("teach-left").textContent =
      this.phase === "teach"
        ? `${left} of ${10 * TEACH} left to learn from`
        : `While it learns: ${left} of ${10 * CHECK} left to check with (it never learns from these)`;
    $("teach-skip").hidden = this.phase !== "check";
    this.pad.canvas.focus();
  }

  private async next(): Promise<void> {
    if (this.phase !== "teach" && this.phase !== "check") return;
    const label = this.asks[0];
    let input: Float32Array;
    try {
      input = padInput(this.pad);
    } catch {
      $("teach-error").textContent = `Nothing written yet: write a ${label} on the pad, then press Next.`;
      return;
    }
    const written = { label, input, picture: await this.pad.blob() };
    (this.phase === "teach" ? this.taught : this.checks).push(written);
    this.asks.shift();
    this.pad.clear();
    if (this.asks.length > 0) return this.prompt();
    if (this.phase === "teach") {
      this.lastDigitAt = performance.now();
      void this.learn();
      this.phase = "check";
      this.asks = shuffled(CHECK);
      return this.prompt();
    }
    this.phase = "done";
    this.hideCard();
    await this.compare();
  }

  private skipCheck(): void {
    this.phase = "done";
    this.checks = [];
    this.hideCard();
  }

  /** The card is done with: it can be started again (to learn from new digits, from the shipped model). */
  private hideCard(): void {
    $("teach-card").hidden = true;
    $("teach-start").hidden = false;
    $("teach-start").textContent = "Teach it my handwriting again";
  }

  /** Closing the card stops the tuning: the model that answered before goes on answering. */
  private close(): void {
    const tuning = this.worker !== undefined;
    this.worker?.terminate();
    this.worker = undefined;
    this.phase = "idle";
    this.hideCard();
    $("tune-progress").hidden = true;
    if (tuning)
      $("tune-status").textContent =
        "Closed before it finished: the model that answered before still answers.";
  }

  private async learn(): Promise<void> {
    const progress = $<HTMLProgressElement>("tune-progress");
    const status = $("tune-status");
    progress.hidden = false;
    progress.value = 0;
    status.textContent = "Learning your handwriting…";
    const [onnx, metadata, replay] = await Promise.all([
      fetch("/model.onnx").then(async (r) => new Uint8Array(await r.arrayBuffer())),
      fetch("/metadata.json").then((r) => r.json()),
      fetch("/api/replay").then(async (r) => (r.ok ? new Uint8Array(await r.arrayBuffer()) : undefined)),
    ]);
    this.served = onnx;
    const request: TuneRequest = {
      onnx,
      metadata,
      digits: pack(this.taught),
      replay: replay && replayDigits(replay),
      wasmPaths: new URL("/ort/", location.href).href,
    };
    const worker = new Worker("tune-worker.js", { type: "module" });
    this.worker = worker;
    worker.onmessage = async (e: MessageEvent<TuneMessage>) => {
      if (this.worker !== worker) return;
      const m = e.data;
      if (m.type === "progress") {
        progress.value = m.step / m.steps;
        return;
      }
      worker.terminate();
      this.worker = undefined;
      progress.hidden = true;
      if (m.type === "error") {
        status.textContent = `It could not learn: ${m.message}. The model that answered before still answers.`;
        return;
      }
      await this.use(m.onnx);
      const seconds = (performance.now() - this.lastDigitAt) / 1000;
      this.tuned = this.learned = { onnx: m.onnx, metadata: m.metadata };
      await set(KEY, this.tuned);
      document.body.dataset.tunedSeconds = seconds.toFixed(2);
      this.showTuned(
        `Learned your handwriting in ${seconds.toFixed(1)} s. Every answer from now on comes from the model tuned to you, in this browser (it is kept here; forget it below).`,
      );
      if ($<HTMLInputElement>("teach-keep").checked && this.keeping()) await this.keep();
      if (this.phase === "done") await this.compare();
    };
    worker.postMessage(request);
  }

  /** Before and after on the check digits, once both the checks and the tuning are done. */
  private async compare(): Promise<void> {
    const { learned, served } = this;
    if (!learned || !served || this.checks.length === 0) return;
    const { x, labels } = pack(this.checks);
    const n = labels.length;
    const right = async (model: BrowserModel) => {
      const read = await model.digits(x, n);
      await model.release();
      return read.filter((d, i) => d === labels[i]).length;
    };
    const before = await right(await BrowserModel.load(served));
    const after = await right(await BrowserModel.load(learned.onnx));
    const f = (learned.metadata.training as { finetuned: Record<string, unknown> }).finetuned;
    f.check = { digits: n, before: before / n, after: after / n };
    if (this.tuned === learned) await set(KEY, learned);
    $("tune-result").textContent =
      `Your ${n} check digits, which it never learned from: the model read ${before} right before, ${after} after.`;
    document.body.dataset.tunedCheck = `${before}/${after}/${n}`;
  }

  private async keep(): Promise<void> {
    let kept = 0;
    for (const d of this.taught) if ("id" in (await keepOnServer(d.label, d.picture))) kept++;
    $("tune-result").textContent =
      `Kept ${kept} of your ${this.taught.length} digits on the server, as you asked.`;
  }

  private async forget(): Promise<void> {
    this.worker?.terminate();
    this.worker = undefined;
    await del(KEY);
    this.tuned = undefined;
    await this.use(undefined);
    $("tune-status").textContent =
      "Forgotten: this browser no longer keeps the tuned model; the shipped model answers.";
    $("status").textContent = "The shipped model answers again.";
    $("tune-result").textContent = "";
    $("tune-forget").hidden = true;
    $("tune-download").hidden = true;
    delete document.body.dataset.tunedModel;
  }

  /** The tuned model as a zipped model directory. */
  private offer(): void {
    if (!this.tuned) return;
    if (this.download) URL.revokeObjectURL(this.download);
    const zip = zipSync({
      "digits-tuned-model": {
        "model.onnx": this.tuned.onnx,
        "metadata.json": new TextEncoder().encode(`${JSON.stringify(this.tuned.metadata, null, 2)}\n`),
      },
    });
    this.download = URL.createObjectURL(new Blob([zip], { type: "application/zip" }));
    $<HTMLAnchorElement>("tune-download").href = this.download;
  }
}
