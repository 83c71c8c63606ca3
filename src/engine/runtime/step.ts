/**
 * One compiled training step for one batch size. Weights, optimizer slots and batch-norm statistics live as
 * onnxruntime tensors between steps: each step's `next/*` outputs become the next step's inputs, so nothing is
 * copied on the JavaScript side.
 */
import { buildTrainGraph, type TrainGraphOptions } from "../compiler/compile.js";
import { FLAT, isWeight, packFlat, TRAIN, unpackFlat } from "../compiler/params.js";
import { augmentFeeds, type Augment } from "../compiler/augment.js";
import type { Optimizer } from "../compiler/optimizers.js";
import { toOnnx } from "../graph/serialize.js";
import type { Sequential } from "../model/sequential.js";
import { createSession, floatTensor, ort, type SessionOptions } from "./ort.js";

export interface StepResult {
  loss: number;
  correct: number;
}

/**
 * What training carries besides the weights, enough to continue a run exactly where it was: the steps taken
 * (Adam's bias correction and the learning-rate schedule count them) and each optimizer slot ("m", "v",
 * "velocity") over the whole flat parameter vector (params.ts's layout).
 */
export interface OptimizerState {
  step: number;
  slots: Record<string, Float32Array>;
}

/** Checks that a state fits this optimizer and this many parameters, naming what does not. */
export function checkOptimizerState(state: OptimizerState, optimizer: Optimizer, size: number): void {
  const names = Object.keys(state.slots).sort().join(",");
  if (names !== [...optimizer.slots].sort().join(","))
    throw new Error(
      `optimizer state: slots [${names}] do not match ${optimizer.name}'s [${optimizer.slots.join(",")}]`,
    );
  for (const [name, data] of Object.entries(state.slots))
    if (data.length !== size)
      throw new Error(`optimizer state: slot "${name}" holds ${data.length} values, the model ${size}`);
  if (!Number.isInteger(state.step) || state.step < 0)
    throw new Error(`optimizer state: step ${state.step} is not a step count`);
}

/** Shared training state: the tensors every step reads and replaces, whatever its batch size. */
export class TrainingState {
  readonly tensors = new Map<string, ort.Tensor>();
  step = 0;

  constructor(
    model: Sequential,
    optimizer: Optimizer,
    /** Must match the graphs' `flatParameters`. */
    readonly flat = true,
    resume?: OptimizerState,
  ) {
    const trainable = model.weightSpecs.filter((w) => w.trainable);
    const put = (name: string, data: Float32Array, shape: readonly number[]) => {
      this.tensors.set(name, floatTensor(data, shape));
      if (!isWeight(name)) return;
      for (const s of optimizer.slots) {
        this.tensors.set(TRAIN.slot(s, name), floatTensor(new Float32Array(data.length), shape));
      }
    };
    if (flat) {
      const all = packFlat(model);
      put(TRAIN.weight(FLAT), all, [all.length]);
    } else {
      for (const w of trainable)
        put(TRAIN.weight(w.key), Float32Array.from(model.weights.get(w.key) as Float32Array), w.shape);
    }
    for (const w of model.weightSpecs.filter((v) => !v.trainable)) {
      put(TRAIN.state(w.key), Float32Array.from(model.weights.get(w.key) as Float32Array), w.shape);
    }
    if (resume) {
      if (!flat) throw new Error("resuming needs the flat parameter vector");
      const size = (this.tensors.get(TRAIN.weight(FLAT)) as ort.Tensor).data.length;
      checkOptimizerState(resume, optimizer, size);
      for (const [slot, data] of Object.entries(resume.slots))
        this.tensors.set(TRAIN.slot(slot, TRAIN.weight(FLAT)), floatTensor(Float32Array.from(data), [size]));
      this.step = resume.step;
    }
  }

  /** The optimizer's state, copied out. */
  optimizerState(optimizer: Optimizer): OptimizerState {
    if (!this.flat) throw new Error("the optimizer state is kept only for the flat parameter vector");
    const slots: Record<string, Float32Array> = {};
    for (const slot of optimizer.slots)
      slots[slot] = Float32Array.from(
        (this.tensors.get(TRAIN.slot(slot, TRAIN.weight(FLAT))) as ort.Tensor).data as Float32Array,
      );
    return { step: this.step, slots };
  }

  /** Current weights, copied out (for saving, checkpoints or evaluation). */
  weights(model: Sequential): Map<string, Float32Array> {
    const data = (name: string) => (this.tensors.get(name) as ort.Tensor).data as Float32Array;
    const out = this.flat ? unpackFlat(model, data(TRAIN.weight(FLAT))) : new Map<string, Float32Array>();
    for (const w of model.weightSpecs) {
      if (w.trainable && this.flat) continue;
      out.set(w.key, Float32Array.from(data(w.trainable ? TRAIN.weight(w.key) : TRAIN.state(w.key))));
    }
    return out;
  }
}

/** The optimizer's per-step scalars (e.g. Adam's bias-corrected step size) as feeds for step t. */
export function scalarFeeds(optimizer: Optimizer, t: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, value] of Object.entries(optimizer.scalars(t)))
    feeds[name] = floatTensor(Float32Array.of(value), []);
  return feeds;
}

