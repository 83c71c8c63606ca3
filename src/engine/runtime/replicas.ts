/**
 * Data-parallel training steps on one machine. Each batch is split between replicas, one per core, each a
 * single-threaded onnxruntime session (the first runs in the caller's thread, the others in helper workers).
 * Every replica computes the gradient of its share on its own copy of the weights; then, once all gradients
 * are in, every replica applies the optimizer to all the weights, each the same computation on the same
 * values, so the copies stay equal to the last bit without being exchanged. The result is the same step as
 * one session on the whole batch, up to the order of float sums.
 *
 * Why: the kernels of a small batch parallelise poorly, while two single-threaded sessions each train at
 * nearly one session's speed. The update runs as one fused WebAssembly loop (kernels/update.ts), ~0.2 ms for
 * the reference CNN's 225k weights.
 *
 * Replicas meet through shared memory once a step: batches, gradients (double-buffered by step parity, so a
 * replica still updating step s never sees step s+1's gradients), and a few Int32 counters for
 * Atomics.wait/notify. onnxruntime-node refuses tensors over shared memory, so each replica copies into its
 * own memory its batch share and the other replicas' gradients; onnxruntime reads the weights from, and
 * writes the replica's own gradient into, the update kernel's memory.
 */
import { parentPort, type Worker } from "node:worker_threads";
import { buildGradients } from "../compiler/train-graph.js";
import { trainingPasses } from "../compiler/passes.js";
import type { Optimizer } from "../compiler/optimizers.js";
import {
  FLAT,
  flatSize,
  packFlat,
  stateLayout,
  TRAIN,
  unpackFlat,
  type FlatEntry,
} from "../compiler/params.js";
import { toOnnx } from "../graph/serialize.js";
import type { Sequential } from "../model/sequential.js";
import { floatTensor, nodeRuntime, type ort } from "./ort.js";
import { fromPayload, toPayload, type ModelPayload } from "./payload.js";
import { spawnWorker } from "./spawn.js";
import { UpdateKernel } from "./kernels/update.js";
import {
  batchFeeds,
  checkedLoss,
  checkOptimizerState,
  type OptimizerState,
  type StepPlan,
  type StepResult,
  type Stepper,
} from "./step.js";
import { sizeOf } from "../graph/ir.js";

// Int32 control slots.
const SEQ = 0; // the step every replica should run next (incremented by the coordinator)
const QUIT = 1; // 1: helpers exit
const FAILED = 2; // 1: a helper failed; its message is in `error`
const HEADER = 3;
const SPIN_MS = 2;

interface Shared {
  replicas: number;
  maxShare: number;
  per: number;
  classes: number;
  size: number; // flat parameter count
  stateSize: number; // batch-norm moving statistics, all of them
  // HEADER, then share sizes [parity][replica], and per replica the last step whose gradient it has written.
  control: Int32Array;
  stats: Float64Array; // per replica: loss (mean over share), correct
  grads: Float32Array; // [parity][replica][size]
  state: Float32Array; // [replica][stateSize]: each replica's moving statistics after its share
  x: Float32Array; // [replica][maxShare * per]
  y: Float32Array; // [replica][maxShare * classes]
  error: Uint8Array;
}

// Share sizes are double-buffered like gradients: a replica still applying step s reads step s's shares.
const shareSlot = (s: Shared, seq: number, r: number) => HEADER + (seq % 2) * s.replicas + r;
const readySlot = (s: Shared, r: number) => HEADER + 2 * s.replicas + r; // gradient written
const shareOf = (s: Shared, seq: number, r: number) => Atomics.load(s.control, shareSlot(s, seq, r));

function allocate(
  replicas: number,
  maxShare: number,
  per: number,
  classes: number,
  size: number,
  stateSize: number,
): Shared {
  const f32 = (n: number) => new Float32Array(new SharedArrayBuffer(n * 4));
  return {
    replicas,
    maxShare,
    per,
    classes,
    size,
    stateSize,
    control: new Int32Array(new SharedArrayBuffer((HEADER + 3 * replicas) * 4)),
    stats: new Float64Array(new SharedArrayBuffer(2 * replicas * 8)),
    grads: f32(2 * replicas * size),
    state: f32(Math.max(1, replicas * stateSize)),
    x: f32(replicas * maxShare * per),
    y: f32(replicas * maxShare * classes),
    error: new Uint8Array(new SharedArrayBuffer(2048)),
  };
}

