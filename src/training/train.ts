/**
 * A training run, the notebook's job as a library call: load the dataset (MNIST unless told), build the model, fit (in a worker),
 * checkpoint every epoch, evaluate on the test set, and leave a run directory:
 *   config.json  history.json  history.csv  metrics.json  model/ (model.onnx + metadata.json)
 * and, while it is unfinished, checkpoint/ (checkpoint.ts), from which `resumeRun` continues it exactly.
 */
import fs from "node:fs";
import path from "node:path";
import { loadDataset, type Dataset } from "../data/dataset.js";
import { concatSplits, PIXEL_MAX, sliceSplit, type Split } from "../data/split.js";
import {
  defaultReplicas,
  defaultThreads,
  evaluate,
  fit,
  type FitCallbacks,
  type EpochLogs,
  type FitHandle,
  type Optimizer,
  type OptimizerState,
  type Sequential,
} from "../engine/index.js";
import { classificationReport, type Report } from "../metrics/classification.js";
import { fontDigits } from "../synthetic/fonts.js";
import { dirVersions, writeAtomic } from "../util/fs.js";
import { architectureFrom } from "../zoo/architectures.js";
import { saveModel, type SaveInfo } from "../saved/saved-model.js";
import { CHECKPOINT_DIR, loadCheckpoint, saveCheckpoint, type Checkpoint } from "./checkpoint.js";
import {
  optimizerFor,
  parseValidation,
  validationWatch,
  type TrainConfig,
  type ValidationSpec,
  type ValidationWatch,
} from "./config.js";
import { checkOut, startRunDir } from "./run-dir.js";

export type { TrainConfig, ValidationSpec } from "./config.js";
export { parseValidation } from "./config.js";
import { writeHistory } from "./history.js";
import { readJson } from "../util/json.js";
import { loadModel } from "../saved/saved-model.js";

export interface RunEvents extends FitCallbacks {
  onMessage?(m: string): void;
  /** Receives the handle so the caller can stop training (Ctrl-C). */
  onStart?(handle: FitHandle): void;
}

export interface RunResult {
  out: string;
  modelDir: string;
  history: EpochLogs[];
  stopped: boolean;
  test: { accuracy: number; loss: number; count: number };
  report: Report;
  seconds: { total: number; load: number; fit: number };
  /** Each part of the dataset: where it came from, and the final model's test score on it. */
  parts: { name: string; source: Dataset["parts"][number]["source"]; test: TestScore }[];
}

type TestScore = { accuracy: number; loss: number; count: number };

/**
 * What the run trains and validates on: the dataset's training images (the first `limit`), less a validation split
 * carved from their end (as Keras's validation_split) or with the test set to validate (the notebook), plus
 * any font-rendered digits (never validated on).
 */
function trainingData(
  config: TrainConfig,
  data: Dataset,
  validation: ValidationSpec,
  say: (m: string) => void,
): { train: Split; valid?: Split } {
  let train: Split = config.limit ? sliceSplit(data.train, 0, config.limit) : data.train;
  let valid: Split | undefined = validation.kind === "test" ? data.test : undefined;
  if (validation.kind === "split") {
    const cut = Math.round(train.count * (1 - validation.fraction));
    [train, valid] = [sliceSplit(train, 0, cut), sliceSplit(train, cut)];
  }
  if (config.synthetic) {
    say(`rendering or loading ${config.synthetic} font digits`);
    train = concatSplits(train, fontDigits({ count: config.synthetic, seed: config.seed, onProgress: say }));
  }
  return { train, valid };
}

/** Where a run's data comes from (tests substitute it). */
export interface RunSources {
  loadDataset: typeof loadDataset;
}

/**
 * The test set is read only to validate on it when asked (`validation: "test"`, the notebook's way) and to
 * score the final model: with a split or no validation, nothing is chosen by it.
 */
export async function trainRun(
  config: TrainConfig,
  events: RunEvents = {},
  sources: RunSources = { loadDataset },
): Promise<RunResult> {
  checkOut(config);
  return runTraining(config, events, sources);
}

/** What a run directory's config.json records beyond the TrainConfig it was started with. */
const RECORDED_ONLY = ["data", "versions", "startedAt"];

/**
 * Continues an interrupted run (Ctrl-C, SIGTERM, SIGKILL, power loss) from its last checkpoint, with the
 * settings in its config.json: the same seed, data and replicas then give the same weights and history, to
 * the last bit, as a run never interrupted (dropout aside: onnxruntime draws its masks from a generator inside
 * the session, which starts afresh).
 */