/** What a training step computes beyond the plain loss: augmentation (drawn from `seed`), label smoothing. */
export interface StepSettings {
  augment?: Augment;
  /** The run's seed, from which each image's augmentation parameters are drawn. */
  seed: number;
  labelSmoothing?: number;
  /** The NCHWc block size for onnxruntime's blocked convolutions (nchwc.ts), when they work here. */
  nchwcBlock?: number;
}

/** The augmentation inputs of step t for rows rowStart…rowStart+n of its batch, as tensors. */
export function augmentTensors(
  a: StepSettings | undefined,
  model: Sequential,
  t: number,
  rowStart: number,
  n: number,
): Record<string, ort.Tensor> {
  if (!a?.augment) return {};
  const [h, w] = model.inputSpec.shape;
  const feeds = augmentFeeds(a.augment, a.seed, t, rowStart, n, [h, w]);
  return Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, floatTensor(v.data, v.shape)]));
}

/** A step's loss; a non-finite one stops training with advice rather than training on NaN. */
export function checkedLoss(out: ort.InferenceSession.OnnxValueMapType, t: number): number {
  const loss = (out[TRAIN.loss].data as Float32Array)[0];
  if (!Number.isFinite(loss))
    throw new Error(`training diverged at step ${t}: the loss is ${loss} (try a lower learning rate)`);
  return loss;
}

export class TrainStep {
  private constructor(
    readonly batch: number,
    private readonly session: ort.InferenceSession,
    private readonly carried: string[],
    private readonly optimizer: Optimizer,
  ) {}

  static async create(
    model: Sequential,
    optimizer: Optimizer,
    batch: number,
    options: SessionOptions & TrainGraphOptions = {},
  ): Promise<TrainStep> {
    const { graph, carried } = buildTrainGraph(model, optimizer, batch, options);
    const session = await createSession(toOnnx(graph), options);
    return new TrainStep(batch, session, carried, optimizer);
  }

  /** Runs forward, backward and the update on one batch; x is [batch, ...input], y one-hot [batch, classes]. */
  async run(
    state: TrainingState,
    x: ort.Tensor,
    y: ort.Tensor,
    extra: Record<string, ort.Tensor> = {},
  ): Promise<StepResult> {
    const t = state.step + 1;
    const feeds: Record<string, ort.Tensor> = { [TRAIN.x]: x, [TRAIN.y]: y, ...extra };
    for (const name of this.carried) feeds[name] = state.tensors.get(name) as ort.Tensor;
    Object.assign(feeds, scalarFeeds(this.optimizer, t));
    const out = await this.session.run(feeds);
    const loss = checkedLoss(out, t);
    for (const name of this.carried) state.tensors.set(name, out[TRAIN.next(name)]);
    state.step = t;
    return { loss, correct: (out[TRAIN.correct].data as Float32Array)[0] };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** What the training loop drives: one step per batch, whatever runs it. */
export interface Stepper {
  /** x: [n, ...input] rows, y: one-hot [n, classes] rows (the arrays may be longer than n rows). */
  run(x: Float32Array, y: Float32Array, n: number): Promise<StepResult>;
  /** Current weights, copied out. */
  weights(): Map<string, Float32Array>;
  /** The optimizer state after the last step, copied out. */
  optimizerState(): OptimizerState;
  release(): Promise<void>;
}

/** One session per batch size, using every core: the plain way to run steps (and the one batch norm needs). */
export class SessionStepper implements Stepper {
  private readonly steps = new Map<number, TrainStep>();
  private readonly state: TrainingState;
  private readonly inputShape: number[];
  private readonly per: number;
  private readonly classes: number;

  private readonly options: SessionOptions & TrainGraphOptions;

  constructor(
    private readonly model: Sequential,
    private readonly optimizer: Optimizer,
    options: SessionOptions & TrainGraphOptions = {},
    private readonly settings?: StepSettings,
    resume?: OptimizerState,
  ) {
    this.options = {
      ...options,
      augment: settings?.augment,
      labelSmoothing: settings?.labelSmoothing,
      nchwcBlock: options.nchwcBlock ?? settings?.nchwcBlock,
    };
    this.state = new TrainingState(model, optimizer, options.flatParameters ?? true, resume);
    this.inputShape = [...model.inputSpec.shape];
    this.per = this.inputShape.reduce((a, b) => a * b, 1);
    this.classes = model.outputShape[0];
  }

  async run(x: Float32Array, y: Float32Array, n: number): Promise<StepResult> {
    let step = this.steps.get(n);
    if (!step)
      this.steps.set(n, (step = await TrainStep.create(this.model, this.optimizer, n, this.options)));
    const rows = (a: Float32Array, width: number) => (a.length === n * width ? a : a.subarray(0, n * width));
    return step.run(
      this.state,
      floatTensor(rows(x, this.per), [n, ...this.inputShape]),
      floatTensor(rows(y, this.classes), [n, this.classes]),
      augmentTensors(this.settings, this.model, this.state.step + 1, 0, n),
    );
  }

  weights(): Map<string, Float32Array> {
    return this.state.weights(this.model);
  }

  optimizerState(): OptimizerState {
    return this.state.optimizerState(this.optimizer);
  }

  async release(): Promise<void> {
    for (const s of this.steps.values()) await s.release();
  }
}
