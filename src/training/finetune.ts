/**
 * Fine-tuning a model on a person's own digits without forgetting MNIST: every fifth of their digits is held
 * back to measure on; the rest, repeated so they make up `share` of each epoch, are mixed with MNIST training
 * digits and trained on for a few epochs at a low learning rate, with the standard augmentation (a few dozen
 * digits are easy to memorise). Accuracy on MNIST's test set and on the held-back digits is measured before
 * and after, and the tuned model is saved with a record of what it was tuned on.
 */
import { carve } from "../data/dataset.js";
import { loadMnist } from "../data/mnist.js";
import { concatSplits, DataError, sliceSplit, type Split } from "../data/split.js";
import {
  adam,
  evaluate,
  fit,
  type AugmentOptions,
  type FitCallbacks,
  type Sequential,
} from "../engine/index.js";
import { openModel } from "../saved/resolve.js";
import { STANDARD_AUGMENT } from "../zoo/recipes.js";
import { FINETUNE, repeatsFor } from "./mix.js";
import { saveModel } from "../saved/saved-model.js";

export interface FinetuneConfig {
  /** The model to start from (default: the shipped one). */
  model?: string;
  out: string;
  /** The person's digits, 28×28 (data/dataset.ts makes any source so). */
  samples: Split;
  /** What the samples are, for the record ("samples.db", "idx:…"). */
  samplesName: string;
  epochs?: number;
  learningRate?: number;
  batchSize?: number;
  /** MNIST training digits mixed in, so the model does not forget. */
  mnist?: number;
  /** The person's digits' share of each epoch (repeated to reach it). */
  share?: number;
  augment?: AugmentOptions | null;
  seed?: number;
  dataDir?: string;
}

export interface Scores {
  mnist: number;
  samples: number;
}

export interface FinetuneResult {
  before: Scores;
  after: Scores;
  /** How many of the person's digits were trained on, and how many held back to measure on. */
  trained: number;
  heldBack: number;
  modelDir: string;
  seconds: number;
}

/** `times` copies of a split, one after the other. */
function repeat(s: Split, times: number): Split {
  let out = s;
  for (let i = 1; i < times; i++) out = concatSplits(out, s);
  return out;
}

async function scores(model: Sequential, mnistTest: Split, held: Split): Promise<Scores> {
  const m = await evaluate(model, mnistTest.x, mnistTest.labels);
  const s = await evaluate(model, held.x, held.labels);
  return { mnist: m.accuracy, samples: s.accuracy };
}

export async function finetune(
  config: FinetuneConfig,
  events: FitCallbacks & { onMessage?(m: string): void } = {},
): Promise<FinetuneResult> {
  const say = events.onMessage ?? (() => {});
  const t0 = performance.now();
  if (config.samples.count < 5)
    throw new DataError(
      `${config.samplesName}: ${config.samples.count} digit(s); fine-tuning needs at least 5 (every fifth is held back to measure on)`,
    );
  const loaded = openModel(config.model);
  if (loaded.members.length > 1) throw new Error(`${loaded.dir}: an ensemble; fine-tune one of its members`);
  const model = loaded.model;
  const { train: mine, test: held } = carve(config.samples);
  const mnist = await loadMnist({ dataDir: config.dataDir, onProgress: say });
  const mix = sliceSplit(mnist.train, 0, config.mnist ?? FINETUNE.mnist);
  const times = repeatsFor(config.share ?? FINETUNE.share, mine.count, mix.count);
  const train = concatSplits(repeat(mine, times), mix);
  say(
    `fine-tuning on ${mine.count} of your digits (×${times}) and ${mix.count} MNIST digits; ${held.count} of yours held back`,
  );
  const before = await scores(model, mnist.test, held);
  const epochs = config.epochs ?? FINETUNE.epochs;
  const batchSize = config.batchSize ?? FINETUNE.batchSize;
  const optimizer = adam({
    learningRate: config.learningRate ?? FINETUNE.learningRate,
    schedule: "cosine",
    decaySteps: epochs * Math.ceil(train.count / batchSize),
  });
  const augment = config.augment === null ? undefined : (config.augment ?? STANDARD_AUGMENT);
  const handle = fit(model, train.x, train.labels, {
    optimizer,
    epochs,
    batchSize,
    seed: config.seed ?? 1,
    step: { augment },
    onEpochStart: events.onEpochStart,
    onBatch: events.onBatch,
    onEpochEnd: events.onEpochEnd,
  });
  const result = await handle.done;
  const after = await scores(model, mnist.test, held);
  const finetuned = {
    from: { dir: loaded.dir, sha256: loaded.metadata.files["model.onnx"]?.sha256 },
    samples: config.samplesName,
    trained: mine.count,
    heldBack: held.count,
    repeated: times,
    mnist: mix.count,
    epochs,
    batchSize,
    optimizer: { name: optimizer.name, config: optimizer.config },
    augment: augment ?? null,
    before,
    after,
  };
  saveModel(config.out, model, {
    architectureName: loaded.metadata.architectureName,
    training: { ...(loaded.metadata.training ?? {}), finetuned },
    history: result.history, // the fine-tuning epochs; the original run is named in training.finetuned.from
    metrics: {
      test: { accuracy: after.mnist, count: mnist.test.count },
      samples: { accuracy: after.samples, count: held.count },
    },
  });
  return {
    before,
    after,
    trained: mine.count,
    heldBack: held.count,
    modelDir: config.out,
    seconds: (performance.now() - t0) / 1000,
  };
}