export async function resumeRun(
  runDir: string,
  events: RunEvents = {},
  sources: RunSources = { loadDataset },
): Promise<RunResult> {
  const configFile = path.join(runDir, "config.json");
  if (!fs.existsSync(configFile)) throw new Error(`${runDir}: not a run directory (no config.json)`);
  const recorded = readJson(configFile, "run directory") as Record<string, unknown>;
  if (fs.existsSync(path.join(runDir, "metrics.json")) && !fs.existsSync(path.join(runDir, CHECKPOINT_DIR)))
    throw new Error(`${runDir}: the run has finished (metrics.json); nothing to resume`);
  const from = loadCheckpoint(runDir);
  if (!from)
    throw new Error(
      `${runDir}: no checkpoint yet (none is saved before the first epoch ends): start it again with --overwrite`,
    );
  const config = Object.fromEntries(
    Object.entries(recorded).filter(([k]) => !RECORDED_ONLY.includes(k)),
  ) as unknown as TrainConfig;
  const data = recorded.data as { parts?: { name: string; sha256?: string }[] } | undefined;
  return runTraining({ ...config, out: runDir, overwrite: false }, events, sources, {
    checkpoint: from,
    parts: data?.parts ?? [],
  });
}

/** Where a resumed run continues from, and the dataset parts it was started on (checked unchanged). */
interface ResumeFrom {
  checkpoint: Checkpoint;
  parts: { name: string; sha256?: string }[];
}

async function runTraining(
  config: TrainConfig,
  events: RunEvents,
  sources: RunSources,
  resume?: ResumeFrom,
): Promise<RunResult> {
  const t0 = performance.now();
  const run = await prepareRun(config, events, sources, resume);
  const fitStart = performance.now();
  const result = await trainEpochs(run, events, resume);
  const seconds = { load: run.loadSeconds, fit: (performance.now() - fitStart) / 1000 };
  return finishRun(run, result, seconds, t0, resume);
}

/** Everything a run's epochs need, ready: the data, the model (restored when resuming), the run directory. */
interface PreparedRun {
  config: TrainConfig;
  say: (m: string) => void;
  data: Dataset;
  loadSeconds: number;
  train: Split;
  valid?: Split;
  model: Sequential;
  optimizer: Optimizer;
  replicas: number;
  watch: ValidationWatch;
  out: string;
  modelDir: string;
  history: EpochLogs[];
  /** Epochs already trained (a resumed run's). */
  done: number;
  saveInfo: (history: EpochLogs[]) => SaveInfo;
}

/** Loads the data (checked unchanged when resuming), builds the model and opens the run directory. */
async function prepareRun(
  config: TrainConfig,
  events: RunEvents,
  sources: RunSources,
  resume?: ResumeFrom,
): Promise<PreparedRun> {
  const say = events.onMessage ?? (() => {});
  const validation = parseValidation(config.validation);
  const t0 = performance.now();
  const data = await sources.loadDataset(config.dataset ?? "mnist", {
    dataDir: config.dataDir,
    onProgress: say,
    onDrawn: (name, done, total) =>
      done === total && say(`drew ${name}: ${total} digits as the page draws them`),
  });
  const loadSeconds = (performance.now() - t0) / 1000;
  for (const p of data.parts)
    say(
      `${p.name} from ${p.source.kind} (${p.source.location}): ${p.train.count} training and ${p.test.count} test images${p.carved ? " (every fifth image held out as its test split)" : ""}`,
    );
  say(`loaded in ${loadSeconds.toFixed(2)}s`);
  if (resume) {
    const now = data.parts.map((p) => `${p.name}:${p.sha256}`).join(" ");
    const then = resume.parts.map((p) => `${p.name}:${p.sha256}`).join(" ");
    if (now !== then)
      throw new Error(
        `${config.out}: the dataset is not the one the run started on (then ${then}, now ${now}): a resumed run must see the same data`,
      );
  }
  const { train, valid } = trainingData(config, data, validation, say);
  const watch = validationWatch(config, validation);
  const model = architectureFrom(config.architecture, config.seed);
  const replicas = config.replicas ?? defaultReplicas(model, config.batchSize, defaultThreads());
  const optimizer = optimizerFor(config, train.count);
  const { out, training } = startRunDir(config, data, optimizer, replicas, train.count, !!resume);
  const modelDir = path.join(out, "model");
  const history: EpochLogs[] = [...(resume?.checkpoint.history ?? [])];
  if (resume) {
    model.setWeights(resume.checkpoint.model.weights);
    history.forEach((logs, epoch) => {
      if (watch.observe(epoch, logs).stop)
        throw new Error(`${config.out}: the run stopped early after epoch ${epoch + 1}; nothing to resume`);
    });
    if (watch.best) watch.best.weights = loadModel(modelDir).model.weights;
    say(`resuming after epoch ${history.length} of ${config.epochs} (step ${resume.checkpoint.state.step})`);
  }
  return {
    config,
    say,
    data,
    loadSeconds,
    train,
    valid,
    model,
    optimizer,
    replicas,
    watch,
    out,
    modelDir,
    history,
    done: history.length,
    saveInfo: (h) => ({ architectureName: config.architecture, training, history: h }),
  };
}

