/**
 * The training step, written once for every place that trains: a session on all cores in Node, each
 * data-parallel replica (replicas.ts), and the page's worker on onnxruntime-web. It speaks only the API the
 * two onnxruntimes share (onnxruntime-common's types); each place hands in how to make its tensors and
 * sessions (`StepRuntime`). Weights, optimizer slots and batch-norm statistics live as onnxruntime tensors
 * between steps: each step's `next/*` outputs become the next step's inputs, so nothing is copied on the
 * JavaScript side.
 */
import type { InferenceSession, Tensor } from "onnxruntime-common";
import { augmentFeeds } from "../compiler/augment.js";
import type { Optimizer } from "../compiler/optimizers.js";
import { FLAT, packFlat, TRAIN, unpackFlat } from "../compiler/params.js";
import { trainingPasses, type PassChoice } from "../compiler/passes.js";
import { buildTrainGraph, type StepSpec } from "../compiler/train-graph.js";
import { toOnnx } from "../graph/serialize.js";
import type { Sequential } from "../model/sequential.js";
import { sizeOf } from "../graph/ir.js";

/** How one onnxruntime (onnxruntime-node or onnxruntime-web) makes tensors and sessions. */
export interface StepRuntime {
  tensor(data: Float32Array, shape: readonly number[]): Tensor;
  session(onnx: Uint8Array): Promise<InferenceSession>;
}

/** How a run's steps are built and fed. */
export interface StepPlan {
  step: StepSpec;
  /** The run's seed, from which each image's augmentation parameters are drawn. */
  seed: number;
  /** The graph rewrites (default: every pass, without onnxruntime's blocked convolutions). */
  passes?: PassChoice;
}

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

/**
 * A step's batch as feeds: rows rowStart…rowStart+n of step t's batch (x: [n, ...input], y: one-hot
 * [n, classes]; the arrays may hold more rows) and their augmentation parameters.
 */
export function batchFeeds(
  rt: StepRuntime,
  model: Sequential,
  plan: StepPlan,
  t: number,
  x: Float32Array,
  y: Float32Array,
  n: number,
  rowStart = 0,
): Record<string, Tensor> {
  const input = model.inputSpec.shape;
  const classes = model.outputShape[0];
  const rows = (a: Float32Array, width: number) => (a.length === n * width ? a : a.subarray(0, n * width));
  const feeds: Record<string, Tensor> = {
    [TRAIN.x]: rt.tensor(rows(x, sizeOf(input)), [n, ...input]),
    [TRAIN.y]: rt.tensor(rows(y, classes), [n, classes]),
  };
  const { augment } = plan.step;
  if (augment)
    for (const [name, v] of Object.entries(
      augmentFeeds(augment, plan.seed, t, rowStart, n, [input[0], input[1]]),
    ))
      feeds[name] = rt.tensor(v.data, v.shape);
  return feeds;
}

/** The optimizer's per-step scalars (e.g. Adam's bias-corrected step size) as feeds for step t. */
export function scalarFeeds(rt: StepRuntime, optimizer: Optimizer, t: number): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const [name, value] of Object.entries(optimizer.scalars(t)))
    feeds[name] = rt.tensor(Float32Array.of(value), []);
  return feeds;
}

/** A step's loss; a non-finite one stops training with advice rather than training on NaN. */
export function checkedLoss(out: InferenceSession.OnnxValueMapType, t: number): number {
  const loss = (out[TRAIN.loss].data as Float32Array)[0];
  if (!Number.isFinite(loss))
    throw new Error(`training diverged at step ${t}: the loss is ${loss} (try a lower learning rate)`);
  return loss;
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

/**
 * Whole steps (gradients and update in one graph), one session per batch size: how Node trains on all cores,
 * how batch norm trains, and how the page trains.
 */
export class SessionStepper implements Stepper {
  private readonly sessions = new Map<number, { session: InferenceSession; carried: string[] }>();
  /** The tensors every step reads and replaces, whatever its batch size. */
  private readonly state = new Map<string, Tensor>();
  private step: number;

  constructor(
    private readonly rt: StepRuntime,
    private readonly model: Sequential,
    private readonly optimizer: Optimizer,
    private readonly plan: StepPlan,
    resume?: OptimizerState,
  ) {
    const param = TRAIN.weight(FLAT);
    const flat = packFlat(model);
    if (resume) checkOptimizerState(resume, optimizer, flat.length);
    this.state.set(param, rt.tensor(flat, [flat.length]));
    for (const slot of optimizer.slots)
      this.state.set(
        TRAIN.slot(slot, param),
        rt.tensor(resume ? Float32Array.from(resume.slots[slot]) : new Float32Array(flat.length), [
          flat.length,
        ]),
      );
    for (const w of model.weightSpecs)
      if (!w.trainable)
        this.state.set(TRAIN.state(w.key), rt.tensor(Float32Array.from(model.weights.get(w.key)!), w.shape));
    this.step = resume?.step ?? 0;
  }

  async run(x: Float32Array, y: Float32Array, n: number): Promise<StepResult> {
    let compiled = this.sessions.get(n);
    if (!compiled) {
      const { graph, carried } = buildTrainGraph(this.model, this.optimizer, n, {
        step: this.plan.step,
        passes: trainingPasses(this.plan.passes),
      });
      compiled = { session: await this.rt.session(toOnnx(graph)), carried };
      this.sessions.set(n, compiled);
    }
    const t = this.step + 1;
    const feeds = batchFeeds(this.rt, this.model, this.plan, t, x, y, n);
    for (const name of compiled.carried) feeds[name] = this.state.get(name)!;
    Object.assign(feeds, scalarFeeds(this.rt, this.optimizer, t));
    const out = await compiled.session.run(feeds);
    const loss = checkedLoss(out, t);
    for (const name of compiled.carried) this.state.set(name, out[TRAIN.next(name)]);
    this.step = t;
    return { loss, correct: (out[TRAIN.correct].data as Float32Array)[0] };
  }

  private data(name: string): Float32Array {
    return this.state.get(name)!.data as Float32Array;
  }

  weights(): Map<string, Float32Array> {
    const out = unpackFlat(this.model, this.data(TRAIN.weight(FLAT)));
    for (const key of this.model.stateKeys) out.set(key, Float32Array.from(this.data(TRAIN.state(key))));
    return out;
  }

  optimizerState(): OptimizerState {
    const param = TRAIN.weight(FLAT);
    const slots: Record<string, Float32Array> = {};
    for (const slot of this.optimizer.slots)
      slots[slot] = Float32Array.from(this.data(TRAIN.slot(slot, param)));
    return { step: this.step, slots };
  }

  async release(): Promise<void> {
    for (const { session } of this.sessions.values()) await session.release();
  }
}
