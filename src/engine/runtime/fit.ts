/**
 * `fit`: Keras's model.fit for a Sequential model. Training runs in a worker thread by default, because
 * onnxruntime's `run` blocks the thread it is called on: the caller's thread stays free for progress output,
 * Ctrl-C and servers. `stop()` on the returned handle ends training after the current batch.
 */
import { optimizerFromConfig, type Optimizer } from "../compiler/optimizers.js";
import { fromArchitecture, type Sequential } from "../model/sequential.js";
import {
  trainLoop,
  type BatchProgress,
  type EpochLogs,
  type LoopData,
  type LoopEvents,
  type LoopOptions,
  type LoopResult,
} from "./loop.js";
import { spawnWorker } from "./spawn.js";
import { checkInputs, checkLabels, type Labels } from "./checks.js";

export type FitCallbacks = Pick<LoopEvents, "onBatch" | "onEpochEnd">;

export interface FitOptions extends FitCallbacks {
  optimizer: Optimizer;
  epochs?: number;
  batchSize?: number;
  shuffle?: boolean;
  /** Seed for shuffling (weights are seeded by the model). */
  seed?: number;
  initialEpoch?: number;
  validationData?: { x: Float32Array; labels: Labels };
  /** Run in the calling thread instead of a worker (tests, small jobs). */
  inProcess?: boolean;
  progressIntervalMs?: number;
  /** Data-parallel replicas (one single-threaded session per core); 1 = one session on every core. Default: auto. */
  replicas?: number;
}

export interface FitHandle {
  /** Resolves when training ends; the model then holds the trained weights. */
  done: Promise<LoopResult>;
  /** Stops after the current batch; `done` still resolves with the weights trained so far. */
  stop(): void;
}

/** What crosses to the worker: plain data only. */
export interface WorkerStart {
  architecture: ReturnType<Sequential["architecture"]>;
  modelSeed: number;
  weights: Map<string, Float32Array>;
  optimizer: { name: string; config: Record<string, unknown> };
  data: LoopData;
  options: LoopOptions;
  stopFlag: Int32Array;
}

export type WorkerMessage =
  | { type: "batch"; progress: BatchProgress }
  | { type: "epoch"; epoch: number; logs: EpochLogs; weights: Map<string, Float32Array> }
  | { type: "done"; result: LoopResult }
  | { type: "error"; message: string; stack?: string };

function prepare(model: Sequential, x: Float32Array, labels: Labels, what: string): LoopData {
  const per = model.inputSpec.shape.reduce((a, b) => a * b, 1);
  const count = checkInputs(x, per, what);
  if (count === 0) throw new Error(`${what}: no examples`);
  return { x, labels: checkLabels(labels, count, model.outputShape[0], what) };
}

export function fit(model: Sequential, x: Float32Array, labels: Labels, options: FitOptions): FitHandle {
  const data = prepare(model, x, labels, "fit");
  const validation = options.validationData
    ? prepare(model, options.validationData.x, options.validationData.labels, "fit (validation data)")
    : undefined;
  const batchSize = options.batchSize ?? 32;
  const epochs = options.epochs ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`fit: batchSize must be a positive integer`);
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`fit: epochs must be a positive integer`);
  const replicas = options.replicas;
  if (replicas !== undefined) {
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > batchSize)
      throw new Error(`fit: replicas must be an integer from 1 to the batch size (${batchSize})`);
    if (replicas > 1 && model.stateKeys.length > 0)
      throw new Error("fit: a model with batch normalization trains with one replica (batch statistics)");
  }
  const loopOptions: LoopOptions = {
    epochs,
    batchSize,
    shuffle: options.shuffle ?? true,
    seed: options.seed ?? model.seed,
    initialEpoch: options.initialEpoch ?? 0,
    validation,
    progressIntervalMs: options.progressIntervalMs ?? 100,
    replicas,
  };
  // [0]: stop requested; [1]: epochs the caller has finished handling (the worker waits for it, so an early
  // stop decided in onEpochEnd takes effect before the next epoch starts).
  const stopFlag = new Int32Array(new SharedArrayBuffer(8));
  const stop = () => Atomics.store(stopFlag, 0, 1);
  const finish = (result: LoopResult) => {
    model.setWeights(result.weights);
    return result;
  };

  if (options.inProcess) {
    const done = trainLoop(model, options.optimizer, data, loopOptions, {
      onBatch: options.onBatch,
      onEpochEnd: options.onEpochEnd,
      shouldStop: () => Atomics.load(stopFlag, 0) === 1,
    }).then(finish);
    return { done, stop };
  }

  const start: WorkerStart = {
    architecture: model.architecture(),
    modelSeed: model.seed,
    weights: model.weights,
    optimizer: { name: options.optimizer.name, config: options.optimizer.config },
    data,
    options: loopOptions,
    stopFlag,
  };
  const worker = spawnWorker("fit-worker", start);
  const done = new Promise<LoopResult>((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      reject(e);
      void worker.terminate();
    };
    worker.on("message", async (m: WorkerMessage) => {
      try {
        if (m.type === "batch") options.onBatch?.(m.progress);
        else if (m.type === "epoch") {
          try {
            if ((await options.onEpochEnd?.(m.epoch, m.logs, m.weights)) === true) stop();
          } finally {
            Atomics.add(stopFlag, 1, 1);
            Atomics.notify(stopFlag, 1);
          }
        } else if (m.type === "error") {
          const err = new Error(m.message);
          if (m.stack) err.stack = m.stack;
          fail(err);
        } else if (m.type === "done") {
          settled = true;
          resolve(finish(m.result));
          void worker.terminate();
        }
      } catch (e) {
        stop();
        fail(e as Error);
      }
    });
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (!settled) fail(new Error(`training worker exited with code ${code} before finishing`));
    });
  });
  return { done, stop };
}

/** Rebuilds what `fit` sent, inside the worker. */
export function fromWorkerStart(start: WorkerStart): { model: Sequential; optimizer: Optimizer } {
  const model = fromArchitecture(start.architecture, { seed: start.modelSeed });
  model.setWeights(start.weights);
  return { model, optimizer: optimizerFromConfig(start.optimizer.name, start.optimizer.config) };
}
