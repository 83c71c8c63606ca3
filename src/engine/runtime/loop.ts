/**
 * The training loop: epochs of shuffled mini-batches through compiled training steps, validation after each
 * epoch, progress events throttled for display. It runs wherever it is called; `fit` runs it in a worker.
 */
import type { Optimizer } from "../compiler/optimizers.js";
import { Random } from "../model/random.js";
import type { Sequential } from "../model/sequential.js";
import { Predictor, score } from "./inference.js";
import { defaultThreads } from "./ort.js";
import { DataParallelStepper, defaultReplicas } from "./replicas.js";
import { SessionStepper, type Stepper } from "./step.js";

export interface EpochLogs {
  loss: number;
  accuracy: number;
  val_loss?: number;
  val_accuracy?: number;
  /** The learning rate of the epoch's last step (it changes within an epoch when it decays). */
  learning_rate: number;
  /** Wall time of the epoch's training steps, and of its validation. */
  seconds: number;
  validationSeconds?: number;
  imagesPerSecond: number;
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

export interface LoopData {
  x: Float32Array; // [count, ...inputShape]
  labels: Uint8Array; // checked class indices
}

export interface LoopOptions {
  epochs: number;
  batchSize: number;
  shuffle: boolean;
  seed: number;
  /** Epoch to start counting from (for resumed runs). */
  initialEpoch: number;
  validation?: LoopData;
  /** Minimum time between progress events. */
  progressIntervalMs: number;
  /** Data-parallel replicas, one per core (see replicas.ts); 1 runs one session on every core. Default: auto. */
  replicas?: number;
}

export interface LoopEvents {
  onBatch?(p: BatchProgress): void;
  /** Called with a copy of the weights after each epoch; return true to stop training. */
  onEpochEnd?(
    epoch: number,
    logs: EpochLogs,
    weights: Map<string, Float32Array>,
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

export async function validate(model: Sequential, weights: Map<string, Float32Array>, data: LoopData) {
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

export async function trainLoop(
  model: Sequential,
  optimizer: Optimizer,
  data: LoopData,
  options: LoopOptions,
  events: LoopEvents = {},
): Promise<LoopResult> {
  const per = model.inputSpec.shape.reduce((a, b) => a * b, 1);
  const classes = model.outputShape[0];
  const count = data.labels.length;
  const { batchSize, epochs } = options;
  const replicas = options.replicas ?? defaultReplicas(model, batchSize, defaultThreads());
  const stepper: Stepper =
    replicas > 1
      ? await DataParallelStepper.create(model, optimizer, batchSize, replicas)
      : new SessionStepper(model, optimizer);
  const rng = new Random(options.seed);
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  const xb = new Float32Array(batchSize * per);
  const yb = new Float32Array(batchSize * classes);
  const history: EpochLogs[] = [];
  const batches = Math.ceil(count / batchSize);
  const started = performance.now();
  let stopped = false;
  let stepsDone = 0;

  try {
    for (let epoch = options.initialEpoch; epoch < options.initialEpoch + epochs && !stopped; epoch++) {
      if (options.shuffle) rng.shuffle(order);
      const t0 = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let lastEvent = 0;
      for (let b = 0; b < batches; b++) {
        if (events.shouldStop?.()) {
          stopped = true;
          break;
        }
        const start = b * batchSize;
        const n = Math.min(batchSize, count - start);
        yb.fill(0);
        for (let i = 0; i < n; i++) {
          const src = order[start + i];
          xb.set(data.x.subarray(src * per, (src + 1) * per), i * per);
          yb[i * classes + data.labels[src]] = 1;
        }
        const r = await stepper.run(xb, yb, n);
        stepsDone++;
        lossSum += r.loss * n;
        correct += r.correct;
        seen += n;
        const now = performance.now();
        if (events.onBatch && (now - lastEvent >= options.progressIntervalMs || b === batches - 1)) {
          lastEvent = now;
          events.onBatch({
            epoch,
            epochs: options.initialEpoch + epochs,
            batch: b + 1,
            batches,
            loss: lossSum / seen,
            accuracy: correct / seen,
            imagesPerSecond: seen / ((now - t0) / 1000),
            elapsedSeconds: (now - started) / 1000,
          });
        }
      }
      if (stopped && seen < count) break; // a partial epoch is not an epoch: keep its weights, log nothing
      const seconds = (performance.now() - t0) / 1000;
      const logs: EpochLogs = {
        loss: lossSum / seen,
        accuracy: correct / seen,
        learning_rate: optimizer.learningRate(stepsDone),
        seconds,
        imagesPerSecond: seen / seconds,
      };
      const weights = stepper.weights();
      if (options.validation) {
        const v0 = performance.now();
        const v = await validate(model, weights, options.validation);
        logs.val_loss = v.loss;
        logs.val_accuracy = v.accuracy;
        logs.validationSeconds = (performance.now() - v0) / 1000;
      }
      history.push(logs);
      if ((await events.onEpochEnd?.(epoch, logs, weights)) === true) stopped = true;
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
