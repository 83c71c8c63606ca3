/**
 * One compiled training step for one batch size. Weights, optimizer slots and batch-norm statistics live as
 * onnxruntime tensors between steps: each step's `next/*` outputs become the next step's inputs, so nothing is
 * copied on the JavaScript side.
 */
import { buildTrainGraph, TRAIN, type TrainGraphOptions } from "../compiler/compile.js";
import type { Optimizer } from "../compiler/optimizers.js";
import { toOnnx } from "../compiler/serialize.js";
import type { Sequential } from "../model/sequential.js";
import { createSession, floatTensor, ort, type SessionOptions } from "./ort.js";

export interface StepResult {
  loss: number;
  correct: number;
}

/** Shared training state: the tensors every step reads and replaces, whatever its batch size. */
export class TrainingState {
  readonly tensors = new Map<string, ort.Tensor>();
  step = 0;

  constructor(model: Sequential, optimizer: Optimizer) {
    const trainable = new Set(model.trainableKeys);
    for (const w of model.weightSpecs) {
      const data = Float32Array.from(model.weights.get(w.key) as Float32Array);
      const name = trainable.has(w.key) ? TRAIN.weight(w.key) : TRAIN.state(w.key);
      this.tensors.set(name, floatTensor(data, w.shape));
      if (!trainable.has(w.key)) continue;
      for (const s of optimizer.slots) {
        this.tensors.set(TRAIN.slot(s, w.key), floatTensor(new Float32Array(data.length), w.shape));
      }
    }
  }

  /** Current weights, copied out (for saving, checkpoints or evaluation). */
  weights(model: Sequential): Map<string, Float32Array> {
    const trainable = new Set(model.trainableKeys);
    const out = new Map<string, Float32Array>();
    for (const w of model.weightSpecs) {
      const t = this.tensors.get(
        trainable.has(w.key) ? TRAIN.weight(w.key) : TRAIN.state(w.key),
      ) as ort.Tensor;
      out.set(w.key, Float32Array.from(t.data as Float32Array));
    }
    return out;
  }
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
  async run(state: TrainingState, x: ort.Tensor, y: ort.Tensor): Promise<StepResult> {
    const t = state.step + 1;
    const feeds: Record<string, ort.Tensor> = { [TRAIN.x]: x, [TRAIN.y]: y };
    for (const name of this.carried) feeds[name] = state.tensors.get(name) as ort.Tensor;
    for (const [name, value] of Object.entries(this.optimizer.scalars(t))) {
      feeds[name] = floatTensor(Float32Array.of(value), []);
    }
    const out = await this.session.run(feeds);
    const loss = (out[TRAIN.loss].data as Float32Array)[0];
    if (!Number.isFinite(loss)) {
      throw new Error(`training diverged at step ${t}: the loss is ${loss} (try a lower learning rate)`);
    }
    for (const name of this.carried) state.tensors.set(name, out[TRAIN.next(name)]);
    state.step = t;
    return { loss, correct: (out[TRAIN.correct].data as Float32Array)[0] };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
