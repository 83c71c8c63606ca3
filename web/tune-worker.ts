/**
 * Learning the person's handwriting in the page, in a Web Worker: the adaptation `digits finetune` runs
 * (src/adapt/tune.ts), here on onnxruntime-web. The result is a digits model directory's two files, made here.
 * Closing the card terminates this worker: the page keeps the model it had.
 */
import * as ort from "onnxruntime-web/wasm";
import { adapt, type AdaptSettings, type Digits } from "../src/adapt/tune.js";
import type { StepRuntime } from "../src/engine/runtime/step.js";
import type { Sequential } from "../src/engine/model/sequential.js";
import { inferenceOnnx, metadataFor, modelsFrom, parseMetadata } from "../src/saved/model-files.js";

export interface TuneRequest {
  onnx: Uint8Array;
  metadata: unknown;
  /** The person's digits: [n, ...the model's input] in 0–1, and their labels. */
  digits: Digits;
  /** Other writers' digits (MNIST's) to mix in, if the server has them. */
  replay?: Digits;
  settings?: Partial<AdaptSettings>;
  wasmPaths: string;
}

export type TuneMessage =
  | { type: "progress"; step: number; steps: number; loss: number }
  | { type: "done"; onnx: Uint8Array; metadata: Record<string, unknown>; seconds: number }
  | { type: "error"; message: string };

const runtime: StepRuntime = {
  tensor: (data, shape) => new ort.Tensor("float32", data, shape as number[]),
  session: (onnx) => ort.InferenceSession.create(onnx, { executionProviders: ["wasm"] }),
};

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
  const record = await adapt(runtime, model, r.digits, r.replay, r.settings, {
    onStep: (step, steps, loss) => post({ type: "progress", step, steps, loss }),
  });
  const onnx = inferenceOnnx(model);
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
          when: new Date().toISOString(),
          from: { sha256: metadata.files["model.onnx"]?.sha256 },
          ...record,
          seconds,
        },
      },
      // No MNIST test score: the page does not have the test set (`digits evaluate --model` measures it).
    },
    { "onnxruntime-web": ort.env.versions.web ?? "unknown", browser: navigator.userAgent },
  );
  post({ type: "done", onnx, metadata: tuned as unknown as Record<string, unknown>, seconds });
}

self.onmessage = (e: MessageEvent<TuneRequest>) => {
  const post = (m: TuneMessage) => (self as unknown as Worker).postMessage(m);
  tune(e.data, post).catch((err: Error) => post({ type: "error", message: err.message }));
};
