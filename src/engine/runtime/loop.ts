/**
 * The training loop: epochs of shuffled mini-batches through compiled training steps, the validation data
 * scored after each epoch, progress events throttled for display. It runs wherever it is called; `fit` runs
 * it in a worker.
 */
import type { StepSpec } from "../compiler/train-graph.js";
import type { Optimizer } from "../compiler/optimizers.js";
import { Random } from "../../util/random.js";
import type { Sequential } from "../model/sequential.js";
import { Predictor, score } from "./inference.js";
import { defaultThreads, nodeRuntime } from "./ort.js";
import { DataParallelStepper, defaultReplicas } from "./replicas.js";
import { nchwcBlock } from "./nchwc.js";
import { SessionStepper, type OptimizerState, type Stepper } from "./step.js";

export interface EpochLogs {
  loss: number;
  accuracy: number;
  val_loss?: number;
  val_accuracy?: number;
  /** The learning rate of the epoch's last step (it changes within an epoch when it decays). */
  learning_rate: number;
  /** Wall time of the epoch's training steps, and of its validation. */
  seconds: number;
  validation_seconds?: number;
  images_per_second: number;
}

export interface BatchProgress {
  epoch: number; // 0-based
  epochs: number;
  batch: number; // batches done in this epoch
  batches: number;
  loss: number; // running mean over the epoch so far
  accuracy: number;
  imagesPerSecond: number;
  elapsedSeconds: number;
}

/**
 * Images kept as bytes, each value byte / divisor as a float32: Keras's Rescaling layer (1/255) applied as each
 * batch is gathered, so a dataset's floats — four times its bytes, 188 MB for MNIST — are never made.
 */
export interface ByteImages {
  bytes: Uint8Array;
  divisor: number;
}

export interface LoopData {
  x: Float32Array | ByteImages; // [count, ...inputShape]
  labels: Uint8Array; // checked class indices
}

/** How many values the images hold. */
export const valueCount = (x: Float32Array | ByteImages) =>
  x instanceof Float32Array ? x.length : x.bytes.length;

/** Each byte's value as the loop scales it (byte / divisor, rounded to a float32). */
export const byteValues = (divisor: number) => Float32Array.from({ length: 256 }, (_, v) => v / divisor);

export interface LoopOptions {
  epochs: number;
  batchSize: number;
  shuffle: boolean;
  seed: number;
  /** Epoch to start counting from (for resumed runs). */
  initialEpoch: number;
  /**
   * Continue a run from the optimizer state it had after `initialEpoch` epochs (the model holding that epoch's
   * weights): the same seed then gives the same steps, to the last bit, as a run never interrupted.
   */
  resume?: OptimizerState;
  validation?: { x: Float32Array; labels: Uint8Array };
  /** Minimum time between progress events. */
  progressIntervalMs: number;
  /** Data-parallel replicas, one per core (see replicas.ts); 1 runs one session on every core. Default: auto. */
  replicas?: number;
  /** What each step computes beyond the loss (augmentation is drawn from `seed`). */
  step: StepSpec;
}

export interface LoopEvents {
  /** Before each epoch's first batch. */
  onEpochStart?(epoch: number, epochs: number, batches: number): void;
  onBatch?(p: BatchProgress): void;
  /**
   * Called with a copy of the weights and of the optimizer state after each epoch (what a checkpoint holds);
   * return true to stop training.
   */
  onEpochEnd?(
    epoch: number,
    logs: EpochLogs,
    weights: Map<string, Float32Array>,
    state: OptimizerState,
  ): boolean | void | Promise<boolean | void>;
  /** Polled between batches; true stops after the current batch. */
  shouldStop?(): boolean;
}

export interface LoopResult {
  history: EpochLogs[];
  weights: Map<string, Float32Array>;
  /** True when stopped early (by a callback or an interrupt) rather than after the last epoch. */
  stopped: boolean;
  /** Epochs fully completed. */
  epochsDone: number;
}

/** Loss and accuracy of `weights` on held-out data (the model's own weights are left as they were). */
export async function scoreWeights(
  model: Sequential,
  weights: Map<string, Float32Array>,
  data: { x: Float32Array; labels: Uint8Array },
) {
  const saved = new Map(model.weights);
  model.setWeights(weights);
  const predictor = await Predictor.create(model);
  try {
    return score(await predictor.predict(data.x), data.labels, model.outputShape[0]);
  } finally {
    await predictor.release();
    model.setWeights(saved);
  }
}

/** Fills reusable batch buffers with examples order[start…start+n) and their one-hot labels. */
class Batcher {
  readonly x: Float32Array;
  readonly y: Float32Array;
  /** Each byte's value, for images kept as bytes. */
  private readonly scaled?: Float32Array;

  constructor(
    private readonly data: LoopData,
    private readonly per: number,
    private readonly classes: number,
    batchSize: number,
  ) {
    this.x = new Float32Array(batchSize * per);
    this.y = new Float32Array(batchSize * classes);
    if (!(data.x instanceof Float32Array)) this.scaled = byteValues(data.x.divisor);
  }