/** Trains the remaining epochs, keeping the history, the model and a checkpoint after each. */
async function trainEpochs(
  run: PreparedRun,
  events: RunEvents,
  resume?: ResumeFrom,
): Promise<{ stopped: boolean; epochsDone: number; earlyStopped: boolean }> {
  const { config, out, modelDir, history, watch, saveInfo, say } = run;
  const remaining = config.epochs - run.done;
  // killed after the last checkpoint: only scoring is left
  if (remaining <= 0) return { stopped: false, epochsDone: 0, earlyStopped: false };
  const checkpoint = architectureFrom(config.architecture, config.seed);
  let earlyStopped = false;
  // The training images as bytes, scaled to 0–1 batch by batch: the same values as the split's floats.
  const images = { bytes: run.train.pixels, divisor: PIXEL_MAX };
  const handle = fit(run.model, images, run.train.labels, {
    optimizer: run.optimizer,
    epochs: remaining,
    initialEpoch: run.done,
    resume: resume?.checkpoint.state,
    batchSize: config.batchSize,
    replicas: run.replicas,
    seed: config.seed,
    validationData: run.valid ? { x: run.valid.x, labels: run.valid.labels } : undefined,
    step: { augment: config.augment, labelSmoothing: config.labelSmoothing },
    onEpochStart: events.onEpochStart,
    onBatch: events.onBatch,
    onEpochEnd: async (
      epoch: number,
      logs: EpochLogs,
      weights: Map<string, Float32Array>,
      state: OptimizerState,
    ) => {
      history.push(logs);
      writeHistory(out, history);
      const seen = watch.observe(epoch, logs, weights);
      checkpoint.setWeights(weights);
      // The model every epoch (the best one, with --keep best), so an interrupted run keeps what it had; then
      // the checkpoint a resumed run continues from (a kill between the two redoes this epoch, identically).
      if (config.keep !== "best" || seen.best) saveModel(modelDir, checkpoint, saveInfo(history));
      saveCheckpoint(out, checkpoint, saveInfo(history), state, history);
      const stop = await events.onEpochEnd?.(epoch, logs, weights, state);
      if (seen.stop) {
        earlyStopped = true;
        say(`early stop: no better validation loss for ${config.earlyStop} epoch(s)`);
      }
      return stop === true || seen.stop;
    },
  });
  events.onStart?.(handle);
  const result = await handle.done;
  return { stopped: result.stopped, epochsDone: result.epochsDone, earlyStopped };
}

/** Scores the final model on the test split (each part too), saves it with its metrics, and tidies the run. */
async function finishRun(
  run: PreparedRun,
  result: { stopped: boolean; epochsDone: number; earlyStopped: boolean },
  seconds: { load: number; fit: number },
  /** When the run started: the total time is measured to the end of scoring. */
  t0: number,
  resume?: ResumeFrom,
): Promise<RunResult> {
  const { config, data, model, out, modelDir, history, say, done } = run;
  const kept = config.keep === "best" ? run.watch.best : undefined;
  if (kept?.weights) model.setWeights(kept.weights);
  say(`evaluating on the ${data.test.count} test images`);
  const test = await evaluate(model, data.test.x, data.test.labels);
  const report = classificationReport(data.test.labels, test.predicted, data.classes.length);
  const parts = await Promise.all(
    data.parts.map(async (p) => {
      const t = data.parts.length === 1 ? test : await evaluate(model, p.test.x, p.test.labels);
      return { name: p.name, source: p.source, test: { accuracy: t.accuracy, loss: t.loss, count: t.count } };
    }),
  );
  const metrics = {
    test: { accuracy: test.accuracy, loss: test.loss, count: test.count, macroF1: report.macroF1 },
    ...(parts.length > 1 ? { parts: parts.map((p) => ({ name: p.name, ...p.test })) } : {}),
    stopped: result.stopped,
    epochsDone: done + result.epochsDone,
    ...(resume ? { resumedAfter: done } : {}),
    ...(kept ? { keptEpoch: kept.epoch + 1 } : {}),
    seconds: { ...seconds, total: (performance.now() - t0) / 1000 },
  };
  saveModel(modelDir, model, { ...run.saveInfo(history), metrics });
  writeHistory(out, history);
  const fullMetrics = { ...metrics, perClass: report.perClass, confusion: report.confusion };
  writeAtomic(path.join(out, "metrics.json"), `${JSON.stringify(fullMetrics, null, 2)}\n`);
  // Only an interrupted run needs its checkpoint: a finished one (all epochs, or an early stop) is done.
  const interrupted = result.stopped && !result.earlyStopped && history.length < config.epochs;
  if (!interrupted)
    for (const d of dirVersions(path.join(out, CHECKPOINT_DIR)))
      fs.rmSync(d, { recursive: true, force: true });
  return {
    out,
    modelDir,
    history,
    stopped: result.stopped,
    test: { accuracy: test.accuracy, loss: test.loss, count: test.count },
    report,
    seconds: metrics.seconds,
    parts,
  };
}
