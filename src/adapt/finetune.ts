/**
 * `digits finetune`: a model tuned to a person's digits in Node, by the same adaptation the page runs
 * (tune.ts). Every fifth of their digits is held back to measure on; accuracy on MNIST's test set and on the
 * held-back digits is measured before and after, and the tuned model is saved with a record of what it was
 * tuned on, when, and those scores.
 */
import { carve } from "../data/dataset.js";
import { loadMnist } from "../data/mnist.js";
import { DataError, sliceSplit, type Split } from "../data/split.js";
import { evaluate, type Sequential } from "../engine/index.js";
import { nodeRuntime } from "../engine/runtime/ort.js";
import { openModel } from "../saved/resolve.js";
import { saveModel } from "../saved/saved-model.js";
import { adapt, REPLAY_DIGITS, type AdaptEvents, type AdaptSettings } from "./tune.js";

export interface FinetuneConfig {
  /** The model to start from (default: the shipped one). */
  model?: string;
  out: string;
  /** The person's digits, 28×28 (data/dataset.ts makes any source so). */
  samples: Split;
  /** What the samples are, for the record ("samples.db", "idx:…"). */
  samplesName: string;
  settings?: Partial<AdaptSettings>;
  /** MNIST training digits mixed in, so the model does not forget. */
  mnist?: number;
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

async function scores(model: Sequential, mnistTest: Split, held: Split): Promise<Scores> {
  const m = await evaluate(model, mnistTest.x, mnistTest.labels);
  const s = await evaluate(model, held.x, held.labels);
  return { mnist: m.accuracy, samples: s.accuracy };
}

export async function finetune(
  config: FinetuneConfig,
  events: AdaptEvents & { onMessage?(m: string): void } = {},
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
  const replay = sliceSplit(mnist.train, 0, config.mnist ?? REPLAY_DIGITS);
  say(
    `tuning on ${mine.count} of your digits and ${replay.count} MNIST digits; ${held.count} of yours held back`,
  );
  const before = await scores(model, mnist.test, held);
  const record = await adapt(nodeRuntime(), model, mine, replay, config.settings, events);
  const after = await scores(model, mnist.test, held);
  const seconds = (performance.now() - t0) / 1000;
  saveModel(config.out, model, {
    architectureName: loaded.metadata.architectureName,
    training: {
      ...(loaded.metadata.training ?? {}),
      finetuned: {
        where: "digits finetune (onnxruntime-node)",
        when: new Date().toISOString(),
        from: { dir: loaded.dir, sha256: loaded.metadata.files["model.onnx"]?.sha256 },
        samples: config.samplesName,
        trained: mine.count,
        heldBack: held.count,
        ...record,
        before,
        after,
        seconds,
      },
    },
    metrics: {
      test: { accuracy: after.mnist, count: mnist.test.count },
      samples: { accuracy: after.samples, count: held.count },
    },
  });
  return { before, after, trained: mine.count, heldBack: held.count, modelDir: config.out, seconds };
}
