/**
 * Fine-tuning in the page, in a Web Worker: our own compiled training graph (forward, backward and Adam in
 * one ONNX model, the same graph `digits train` runs) on onnxruntime-web. The person's digits, repeated to a
 * share of each epoch, are mixed with MNIST digits the server offers (when it has them) so the model does
 * not forget, and augmented as the CLI's `digits finetune` does. The result is a digits model directory's two
 * files, made here.
 */
import * as ort from "onnxruntime-web/wasm";
import { augmentFeeds, parseAugment } from "../src/engine/compiler/augment.js";
import { buildTrainGraph } from "../src/engine/compiler/compile.js";
import { adam } from "../src/engine/compiler/optimizers.js";
import { FLAT, packFlat, TRAIN, unpackFlat } from "../src/engine/compiler/params.js";
import { toOnnx } from "../src/engine/graph/serialize.js";
import { Random } from "../src/util/random.js";
import type { Sequential } from "../src/engine/model/sequential.js";
import { argmax } from "../src/util/argmax.js";
import { repeatsFor } from "../src/runs/mix.js";
import { STANDARD_AUGMENT } from "../src/zoo/recipes.js";
import { inferenceOnnx, metadataFor, modelsFrom, parseMetadata } from "../src/zoo/model-files.js";

export interface TuneRequest {
  onnx: Uint8Array;
  metadata: unknown;
  /** The person's digits: [n, 28, 28, 1] in 0–1, and their labels. */
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

const PER = 28 * 28;

async function correct(session: ort.InferenceSession, x: Float32Array, labels: Uint8Array): Promise<number> {
  const out = await session.run({ input: new ort.Tensor("float32", x, [labels.length, 28, 28, 1]) });
  const p = out.output.data as Float32Array;
  let right = 0;
  labels.forEach((l, i) => (right += argmax(p.subarray(i * 10, i * 10 + 10)) === l ? 1 : 0));
  return right;
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
  const before = await ort.InferenceSession.create(r.onnx, { executionProviders: ["wasm"] });
  const right0 = await correct(before, r.digits.x, r.digits.labels);
  await before.release();

  // The epoch's rows: the person's digits `times` over, then the replay digits.
  const n = r.digits.labels.length;
  const replay = r.replay?.labels.length ?? 0;
  const times = repeatsFor(r.share, n, replay);
  const rows = n * times + replay;
  const row = (i: number): [Float32Array, number] =>
    i < n * times
      ? [r.digits.x.subarray((i % n) * PER, ((i % n) + 1) * PER), r.digits.labels[i % n]]
      : [
          r.replay!.x.subarray((i - n * times) * PER, (i - n * times + 1) * PER),
          r.replay!.labels[i - n * times],
        ];

  const steps = r.epochs * Math.max(1, Math.floor(rows / r.batch));
  const optimizer = adam({ learningRate: r.learningRate, schedule: "cosine", decaySteps: steps });
  const augment = parseAugment(STANDARD_AUGMENT);
  const { graph, carried } = buildTrainGraph(model, optimizer, r.batch, { augment });
  const session = await ort.InferenceSession.create(toOnnx(graph), { executionProviders: ["wasm"] });
  const flat = packFlat(model);
  const state = new Map<string, ort.Tensor>();
  for (const name of carried)
    state.set(
      name,
      new ort.Tensor("float32", name === TRAIN.weight(FLAT) ? flat : new Float32Array(flat.length), [
        flat.length,
      ]),
    );

  const rng = new Random(r.seed);
  const x = new Float32Array(r.batch * PER);
  const y = new Float32Array(r.batch * 10);
  for (let t = 1; t <= steps; t++) {
    y.fill(0);
    for (let b = 0; b < r.batch; b++) {
      const [pixels, label] = row(rng.int(rows));
      x.set(pixels, b * PER);
      y[b * 10 + label] = 1;
    }
    const feeds: Record<string, ort.Tensor> = {
      [TRAIN.x]: new ort.Tensor("float32", x.slice(), [r.batch, 28, 28, 1]),
      [TRAIN.y]: new ort.Tensor("float32", y.slice(), [r.batch, 10]),
    };
    for (const [name, v] of Object.entries(augmentFeeds(augment, r.seed, t, 0, r.batch, [28, 28])))
      feeds[name] = new ort.Tensor("float32", v.data, [...v.shape]);
    for (const [name, v] of Object.entries(optimizer.scalars(t)))
      feeds[name] = new ort.Tensor("float32", Float32Array.of(v), []);
    for (const name of carried) feeds[name] = state.get(name) as ort.Tensor;
    const out = await session.run(feeds);
    const loss = (out[TRAIN.loss].data as Float32Array)[0];
    if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${t} (loss ${loss})`);
    for (const name of carried) state.set(name, out[TRAIN.next(name)]);
    post({ type: "progress", step: t, steps, loss });
  }
  await session.release();

  model.setWeights(unpackFlat(model, state.get(TRAIN.weight(FLAT))!.data as Float32Array));
  const onnx = inferenceOnnx(model);
  const after = await ort.InferenceSession.create(onnx, { executionProviders: ["wasm"] });
  const right1 = await correct(after, r.digits.x, r.digits.labels);
  await after.release();
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
