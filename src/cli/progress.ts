/**
 * Keras-style training progress on stderr: a bar per epoch with ETA, running loss/accuracy and images/s on a
 * terminal; one summary line per epoch otherwise (logs, CI).
 */
import cliProgress from "cli-progress";
import type { BatchProgress, EpochLogs } from "../engine/index.js";

const f4 = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(4));

export function epochSummary(epoch: number, epochs: number, logs: EpochLogs): string {
  const val =
    logs.val_loss === undefined
      ? ""
      : ` - val_loss: ${f4(logs.val_loss)} - val_accuracy: ${f4(logs.val_accuracy)}`;
  return `Epoch ${epoch + 1}/${epochs} - ${logs.seconds.toFixed(1)}s - ${Math.round(logs.images_per_second).toLocaleString("en-US")} img/s - loss: ${f4(logs.loss)} - accuracy: ${f4(logs.accuracy)}${val} - learning_rate: ${logs.learning_rate.toExponential(1)}`;
}

export class TrainingProgress {
  private bar?: cliProgress.SingleBar;
  private readonly tty: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
  }

  epochStart(epoch: number, epochs: number, batches: number): void {
    if (!this.tty) return;
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.stream,
        format:
          "Epoch {epoch} {value}/{total} {bar} ETA {eta_formatted} - {rate} img/s - loss: {loss} - accuracy: {accuracy}",
        barCompleteChar: "━",
        barIncompleteChar: "─",
        barsize: 24,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(batches, 0, { epoch: `${epoch + 1}/${epochs}`, loss: "-", accuracy: "-", rate: "-" });
  }

  batch(p: BatchProgress): void {
    this.bar?.update(p.batch, {
      loss: f4(p.loss),
      accuracy: f4(p.accuracy),
      rate: Math.round(p.imagesPerSecond).toLocaleString("en-US"),
    });
  }

  epochEnd(epoch: number, epochs: number, logs: EpochLogs): void {
    this.bar?.stop();
    this.bar = undefined;
    this.stream.write(`${epochSummary(epoch, epochs, logs)}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

/** Progress of drawing a pen set's digits, on stderr. */
export const drawing = (name: string, done: number, total: number) =>
  process.stderr.write(`\rdrawing ${name} as the page draws: ${done}/${total}${done === total ? "\n" : ""}`);

/**
 * A bar for work counted in steps (tuning steps, writers) on a terminal; otherwise (logs, CI) a line when it
 * ends, or a line for each step when each is worth reading (`everyStep`).
 */
export class StepsBar {
  private bar?: cliProgress.SingleBar;

  constructor(
    private readonly what: string,
    private readonly everyStep = false,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, total: number, detail = ""): void {
    if (this.stream.isTTY) {
      this.bar ??= new cliProgress.SingleBar(
        {
          stream: this.stream,
          format: `${this.what} {value}/{total} {bar} ETA {eta_formatted} {detail}`,
          barCompleteChar: "━",
          barIncompleteChar: "─",
          barsize: 24,
          hideCursor: true,
          clearOnComplete: true,
          fps: 10,
        },
        cliProgress.Presets.shades_classic,
      );
      if (done === 1 || !this.bar.isActive) this.bar.start(total, done, { detail });
      else this.bar.update(done, { detail });
    }
    if (done === total) {
      this.bar?.stop();
      this.bar = undefined;
    }
    if (done === total || (this.everyStep && !this.stream.isTTY))
      this.stream.write(`${this.what}: ${done}/${total} ${detail}\n`);
  }
}