/** Thrown in helpers waiting when the coordinator has ended training. */
class Quit extends Error {}

/** Blocks until control[slot] ≥ value; throws if a helper failed or training ended. */
function waitAtLeast(s: Shared, slot: number, value: number): void {
  // Spin first: the other replicas are usually a fraction of a millisecond away, and waking a sleeping
  // thread costs about as much on a VM.
  const spinUntil = performance.now() + SPIN_MS;
  while (Atomics.load(s.control, slot) < value && performance.now() < spinUntil);
  for (;;) {
    const seen = Atomics.load(s.control, slot);
    if (seen >= value) return;
    if (Atomics.load(s.control, QUIT) === 1) throw new Quit("training ended");
    if (Atomics.load(s.control, FAILED) === 1) {
      const text = new TextDecoder().decode(s.error.slice()).replace(/\0+$/, "");
      throw new Error(`a training replica failed: ${text}`);
    }
    Atomics.wait(s.control, slot, seen, 1000);
  }
}

function signal(s: Shared, slot: number, value: number): void {
  Atomics.store(s.control, slot, value);
  Atomics.notify(s.control, slot);
}

/** One replica's sessions, its copy of the weights and of the optimizer's slots. */
class Replica {
  private readonly gradients = new Map<number, ort.InferenceSession>();
  private readonly runtime = nodeRuntime({ threads: 1 });
  private readonly kernel: UpdateKernel; // the weights, the optimizer's slots, every replica's gradient
  private readonly st: Float32Array; // batch-norm moving statistics, flat (every replica holds the same)
  private readonly stateLayout: FlatEntry[];
  private step: number;
  // Private copies of a batch share, fed from shared memory (onnxruntime refuses shared buffers).
  private readonly x: Float32Array;
  private readonly y: Float32Array;

  constructor(
    readonly index: number,
    private readonly model: Sequential,
    private readonly optimizer: Optimizer,
    private readonly s: Shared,
    private readonly plan: StepPlan,
    resume?: OptimizerState,
  ) {
    this.step = resume?.step ?? 0;
    this.kernel = new UpdateKernel(s.size, optimizer.slots.length, s.replicas);
    this.kernel.weights.set(packFlat(model));
    if (resume) optimizer.slots.forEach((slot, k) => this.kernel.slots[k].set(resume.slots[slot]));
    this.stateLayout = stateLayout(model);
    this.st = new Float32Array(s.stateSize);
    for (const l of this.stateLayout) this.st.set(model.weights.get(l.key) as Float32Array, l.offset);
    this.x = new Float32Array(s.maxShare * s.per);
    this.y = new Float32Array(s.maxShare * s.classes);
  }

  private gradientView(seq: number, r: number): Float32Array {
    const offset = ((seq % 2) * this.s.replicas + r) * this.s.size;
    return this.s.grads.subarray(offset, offset + this.s.size);
  }

  /** Computes this replica's gradient for step `seq` into shared memory and announces it. */
  async gradient(seq: number): Promise<void> {
    const s = this.s;
    const n = shareOf(s, seq, this.index);
    const mine = this.kernel.partials[this.index];
    const myState = s.state.subarray(this.index * s.stateSize, (this.index + 1) * s.stateSize);
    if (n === 0) {
      mine.fill(0);
      myState.set(this.st); // no images, no new statistics
      s.stats[2 * this.index] = 0;
      s.stats[2 * this.index + 1] = 0;
    } else {
      let session = this.gradients.get(n);
      if (!session) {
        const graph = buildGradients(this.model, n, {
          step: this.plan.step,
          replica: this.index,
          passes: trainingPasses(this.plan.passes),
        });
        session = await this.runtime.session(toOnnx(graph));
        this.gradients.set(n, session);
      }
      const xs = this.x.subarray(0, n * s.per);
      const ys = this.y.subarray(0, n * s.classes);
      xs.set(s.x.subarray(this.index * s.maxShare * s.per, (this.index * s.maxShare + n) * s.per));
      ys.set(s.y.subarray(this.index * s.maxShare * s.classes, (this.index * s.maxShare + n) * s.classes));
      let rowStart = 0;
      for (let r = 0; r < this.index; r++) rowStart += shareOf(s, seq, r);
      const fetches: Record<string, ort.Tensor | null> = {
        [TRAIN.grad]: floatTensor(mine, [s.size]),
        [TRAIN.loss]: null,
        [TRAIN.correct]: null,
      };
      for (const l of this.stateLayout) fetches[TRAIN.next(TRAIN.state(l.key))] = null;
      const result = await session.run(
        {
          ...batchFeeds(this.runtime, this.model, this.plan, seq, xs, ys, n, rowStart),
          [TRAIN.weight(FLAT)]: floatTensor(this.kernel.weights, [s.size]),
          ...this.stateFeeds(),
        },
        fetches,
      );
      for (const l of this.stateLayout)
        myState.set(result[TRAIN.next(TRAIN.state(l.key))].data as Float32Array, l.offset);
      s.stats[2 * this.index] = checkedLoss(result, seq);
      s.stats[2 * this.index + 1] = (result[TRAIN.correct].data as Float32Array)[0];
    }
    this.gradientView(seq, this.index).set(mine);
    signal(s, readySlot(s, this.index), seq);
  }

