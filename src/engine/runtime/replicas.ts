/**
 * Data-parallel training steps on one machine. Each batch is split between replicas, one per core, each a
 * single-threaded onnxruntime session (the first runs in the caller's thread, the others in helper workers).
 * Every replica computes the gradient of its share on its own copy of the weights; then each replica applies
 * the optimizer to its slice of the weights, using every replica's gradient for that slice, and all copy the
 * new weights back. The result is the same step as one session on the whole batch, up to the order of float
 * sums; the optimizer's slots (Adam's moments) live sharded, each slice with the replica that updates it.
 *
 * Why: the kernels of a small batch parallelise poorly: one session on two threads trains hardly faster than
 * on one, while two single-threaded sessions each train at nearly that speed. Net of the update and the two
 * meeting points per step, that is ~1.9× at batch 128 and on par at batch 32 (`npm run bench:fit`).
 *
 * Replicas meet through shared memory: batches, gradients (double-buffered by step parity, so a replica
 * still updating step s never sees step s+1's gradients), the new weights, and a few Int32 counters for
 * Atomics.wait/notify. onnxruntime-node refuses tensors over shared memory, so each replica copies what it
 * feeds into its own buffers (a batch share and a slice of each gradient).
 */
import { parentPort, type Worker } from "node:worker_threads";
import { buildApplyGraph, buildReplicaGradientGraph } from "../compiler/compile.js";
import type { Optimizer } from "../compiler/optimizers.js";
import {
  FLAT,
  flatSize,
  packFlat,
  REPLICA,
  stateLayout,
  TRAIN,
  unpackFlat,
  type FlatEntry,
} from "../compiler/params.js";
import { toOnnx } from "../graph/serialize.js";
import type { Sequential } from "../model/sequential.js";
import { createSession, floatTensor, type ort } from "./ort.js";
import { fromPayload, toPayload, type ModelPayload } from "./payload.js";
import { spawnWorker } from "./spawn.js";
import {
  augmentTensors,
  checkedLoss,
  checkOptimizerState,
  type OptimizerState,
  scalarFeeds,
  type StepSettings,
  type StepResult,
  type Stepper,
} from "./step.js";

// Int32 control slots.
const SEQ = 0; // the step every replica should run next (incremented by the coordinator)
const QUIT = 1; // 1: helpers exit
const FAILED = 2; // 1: a helper failed; its message is in `error`
const SNAPSHOT = 3; // the step after which every replica copies its optimizer slots to `slots`
const HEADER = 4;
const SPIN_MS = 2;

interface Shared {
  replicas: number;
  maxShare: number;
  per: number;
  classes: number;
  size: number; // flat parameter count
  stateSize: number; // batch-norm moving statistics, all of them
  // HEADER, then share sizes [parity][replica], and per replica the last step whose gradient it has written
  // (ready) and whose slice of new weights it has written (updated).
  control: Int32Array;
  stats: Float64Array; // per replica: loss (mean over share), correct
  grads: Float32Array; // [parity][replica][size]
  weights: Float32Array; // [size]: each replica writes its updated slice, then all copy the whole
  state: Float32Array; // [replica][stateSize]: each replica's moving statistics after its share
  slots: Float32Array; // [slot][size]: the optimizer's slots, gathered when a step is snapshotted
  x: Float32Array; // [replica][maxShare * per]
  y: Float32Array; // [replica][maxShare * classes]
  error: Uint8Array;
}

// Share sizes are double-buffered like gradients: a replica still applying step s reads step s's shares.
const shareSlot = (s: Shared, seq: number, r: number) => HEADER + (seq % 2) * s.replicas + r;
const readySlot = (s: Shared, r: number) => HEADER + 2 * s.replicas + r; // gradient written
const updatedSlot = (s: Shared, r: number) => HEADER + 3 * s.replicas + r; // slice of weights written
const shareOf = (s: Shared, seq: number, r: number) => Atomics.load(s.control, shareSlot(s, seq, r));

