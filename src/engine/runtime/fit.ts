/**
 * `fit`: Keras's model.fit for a Sequential model. Training runs in a worker thread by default, because
 * onnxruntime's `run` blocks the thread it is called on: the caller's thread stays free for progress output,
 * Ctrl-C and servers. `stop()` on the returned handle ends training after the current batch.
 */
import { z } from "zod";
import { parseStepSpec, stepSpecSchema } from "../compiler/train-graph.js";
import type { Optimizer } from "../compiler/optimizers.js";
import { parseOptions } from "../../util/options.js";
import type { Sequential } from "../model/sequential.js";
import { checkInputs, checkLabels, type Labels } from "./checks.js";
import {
  byteValues,
  trainLoop,
  type BatchProgress,
  type ByteImages,
  type EpochLogs,
  type LoopData,
  type LoopEvents,
  type LoopOptions,
  type LoopResult,
  valueCount,
} from "./loop.js";
import { fromPayload, toPayload, type ModelPayload } from "./payload.js";
import { spawnWorker } from "./spawn.js";
import type { OptimizerState } from "./step.js";
import { sizeOf } from "../graph/ir.js";

export type FitCallbacks = Pick<LoopEvents, "onEpochStart" | "onBatch" | "onEpochEnd">;

const callback = z.custom<(...args: never[]) => unknown>(
  (v) => typeof v === "function",
  "must be a function",
);
const fitSchema = z
  .object({
    optimizer: z.custom<Optimizer>(
      (v) => typeof v === "object" && v !== null && "update" in v && "slots" in v,
      "must be an optimizer (adam() or sgd())",
    ),
    epochs: z.number().int().positive().default(1),
    batchSize: z.number().int().positive().default(32),
    shuffle: z.boolean().default(true),
    /** Seed for shuffling and augmentation (weights are seeded by the model). */
    seed: z.number().int().optional(),
    /** Epoch to start counting from. */
    initialEpoch: z.number().int().nonnegative().default(0),
    /**
     * The optimizer state a checkpoint saved after `initialEpoch` epochs (the model holding that epoch's
     * weights): training continues exactly as if it had never stopped (same seed, data and batch size).
     */
    resume: z
      .custom<OptimizerState>(
        (v) => typeof v === "object" && v !== null && "step" in v && "slots" in v,
        "must be an optimizer state ({ step, slots })",
      )
      .optional(),
    validationData: z
      .object({
        x: z.custom<Float32Array<ArrayBufferLike>>(
          (v) => v instanceof Float32Array,
          "must be a Float32Array",
        ),
        labels: z.custom<Labels>(),
      })
      .strict()
      .optional(),
    /**
     * Hold out this fraction of the examples, taken from the end before shuffling (as Keras does), and score
     * them after every epoch. Not with `validationData`.
     */
    validationSplit: z.number().gt(0).lt(1).optional(),
    /** Run in the calling thread instead of a worker (tests, small jobs). */
    inProcess: z.boolean().default(false),
    progressIntervalMs: z.number().nonnegative().default(100),
    /** Data-parallel replicas (one single-threaded session per core); 1 = one session on every core. Default: auto. */
    replicas: z.number().int().positive().optional(),
    /** What each step computes beyond the loss: augmentation of every batch, label smoothing. */
    step: stepSpecSchema.optional(),
    onEpochStart: callback.optional(),
    onBatch: callback.optional(),
    onEpochEnd: callback.optional(),
  })
  .strict();

export type FitOptions = z.input<typeof fitSchema> & FitCallbacks;

export interface FitHandle {
  /** Resolves when training ends; the model then holds the trained weights. */
  done: Promise<LoopResult>;
  /** Stops after the current batch; `done` still resolves with the weights trained so far. */
  stop(): void;
}

/** What crosses to the worker: plain data only. */
export interface WorkerStart {
  model: ModelPayload;
  data: LoopData;
  options: LoopOptions;
  stopFlag: Int32Array;
}

export type WorkerMessage =
  | { type: "epochStart"; epoch: number; epochs: number; batches: number }
  | { type: "batch"; progress: BatchProgress }
  | {
      type: "epoch";
      epoch: number;
      logs: EpochLogs;
      weights: Map<string, Float32Array>;
      state: OptimizerState;
    }
  | { type: "done"; result: LoopResult }
  | { type: "error"; message: string; stack?: string };

function prepare<X extends Float32Array | ByteImages>(
  model: Sequential,
  x: X,
  labels: Labels,
  what: string,
): { x: X; labels: Uint8Array } {
  const per = sizeOf(model.inputSpec.shape);
  const count = x instanceof Float32Array ? checkInputs(x, per, what) : checkBytes(x, per, what);
  if (count === 0) throw new Error(`${what}: no examples`);
  return { x, labels: checkLabels(labels, count, model.outputShape[0], what) };
}

function checkBytes(x: ByteImages, per: number, what: string): number {
  if (!(x.bytes instanceof Uint8Array)) throw new Error(`${what}: byte images must be a Uint8Array`);
  if (!(x.divisor > 0 && Number.isFinite(x.divisor)))
    throw new Error(`${what}: the byte images' divisor ${x.divisor} is not a positive number`);
  if (x.bytes.length % per !== 0)
    throw new Error(`${what}: ${x.bytes.length} bytes are not a whole number of examples of ${per} values`);
  return x.bytes.length / per;
}

/** Values start…end of the images as floats, for validation's predictor (bytes scaled as the batches are). */
function floatRows(x: Float32Array | ByteImages, start: number, end?: number): Float32Array {
  if (x instanceof Float32Array) return x.subarray(start, end);
  const scaled = byteValues(x.divisor);
  return Float32Array.from(x.bytes.subarray(start, end), (v) => scaled[v]);
}

