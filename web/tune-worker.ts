/**
 * Fine-tuning in the page, in a Web Worker: the engine's training step (step.ts, the one `digits train` and
 * `digits finetune` run: forward, backward and Adam in one ONNX graph) on onnxruntime-web. The person's digits, repeated to a
 * share of each epoch, are mixed with MNIST digits the server offers (when it has them) so the model does
 * not forget, and augmented as the CLI's `digits finetune` does. The result is a digits model directory's two
 * files, made here.
 */
import * as ort from "onnxruntime-web/wasm";
import { adam } from "../src/engine/compiler/optimizers.js";
import { parseStepSpec } from "../src/engine/compiler/train-graph.js";
import { sizeOf } from "../src/engine/graph/ir.js";
import { SessionStepper, type StepRuntime } from "../src/engine/runtime/step.js";
import { Random } from "../src/util/random.js";
import type { Sequential } from "../src/engine/model/sequential.js";
import { argmax } from "../src/util/argmax.js";
import { repeatsFor } from "../src/training/mix.js";
import { STANDARD_AUGMENT } from "../src/zoo/recipes.js";
import { inferenceOnnx, metadataFor, modelsFrom, parseMetadata } from "../src/saved/model-files.js";

export interface TuneRequest {
  onnx: Uint8Array;
  metadata: unknown;
  /** The person's digits: [n, ...the model's input] in 0–1, and their labels. */
  digits: { x: Float32Array; labels: Uint8Array };
  /** MNIST digits to mix in, if the server has them. */
  replay?: { x: Float32Array; labels: Uint8Array };
  epochs: number;
  learningRate: number;
  share: number;
  batch: number;
  seed: number;
  wasmPaths: string;
}

export type TuneMessage =
  | { type: "progress"; step: number; steps: number; loss: number }
  | {
      type: "done";
      onnx: Uint8Array;
      metadata: unknown;
      /** Of the person's digits, how many the model read right before and after. */
      before: number;
      after: number;
      seconds: number;
    }
  | { type: "error"; message: string };

const runtime: StepRuntime = {
  tensor: (data, shape) => new ort.Tensor("float32", data, shape as number[]),
  session: (onnx) => ort.InferenceSession.create(onnx, { executionProviders: ["wasm"] }),
};

/** How many of the digits the model (an inference graph) reads right. */
async function correct(
  model: Sequential,
  onnx: Uint8Array,
  x: Float32Array,
  labels: Uint8Array,
): Promise<number> {
  const session = await runtime.session(onnx);
  try {
    const out = await session.run({ input: runtime.tensor(x, [labels.length, ...model.inputSpec.shape]) });
    const p = out.output.data as Float32Array;
    const classes = model.outputShape[0];
    let right = 0;
    labels.forEach((l, i) => (right += argmax(p.subarray(i * classes, (i + 1) * classes)) === l ? 1 : 0));
    return right;
  } finally {
    await session.release();
  }
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice().buffer));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function tune(r: TuneRequest, post: (m: TuneMessage) => void): Promise<void> {
  const t0 = performance.now();
  ort.env.wasm.wasmPaths = r.wasmPaths;
  ort.env.wasm.numThreads = 1;
  const metadata = parseMetadata(r.metadata, "the served model");
  const [model]: Sequential[] = modelsFrom(metadata, r.onnx, "the served model");
  const right0 = await correct(model, r.onnx, r.digits.x, r.digits.labels);

  // The epoch's rows: the person's digits `times` over, then the replay digits.
  const per = sizeOf(model.inputSpec.shape);
  const classes = model.outputShape[0];
  const n = r.digits.labels.length;
  const replay = r.replay?.labels.length ?? 0;
  const times = repeatsFor(r.share, n, replay);
  const rows = n * times + replay;
  const row = (i: number): [Float32Array, number] =>
    i < n * times
      ? [r.digits.x.subarray((i % n) * per, ((i % n) + 1) * per), r.digits.labels[i % n]]
      : [
          r.replay!.x.subarray((i - n * times) * per, (i - n * times + 1) * per),
          r.replay!.labels[i - n * times],
        ];

  const steps = r.epochs * Math.max(1, Math.floor(rows / r.batch));
  const optimizer = adam({ learningRate: r.learningRate, schedule: "cosine", decaySteps: steps });
  const step = parseStepSpec({ augment: STANDARD_AUGMENT });
  const stepper = new SessionStepper(runtime, model, optimizer, { step, seed: r.seed });
  const rng = new Random(r.seed);
  const x = new Float32Array(r.batch * per);
  const y = new Float32Array(r.batch * classes);
  try {
    for (let t = 1; t <= steps; t++) {
      y.fill(0);
      for (let b = 0; b < r.batch; b++) {
        const [pixels, label] = row(rng.int(rows));
        x.set(pixels, b * per);
        y[b * classes + label] = 1;
      }
      // onnxruntime-web may keep a fed array until the step ends: each step gets its own copy.
      const { loss } = await stepper.run(x.slice(), y.slice(), r.batch);
      post({ type: "progress", step: t, steps, loss });
    }
    model.setWeights(stepper.weights());
  } finally {
    await stepper.release();
  }
  const onnx = inferenceOnnx(model);
  const right1 = await correct(model, onnx, r.digits.x, r.digits.labels);
  const seconds = (performance.now() - t0) / 1000;
  const tuned = metadataFor(
    model,
    { bytes: onnx.length, sha256: await sha256Hex(onnx) },
    {
      architectureName: metadata.architectureName,
      training: {
        ...(metadata.training ?? {}),
        finetuned: {
          where: "in the browser (onnxruntime-web)",
          from: { sha256: metadata.files["model.onnx"]?.sha256 },
          trained: n,
          repeated: times,
          mnist: replay,
          steps,
          batchSize: r.batch,
          optimizer: { name: optimizer.name, config: optimizer.config },
          augment: STANDARD_AUGMENT,
          before: right0 / n,
          after: right1 / n,
          seconds,
        },
      },
      // No MNIST test score: the page does not have the test set (`digits evaluate --model` measures it).
    },
    { "onnxruntime-web": ort.env.versions.web ?? "unknown", browser: navigator.userAgent },
  );
  post({ type: "done", onnx, metadata: tuned, before: right0, after: right1, seconds });
}

self.onmessage = (e: MessageEvent<TuneRequest>) => {
  const post = (m: TuneMessage) => (self as unknown as Worker).postMessage(m);
  tune(e.data, post).catch((err: Error) => post({ type: "error", message: err.message }));
};