function allocate(
  replicas: number,
  maxShare: number,
  per: number,
  classes: number,
  size: number,
  stateSize: number,
  slotCount: number,
): Shared {
  const f32 = (n: number) => new Float32Array(new SharedArrayBuffer(n * 4));
  return {
    replicas,
    maxShare,
    per,
    classes,
    size,
    stateSize,
    control: new Int32Array(new SharedArrayBuffer((HEADER + 4 * replicas) * 4)),
    stats: new Float64Array(new SharedArrayBuffer(2 * replicas * 8)),
    grads: f32(2 * replicas * size),
    weights: f32(size),
    state: f32(Math.max(1, replicas * stateSize)),
    slots: f32(Math.max(1, slotCount * size)),
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

/** One replica's sessions, its copy of the weights, and the optimizer slots of its slice of them. */
class Replica {
  private readonly gradients = new Map<number, ort.InferenceSession>();
  private apply?: { session: ort.InferenceSession; slots: string[] };
  private readonly w: Float32Array; // all weights, flat
  private readonly st: Float32Array; // batch-norm moving statistics, flat (every replica holds the same)
  private readonly stateLayout: FlatEntry[];
  private readonly start: number; // this replica's slice of the flat weights, which it updates
  private readonly end: number;
  private readonly slots = new Map<string, ort.Tensor>();
  private step: number;
  // Private copies of what is fed from shared memory (onnxruntime refuses shared buffers).
  private readonly x: Float32Array;
  private readonly y: Float32Array;
  private readonly grads: Float32Array[];

  constructor(
    readonly index: number,
    private readonly model: Sequential,
    private readonly optimizer: Optimizer,
    private readonly s: Shared,
    private readonly settings?: StepSettings,
    private readonly resume?: OptimizerState,
  ) {
    this.step = resume?.step ?? 0;
    this.w = packFlat(model);
    this.stateLayout = stateLayout(model);
    this.st = new Float32Array(s.stateSize);
    for (const l of this.stateLayout) this.st.set(model.weights.get(l.key) as Float32Array, l.offset);
    this.start = Math.floor((index * s.size) / s.replicas);
    this.end = Math.floor(((index + 1) * s.size) / s.replicas);
    this.x = new Float32Array(s.maxShare * s.per);
    this.y = new Float32Array(s.maxShare * s.classes);
    this.grads = Array.from({ length: s.replicas }, () => new Float32Array(this.end - this.start));
  }

  private gradientView(seq: number, r: number): Float32Array {
    const offset = ((seq % 2) * this.s.replicas + r) * this.s.size;
    return this.s.grads.subarray(offset, offset + this.s.size);
  }

  /** Computes this replica's gradient for step `seq` into shared memory and announces it. */
  async gradient(seq: number): Promise<void> {
    const s = this.s;
    const n = shareOf(s, seq, this.index);
    const out = this.gradientView(seq, this.index);
    const myState = s.state.subarray(this.index * s.stateSize, (this.index + 1) * s.stateSize);
    if (n === 0) {
      out.fill(0);
      myState.set(this.st); // no images, no new statistics
      s.stats[2 * this.index] = 0;
      s.stats[2 * this.index + 1] = 0;
    } else {
      let session = this.gradients.get(n);
      if (!session) {
        const graph = buildReplicaGradientGraph(this.model, n, this.index, {
          augment: this.settings?.augment,
          labelSmoothing: this.settings?.labelSmoothing,
          nchwcBlock: this.settings?.nchwcBlock,
        });
        session = await createSession(toOnnx(graph), { threads: 1 });
        this.gradients.set(n, session);
      }
      const xs = this.x.subarray(0, n * s.per);
      const ys = this.y.subarray(0, n * s.classes);
      xs.set(s.x.subarray(this.index * s.maxShare * s.per, (this.index * s.maxShare + n) * s.per));
      ys.set(s.y.subarray(this.index * s.maxShare * s.classes, (this.index * s.maxShare + n) * s.classes));
      let rowStart = 0;
      for (let r = 0; r < this.index; r++) rowStart += shareOf(s, seq, r);
      const result = await session.run({
        ...augmentTensors(this.settings, this.model, seq, rowStart, n),
        [TRAIN.x]: floatTensor(xs, [n, ...this.model.inputSpec.shape]),
        [TRAIN.y]: floatTensor(ys, [n, s.classes]),
        [TRAIN.weight(FLAT)]: floatTensor(this.w, [s.size]),
        ...this.stateFeeds(),
      });
      for (const l of this.stateLayout)
        myState.set(result[TRAIN.next(TRAIN.state(l.key))].data as Float32Array, l.offset);
      const loss = checkedLoss(result, seq);
      out.set(result[REPLICA.grad].data as Float32Array);
      s.stats[2 * this.index] = loss;
      s.stats[2 * this.index + 1] = (result[TRAIN.correct].data as Float32Array)[0];
    }
    signal(s, readySlot(s, this.index), seq);
  }

  /**
   * Waits for every replica's gradient of step `seq`, updates this replica's slice of the weights (and its
   * optimizer slots) into shared memory, then waits for the other slices and takes all the new weights.
   */
  async update(seq: number): Promise<void> {
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
    const length = this.end - this.start;
    if (!this.apply) {
      const { graph, carried } = buildApplyGraph(length, this.optimizer, s.replicas);
      const slots = this.optimizer.slots.map((slot) => TRAIN.slot(slot, TRAIN.weight(FLAT)));
      if (slots.join() !== carried.filter((name) => name !== TRAIN.weight(FLAT)).join())
        throw new Error(`the update graph carries [${carried.join()}], not the optimizer's slots`);
      this.optimizer.slots.forEach((slot, k) => {
        const from = this.resume?.slots[slot].slice(this.start, this.end) ?? new Float32Array(length);
        this.slots.set(slots[k], floatTensor(from, [length]));
      });
      this.apply = { session: await createSession(toOnnx(graph), { threads: 1 }), slots };
    }
    const t = this.step + 1;
    const feeds: Record<string, ort.Tensor> = {
      [TRAIN.weight(FLAT)]: floatTensor(this.w.slice(this.start, this.end), [length]),
    };
    for (const name of this.apply.slots) feeds[name] = this.slots.get(name) as ort.Tensor;
    for (let r = 0; r < s.replicas; r++) {
      this.grads[r].set(this.gradientView(seq, r).subarray(this.start, this.end));
      feeds[REPLICA.partial(r)] = floatTensor(this.grads[r], [length]);
      feeds[REPLICA.share(r)] = floatTensor(Float32Array.of(shareOf(s, seq, r) / total), []);
    }
    Object.assign(feeds, scalarFeeds(this.optimizer, t));
    const out = await this.apply.session.run(feeds);
    for (const name of this.apply.slots) this.slots.set(name, out[TRAIN.next(name)]);
    if (Atomics.load(s.control, SNAPSHOT) === seq)
      this.apply.slots.forEach((name, k) =>
        s.slots.set(out[TRAIN.next(name)].data as Float32Array, k * s.size + this.start),
      );
    s.weights.set(out[TRAIN.next(TRAIN.weight(FLAT))].data as Float32Array, this.start);
    signal(s, updatedSlot(s, this.index), seq);
    for (let r = 0; r < s.replicas; r++) waitAtLeast(s, updatedSlot(s, r), seq);
    this.w.set(s.weights);
    this.step = t;
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
    const out = unpackFlat(this.model, this.w);
    for (const l of this.stateLayout) out.set(l.key, this.st.slice(l.offset, l.offset + l.size));
    return out;
  }

  async release(): Promise<void> {
    for (const session of this.gradients.values()) await session.release();
    await this.apply?.session.release();
  }
}

/** What a helper worker needs to build its replica. */
export interface HelperStart {
  index: number;
  model: ModelPayload;
  shared: Shared;
  settings?: StepSettings;
  resume?: OptimizerState;
}

/** The helper worker's loop: wait for a step, compute the gradient, update, until told to quit. */
export async function runHelper(start: HelperStart): Promise<void> {
  const s = start.shared;
  const { model, optimizer } = fromPayload(start.model);
  const replica = new Replica(start.index, model, optimizer, s, start.settings, start.resume);
  parentPort?.postMessage("ready");
  try {
    for (let seq = (start.resume?.step ?? 0) + 1; ; seq++) {
      waitAtLeast(s, SEQ, seq);
      await replica.gradient(seq);
      await replica.update(seq);
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
  private snapshotAt = -1;

  private constructor(
    private readonly s: Shared,
    private readonly own: Replica,
    private readonly helpers: Worker[],
    private readonly optimizer: Optimizer,
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
    settings?: StepSettings,
    resume?: OptimizerState,
  ): Promise<DataParallelStepper> {
    if (replicas < 2) throw new Error("data-parallel training needs at least two replicas");
    const per = model.inputSpec.shape.reduce((a, b) => a * b, 1);
    const size = flatSize(model);
    if (resume) checkOptimizerState(resume, optimizer, size);
    const stateSize = stateLayout(model).reduce((n, l) => n + l.size, 0);
    const share = Math.ceil(batchSize / replicas);
    const classes = model.outputShape[0];
    const s = allocate(replicas, share, per, classes, size, stateSize, optimizer.slots.length);
    if (resume) Atomics.store(s.control, SEQ, resume.step);
    const helpers: Worker[] = [];
    const started: Promise<unknown>[] = [];
    for (let index = 1; index < replicas; index++) {
      const start: HelperStart = {
        index,
        model: toPayload(model, optimizer),
        shared: s,
        settings,
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
    const own = new Replica(0, model, optimizer, s, settings, resume);
    return new DataParallelStepper(s, own, helpers, optimizer, resume);
  }

  async run(x: Float32Array, y: Float32Array, n: number, snapshot = false): Promise<StepResult> {
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
    if (snapshot) Atomics.store(s.control, SNAPSHOT, seq);
    signal(s, SEQ, seq);
    await this.own.gradient(seq);
    await this.own.update(seq);
    if (snapshot) this.snapshotAt = seq;
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
    if (this.snapshotAt !== this.seq)
      throw new Error(`no snapshot of the optimizer state after step ${this.seq}`);
    const size = this.s.size;
    const slots: Record<string, Float32Array> = {};
    this.optimizer.slots.forEach((slot, k) => {
      slots[slot] = this.s.slots.slice(k * size, (k + 1) * size);
    });
    return { step: this.seq, slots };
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