  fill(order: Uint32Array, start: number, n: number): void {
    const { per, classes, data, scaled } = this;
    this.y.fill(0);
    for (let i = 0; i < n; i++) {
      const src = order[start + i];
      if (data.x instanceof Float32Array) this.x.set(data.x.subarray(src * per, (src + 1) * per), i * per);
      else {
        const bytes = data.x.bytes;
        for (let j = 0, from = src * per, to = i * per; j < per; j++)
          this.x[to + j] = scaled![bytes[from + j]];
      }
      this.y[i * classes + data.labels[src]] = 1;
    }
  }
}

/** One epoch's running totals, and the throttle on progress events. */
class EpochMeter {
  private readonly t0 = performance.now();
  private lossSum = 0;
  private correct = 0;
  seen = 0;
  private lastEvent = 0;

  add(loss: number, correct: number, n: number): void {
    this.lossSum += loss * n;
    this.correct += correct;
    this.seen += n;
  }

  progress(
    base: Omit<BatchProgress, "loss" | "accuracy" | "imagesPerSecond" | "elapsedSeconds">,
    started: number,
  ) {
    const now = performance.now();
    return {
      ...base,
      loss: this.lossSum / this.seen,
      accuracy: this.correct / this.seen,
      imagesPerSecond: this.seen / ((now - this.t0) / 1000),
      elapsedSeconds: (now - started) / 1000,
    };
  }

  /** Whether a progress event is due (at most one per interval, and always for the last batch). */
  due(intervalMs: number, last: boolean): boolean {
    const now = performance.now();
    if (!last && now - this.lastEvent < intervalMs) return false;
    this.lastEvent = now;
    return true;
  }

  logs(learningRate: number): EpochLogs {
    const seconds = (performance.now() - this.t0) / 1000;
    return {
      loss: this.lossSum / this.seen,
      accuracy: this.correct / this.seen,
      learning_rate: learningRate,
      seconds,
      images_per_second: this.seen / seconds,
    };
  }
}

async function createStepper(
  model: Sequential,
  optimizer: Optimizer,
  options: LoopOptions,
): Promise<Stepper> {
  const replicas = options.replicas ?? defaultReplicas(model, options.batchSize, defaultThreads());
  const plan = {
    step: options.step,
    seed: options.seed,
    passes: { nchwcBlock: await nchwcBlock() },
  };
  const { resume } = options;
  return replicas > 1
    ? DataParallelStepper.create(model, optimizer, options.batchSize, replicas, plan, resume)
    : new SessionStepper(nodeRuntime(), model, optimizer, plan, resume);
}

export async function trainLoop(
  model: Sequential,
  optimizer: Optimizer,
  data: LoopData,
  options: LoopOptions,
  events: LoopEvents = {},
): Promise<LoopResult> {
  const classes = model.outputShape[0];
  const count = data.labels.length;
  const { batchSize, epochs, initialEpoch } = options;
  const batches = Math.ceil(count / batchSize);
  if (options.resume && options.resume.step !== initialEpoch * batches)
    throw new Error(
      `resume: the optimizer state is from step ${options.resume.step}, but epoch ${initialEpoch} ends at step ${initialEpoch * batches} (different data or batch size?)`,
    );
  const stepper = await createStepper(model, optimizer, options);
  const batcher = new Batcher(data, valueCount(data.x) / count, classes, batchSize);
  const rng = new Random(options.seed);
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  const history: EpochLogs[] = [];
  const started = performance.now();
  let stopped = false;
  let steps = options.resume?.step ?? 0;
  // The shuffles of the epochs already trained, replayed: each epoch shuffles the previous epoch's order.
  if (options.shuffle) for (let e = 0; e < initialEpoch; e++) rng.shuffle(order);

  try {
    for (let epoch = initialEpoch; epoch < initialEpoch + epochs && !stopped; epoch++) {
      if (options.shuffle) rng.shuffle(order);
      events.onEpochStart?.(epoch, initialEpoch + epochs, batches);
      const meter = new EpochMeter();
      for (let b = 0; b < batches; b++) {
        if (events.shouldStop?.()) {
          stopped = true;
          break;
        }
        const n = Math.min(batchSize, count - b * batchSize);
        batcher.fill(order, b * batchSize, n);
        const r = await stepper.run(batcher.x, batcher.y, n);
        steps++;
        meter.add(r.loss, r.correct, n);
        if (events.onBatch && meter.due(options.progressIntervalMs, b === batches - 1))
          events.onBatch(
            meter.progress({ epoch, epochs: initialEpoch + epochs, batch: b + 1, batches }, started),
          );
      }
      if (stopped && meter.seen < count) break; // a partial epoch is not an epoch: keep its weights, log nothing
      const logs = meter.logs(optimizer.learningRate(steps));
      const weights = stepper.weights();
      if (options.validation) {
        const v0 = performance.now();
        const v = await scoreWeights(model, weights, options.validation);
        Object.assign(logs, { val_loss: v.loss, val_accuracy: v.accuracy });
        logs.validation_seconds = (performance.now() - v0) / 1000;
      }
      history.push(logs);
      const state = stepper.optimizerState();
      if ((await events.onEpochEnd?.(epoch, logs, weights, state)) === true) stopped = true;
    }
  } finally {
    await stepper.release();
  }
  return {
    history,
    weights: stepper.weights(),
    stopped: stopped || history.length < epochs,
    epochsDone: history.length,
  };
}
