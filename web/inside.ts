/**
 * "What the model sees inside", for the digit just read: the first convolution's feature maps (what each of
 * its filters responds to, each map scaled to its own maximum) and a saliency map — the gradient of the top
 * digit's score with respect to each input pixel, red where more ink would push the answer towards that
 * digit, blue where it would push away. Runs /inside.onnx (the served model with those two outputs) here.
 */
import * as ort from "onnxruntime-web/wasm";
import { SIZE } from "../src/vision/preprocess.js";
import { $ } from "./dom.js";

const COLUMNS = 8;

export class InsideView {
  private session: Promise<ort.InferenceSession> | undefined;
  private last: { input: Float32Array; digit: number } | undefined;
  private readonly panel = $<HTMLDetailsElement>("inside");

  constructor() {
    this.panel.addEventListener("toggle", () => this.panel.open && this.last && void this.draw());
  }

  /** A new one-digit answer: drawn now if the panel is open, else when it opens. */
  show(input: Float32Array, digit: number): void {
    this.last = { input, digit };
    if (this.panel.open) void this.draw();
  }

  private async draw(): Promise<void> {
    const { input, digit } = this.last!;
    try {
      this.session ??= fetch("/inside.onnx").then(async (r) => {
        if (!r.ok) throw new Error((await r.json()).message);
        return ort.InferenceSession.create(new Uint8Array(await r.arrayBuffer()), {
          executionProviders: ["wasm"],
        });
      });
      const session = await this.session;
      const target = new Float32Array(10);
      target[digit] = 1;
      const out = await session.run({
        input: new ort.Tensor("float32", input, [1, SIZE, SIZE, 1]),
        target: new ort.Tensor("float32", target, [1, 10]),
      });
      drawMaps(out.maps.data as Float32Array, out.maps.dims as number[]);
      drawSaliency(input, out.saliency.data as Float32Array);
      $("inside-caption").textContent =
        `Left: the ${out.maps.dims[1]} feature maps of the first convolution. Right: which pixels push the answer towards ${digit} (red) or away (blue).`;
      document.body.dataset.inside = String(digit);
    } catch (e) {
      $("inside-caption").textContent = `Cannot look inside: ${(e as Error).message}`;
    }
  }
}

function drawMaps(maps: Float32Array, [, c, h, w]: number[]): void {
  const canvas = $<HTMLCanvasElement>("maps");
  const rows = Math.ceil(c / COLUMNS);
  canvas.width = COLUMNS * (w + 1);
  canvas.height = rows * (h + 1);
  const ctx = canvas.getContext("2d") as CanvasRenderingContext2D;
  const img = ctx.createImageData(canvas.width, canvas.height);
  img.data.fill(255);
  for (let k = 0; k < c; k++) {
    const map = maps.subarray(k * h * w, (k + 1) * h * w);
    const max = Math.max(1e-6, ...map);
    const [ox, oy] = [(k % COLUMNS) * (w + 1), Math.floor(k / COLUMNS) * (h + 1)];
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const v = Math.round(255 * (1 - map[y * w + x] / max));
        img.data.set([v, v, v, 255], 4 * ((oy + y) * canvas.width + ox + x));
      }
  }
  ctx.putImageData(img, 0, 0);
}

function drawSaliency(input: Float32Array, saliency: Float32Array): void {
  const canvas = $<HTMLCanvasElement>("saliency");
  canvas.width = canvas.height = SIZE;
  const ctx = canvas.getContext("2d") as CanvasRenderingContext2D;
  const img = ctx.createImageData(SIZE, SIZE);
  const max = Math.max(1e-6, ...saliency.map(Math.abs));
  for (let i = 0; i < SIZE * SIZE; i++) {
    const s = saliency[i] / max;
    const ink = 40 * input[i]; // the digit, faintly, under the colours
    const [r, g, b] = s >= 0 ? [255, 255 * (1 - s), 255 * (1 - s)] : [255 * (1 + s), 255 * (1 + s), 255];
    img.data.set([r - ink, g - ink, b - ink, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}
