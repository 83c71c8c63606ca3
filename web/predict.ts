/**
 * Where the model runs: in this browser (onnxruntime-web on the same model.onnx, preprocessing by the very
 * module the server uses) or on the server (the API). Both give the same Result.
 */
import * as ort from "onnxruntime-web/wasm";
import { NoInkError, preprocess, rgbaLight, SIZE } from "../src/vision/preprocess.js";
import { argmax } from "../src/util/argmax.js";
import type { Pad } from "./pad.js";

export interface Digit {
  probabilities: number[];
  /** The 28×28 the model saw. */
  input: Float32Array;
}

export interface Result {
  /** One digit, or each digit of a written number, left to right. */
  digits: Digit[];
  ms: number;
  by: "browser" | "server";
}

export interface ModelInfo {
  architecture: string;
  lowConfidence: number;
  /** Whether the server keeps the digits people opt in to give. */
  samples?: boolean;
  metrics?: { test?: { accuracy?: number } };
}

/** The pad's one digit as the model's 28×28 input (NoInkError when it is blank). */
export function padInput(pad: Pad): Float32Array {
  const { data, width, height } = pad.pixels();
  return preprocess(rgbaLight(data, width, height)).input;
}

export class BrowserModel {
  private constructor(private session: ort.InferenceSession) {}

  /** The served model, or the given one (a model tuned in this page). */
  static async load(onnx?: Uint8Array): Promise<BrowserModel> {
    ort.env.wasm.wasmPaths = "/ort/";
    ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one digit takes ~1 ms anyway
    const options = { executionProviders: ["wasm"] };
    return new BrowserModel(
      await (onnx
        ? ort.InferenceSession.create(onnx, options)
        : ort.InferenceSession.create("/model.onnx", options)),
    );
  }

  /** The digit it reads in each of n 28×28 inputs. */
  async digits(x: Float32Array, n: number): Promise<number[]> {
    const out = await this.session.run({ input: new ort.Tensor("float32", x, [n, SIZE, SIZE, 1]) });
    const p = out.output.data as Float32Array;
    const classes = p.length / n;
    return Array.from({ length: n }, (_, i) => argmax(p.subarray(i * classes, (i + 1) * classes)));
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  /** Runs another model from now on (one fine-tuned in this page). */
  async replace(onnx: Uint8Array): Promise<void> {
    const next = await ort.InferenceSession.create(onnx, { executionProviders: ["wasm"] });
    const old = this.session;
    this.session = next;
    await old.release();
  }

  async read(pad: Pad, number: boolean): Promise<Result> {
    const t0 = performance.now();
    const { data, width, height } = pad.pixels();
    const prepared = number
      ? preprocess(rgbaLight(data, width, height), { several: true })
      : [preprocess(rgbaLight(data, width, height))];
    const per = SIZE * SIZE;
    const batch = new Float32Array(prepared.length * per);
    prepared.forEach((p, i) => batch.set(p.input, i * per));
    const out = await this.session.run({
      input: new ort.Tensor("float32", batch, [prepared.length, SIZE, SIZE, 1]),
    });
    const probs = out.output.data as Float32Array;
    const classes = probs.length / prepared.length;
    const digits = prepared.map((p, i) => ({
      probabilities: Array.from(probs.subarray(i * classes, (i + 1) * classes)),
      input: p.input,
    }));
    return { digits, ms: performance.now() - t0, by: "browser" };
  }
}

/** A base64 PNG of a 28×28 input (as the server sends it) back to 0–1 values. */
async function fromPng(base64: string): Promise<Float32Array> {
  const png = await createImageBitmap(await (await fetch(`data:image/png;base64,${base64}`)).blob());
  const c = new OffscreenCanvas(SIZE, SIZE).getContext("2d") as OffscreenCanvasRenderingContext2D;
  c.drawImage(png, 0, 0);
  const grey = c.getImageData(0, 0, SIZE, SIZE).data;
  return Float32Array.from({ length: SIZE * SIZE }, (_, i) => grey[4 * i] / 255);
}

export async function readOnServer(pad: Pad, number: boolean): Promise<Result> {
  const t0 = performance.now();
  if (pad.hasStrokes) {
    const { data, width, height } = pad.pixels();
    preprocess(rgbaLight(data, width, height)); // throws NoInkError here rather than asking the server about a blank pad
  }
  const body = await pad.blob();
  const res = await fetch(number ? "/api/read" : "/api/predict", {
    method: "POST",
    headers: { "content-type": body.type || "application/octet-stream" },
    body,
  });
  const json = await res.json();
  if (!res.ok) {
    if (json.error === "no_ink") throw new NoInkError();
    throw new Error(json.message ?? `HTTP ${res.status}`);
  }
  const answers: { probabilities: number[]; input28: string }[] = number ? json.digits : [json];
  const digits = await Promise.all(
    answers.map(async (d) => ({ probabilities: d.probabilities, input: await fromPng(d.input28) })),
  );
  return { digits, ms: performance.now() - t0, by: "server" };
}