  /** Waits for every replica's gradient of step `seq`, then updates all the weights (and the slots). */
  update(seq: number): void {
    const s = this.s;
    let total = 0;
    for (let r = 0; r < s.replicas; r++) {
      waitAtLeast(s, readySlot(s, r), seq);
      total += shareOf(s, seq, r);
    }
    // Per-replica batch statistics (as PyTorch's DDP without SyncBatchNorm), and the moving statistics of
    // every replica averaged by share: for the means, exactly one session's update on the whole batch.
    if (s.stateSize > 0) {
      this.st.fill(0);
      for (let r = 0; r < s.replicas; r++) {
        const weight = shareOf(s, seq, r) / total;
        const theirs = s.state.subarray(r * s.stateSize, (r + 1) * s.stateSize);
        for (let i = 0; i < s.stateSize; i++) this.st[i] += weight * theirs[i];
      }
    }
    const shares: number[] = [];
    for (let r = 0; r < s.replicas; r++) {
      if (r !== this.index) this.kernel.partials[r].set(this.gradientView(seq, r));
      shares.push(shareOf(s, seq, r) / total);
    }
    this.step += 1;
    this.kernel.apply(shares, this.optimizer.fused(this.step));
  }

  /** The optimizer's state after the last update, copied out. */
  optimizerState(): OptimizerState {
    return {
      step: this.step,
      slots: Object.fromEntries(this.optimizer.slots.map((slot, k) => [slot, this.kernel.slots[k].slice()])),
    };
  }

  /** The moving statistics as the gradient graph's inputs. */
  private stateFeeds(): Record<string, ort.Tensor> {
    return Object.fromEntries(
      this.stateLayout.map((l) => [
        TRAIN.state(l.key),
        floatTensor(this.st.slice(l.offset, l.offset + l.size), l.shape),
      ]),
    );
  }

  /** This replica's weights by layer (moving statistics included), copied out. */
  weights(): Map<string, Float32Array> {
    const out = unpackFlat(this.model, this.kernel.weights);
    for (const l of this.stateLayout) out.set(l.key, this.st.slice(l.offset, l.offset + l.size));
    return out;
  }

  async release(): Promise<void> {
    for (const session of this.gradients.values()) await session.release();
  }
}

/** What a helper worker needs to build its replica. */
export interface HelperStart {
  index: number;
  model: ModelPayload;
  shared: Shared;
  plan: StepPlan;
  resume?: OptimizerState;
}

/** The helper worker's loop: wait for a step, compute the gradient, update, until told to quit. */
export async function runHelper(start: HelperStart): Promise<void> {
  const s = start.shared;
  const { model, optimizer } = fromPayload(start.model);
  const replica = new Replica(start.index, model, optimizer, s, start.plan, start.resume);
  parentPort?.postMessage("ready");
  try {
    for (let seq = (start.resume?.step ?? 0) + 1; ; seq++) {
      waitAtLeast(s, SEQ, seq);
      await replica.gradient(seq);
      replica.update(seq);
    }
  } catch (e) {
    if (e instanceof Quit) return;
    s.error.set(new TextEncoder().encode(String((e as Error).message ?? e)).subarray(0, s.error.length));
    signal(s, FAILED, 1);
    for (let r = 0; r < s.replicas; r++) Atomics.notify(s.control, readySlot(s, r));
  } finally {
    await replica.release();
  }
}