/** Training and validation data: given, carved from the end of x (validationSplit), or none. */
function splitData(
  model: Sequential,
  x: Float32Array | ByteImages,
  labels: Labels,
  o: z.infer<typeof fitSchema>,
) {
  const all = prepare(model, x, labels, "fit");
  if (o.validationData && o.validationSplit !== undefined)
    throw new Error("fit: give validationData or validationSplit, not both");
  if (o.validationData) {
    const v = o.validationData;
    return { train: all, validation: prepare(model, v.x, v.labels, "fit (validation data)") };
  }
  if (o.validationSplit === undefined) return { train: all, validation: undefined };
  const count = all.labels.length;
  const cut = Math.round(count * (1 - o.validationSplit));
  if (cut < 1 || cut >= count)
    throw new Error(
      `fit: validationSplit ${o.validationSplit} of ${count} examples leaves no training or validation data`,
    );
  const per = valueCount(all.x) / count;
  const images = all.x;
  return {
    train: {
      x:
        images instanceof Float32Array
          ? images.subarray(0, cut * per)
          : { ...images, bytes: images.bytes.subarray(0, cut * per) },
      labels: all.labels.subarray(0, cut),
    },
    validation: { x: floatRows(images, cut * per), labels: all.labels.subarray(cut) },
  };
}

/**
 * Trains the model on images x — floats, or bytes scaled as each batch is gathered (ByteImages) — and their
 * labels.
 */
export function fit(
  model: Sequential,
  x: Float32Array | ByteImages,
  labels: Labels,
  options: FitOptions,
): FitHandle {
  const o = parseOptions(fitSchema, "fit", options);
  const { train, validation } = splitData(model, x, labels, o);
  if (o.replicas !== undefined) {
    if (o.replicas > o.batchSize)
      throw new Error(`fit: replicas must be an integer from 1 to the batch size (${o.batchSize})`);
  }
  if (options.step?.augment && model.inputSpec.shape.length !== 3)
    throw new Error("fit: augment needs an image input (height, width, channels)");
  const loopOptions: LoopOptions = {
    epochs: o.epochs,
    batchSize: o.batchSize,
    shuffle: o.shuffle,
    seed: o.seed ?? model.seed,
    initialEpoch: o.initialEpoch,
    resume: o.resume,
    validation,
    progressIntervalMs: o.progressIntervalMs,
    replicas: o.replicas,
    step: o.step ?? parseStepSpec(),
  };
  // [0]: stop requested; [1]: epochs the caller has finished handling (the worker waits for it, so an early
  // stop decided in onEpochEnd takes effect before the next epoch starts).
  const stopFlag = new Int32Array(new SharedArrayBuffer(8));
  const stop = () => Atomics.store(stopFlag, 0, 1);
  const finish = (result: LoopResult) => {
    model.setWeights(result.weights);
    return result;
  };
  if (o.inProcess) {
    const done = trainLoop(model, options.optimizer, train, loopOptions, {
      onEpochStart: options.onEpochStart,
      onBatch: options.onBatch,
      onEpochEnd: options.onEpochEnd,
      shouldStop: () => Atomics.load(stopFlag, 0) === 1,
    }).then(finish);
    return { done, stop };
  }
  const start: WorkerStart = {
    model: toPayload(model, options.optimizer),
    data: { x: inSharedMemory(train.x), labels: train.labels },
    options: loopOptions,
    stopFlag,
  };
  return { done: inWorker(start, options, stop).then(finish), stop };
}

/**
 * The images in shared memory, where the worker reads them as they are: posting an ordinary buffer copies it
 * twice (MNIST's 188 MB of floats: ~1 s of start-up), one copy here costs a fraction. Only the training
 * images, which the loop copies batch by batch (onnxruntime refuses shared buffers, and validation data goes
 * to it whole).
 */
function inSharedMemory(x: Float32Array | ByteImages): Float32Array | ByteImages {
  if (x instanceof Float32Array) {
    if (x.buffer instanceof SharedArrayBuffer) return x;
    const out = new Float32Array(new SharedArrayBuffer(x.byteLength));
    out.set(x);
    return out;
  }
  if (x.bytes.buffer instanceof SharedArrayBuffer) return x;
  const bytes = new Uint8Array(new SharedArrayBuffer(x.bytes.byteLength));
  bytes.set(x.bytes);
  return { bytes, divisor: x.divisor };
}

/** Runs the loop in a worker thread, relaying its events to the caller's callbacks. */
function inWorker(start: WorkerStart, callbacks: FitCallbacks, stop: () => void): Promise<LoopResult> {
  const worker = spawnWorker("fit-worker", start);
  return new Promise<LoopResult>((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      reject(e);
      void worker.terminate();
    };
    const epochHandled = () => {
      Atomics.add(start.stopFlag, 1, 1);
      Atomics.notify(start.stopFlag, 1);
    };
    worker.on("message", async (m: WorkerMessage) => {
      try {
        if (m.type === "epochStart") callbacks.onEpochStart?.(m.epoch, m.epochs, m.batches);
        else if (m.type === "batch") callbacks.onBatch?.(m.progress);
        else if (m.type === "epoch") {
          try {
            if ((await callbacks.onEpochEnd?.(m.epoch, m.logs, m.weights, m.state)) === true) stop();
          } finally {
            epochHandled();
          }
        } else if (m.type === "error") {
          const err = new Error(m.message);
          if (m.stack) err.stack = m.stack;
          fail(err);
        } else if (m.type === "done") {
          settled = true;
          resolve(m.result);
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
}

/** Rebuilds what `fit` sent, inside the worker. */
export const fromWorkerStart = (start: WorkerStart) => fromPayload(start.model);