/** How many replicas suit a batch size: one per core, each with at least 16 images. */
export function defaultReplicas(model: Sequential, batchSize: number, cores: number): number {
  // Batch norm: per-replica statistics change the training a little, so one session unless asked for.
  if (model.stateKeys.length > 0) return 1;
  return Math.max(1, Math.min(cores, Math.floor(batchSize / 16)));
}

export class DataParallelStepper implements Stepper {
  // The global step count: augmentation is drawn per step, so a resumed run continues the count.
  private seq: number;

  private constructor(
    private readonly s: Shared,
    private readonly own: Replica,
    private readonly helpers: Worker[],
    resume?: OptimizerState,
  ) {
    this.seq = resume?.step ?? 0;
  }

  /**
   * Starts the helper workers and waits until each has built its replica: the steps block their thread while
   * waiting for the others, so a helper that failed to start must be known before the first step.
   */
  static async create(
    model: Sequential,
    optimizer: Optimizer,
    batchSize: number,
    replicas: number,
    plan: StepPlan,
    resume?: OptimizerState,
  ): Promise<DataParallelStepper> {
    if (replicas < 2) throw new Error("data-parallel training needs at least two replicas");
    const per = sizeOf(model.inputSpec.shape);
    const size = flatSize(model);
    if (resume) checkOptimizerState(resume, optimizer, size);
    const stateSize = stateLayout(model).reduce((n, l) => n + l.size, 0);
    const share = Math.ceil(batchSize / replicas);
    const classes = model.outputShape[0];
    const s = allocate(replicas, share, per, classes, size, stateSize);
    if (resume) Atomics.store(s.control, SEQ, resume.step);
    const helpers: Worker[] = [];
    const started: Promise<unknown>[] = [];
    for (let index = 1; index < replicas; index++) {
      const start: HelperStart = {
        index,
        model: toPayload(model, optimizer),
        shared: s,
        plan,
        resume,
      };
      const worker = spawnWorker("replica-worker", start);
      worker.on("error", (e) => {
        // After start-up, runHelper reports its own failures through shared memory; this catches the rest.
        s.error.set(new TextEncoder().encode(e.message).subarray(0, s.error.length));
        signal(s, FAILED, 1);
      });
      helpers.push(worker);
      started.push(
        new Promise((resolve, reject) => {
          worker.once("message", resolve);
          worker.once("error", reject);
          worker.once("exit", (code) => reject(new Error(`a training replica exited with code ${code}`)));
        }),
      );
    }
    try {
      await Promise.all(started);
    } catch (e) {
      await Promise.all(helpers.map((w) => w.terminate()));
      throw new Error(`could not start the training replicas: ${(e as Error).message}`, { cause: e });
    }
    const own = new Replica(0, model, optimizer, s, plan, resume);
    return new DataParallelStepper(s, own, helpers, resume);
  }

  async run(x: Float32Array, y: Float32Array, n: number): Promise<StepResult> {
    const s = this.s;
    const base = Math.floor(n / s.replicas);
    const seq = this.seq + 1;
    let row = 0;
    for (let r = 0; r < s.replicas; r++) {
      const share = base + (r < n % s.replicas ? 1 : 0);
      s.x.set(x.subarray(row * s.per, (row + share) * s.per), r * s.maxShare * s.per);
      s.y.set(y.subarray(row * s.classes, (row + share) * s.classes), r * s.maxShare * s.classes);
      Atomics.store(s.control, shareSlot(s, seq, r), share);
      row += share;
    }
    this.seq = seq;
    signal(s, SEQ, seq);
    await this.own.gradient(seq);
    this.own.update(seq);
    let loss = 0;
    let correct = 0;
    for (let r = 0; r < s.replicas; r++) {
      loss += s.stats[2 * r] * shareOf(s, seq, r);
      correct += s.stats[2 * r + 1];
    }
    return { loss: loss / n, correct };
  }

  weights(): Map<string, Float32Array> {
    return this.own.weights();
  }

  optimizerState(): OptimizerState {
    return this.own.optimizerState();
  }

  async release(): Promise<void> {
    signal(this.s, QUIT, 1);
    for (let slot = 0; slot < this.s.control.length; slot++) Atomics.notify(this.s.control, slot);
    await Promise.all(
      this.helpers.map(
        (w) => new Promise((resolve) => (w.threadId < 0 ? resolve(0) : w.once("exit", resolve))),
      ),
    );
    await this.own.release();
  }
}
