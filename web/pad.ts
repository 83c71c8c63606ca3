/**
 * The drawing pad: strokes from pointer events (mouse, touch, pen), undo and clear, and an uploaded picture
 * shown under the strokes. It keeps its own state; the page listens through `onChange`.
 */
import { inkStrokes, onPaper } from "../src/vision/pen.js";
import type { Pixels } from "./dom.js";

type Point = { x: number; y: number };
interface Stroke {
  width: number;
  points: Point[];
}

/** What the pad holds: strokes, and maybe an uploaded picture under them. */
export interface Upload {
  file: Blob;
  bitmap: ImageBitmap;
  /** The picture's own pixels, for preprocessing without the pad's letterbox. */
  pixels: Pixels;
  /** Its background colour, so letterboxing does not look like ink. */
  paper: string;
}

export class Pad {
  private strokes: Stroke[] = [];
  private current?: Stroke;
  private readonly ctx: CanvasRenderingContext2D;
  /** The pixels the last redraw put on the canvas with strokes on it: reading them back costs ~1 ms. */
  private drawn?: ImageData;
  upload?: Upload;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly penWidth: () => number,
    /** `drawing` is true while a stroke is under way, false when one ends or the pad changes otherwise. */
    private readonly onChange: (drawing: boolean) => void,
  ) {
    this.ctx = canvas.getContext("2d", { willReadFrequently: true }) as CanvasRenderingContext2D;
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.current = { width: this.penWidth(), points: [this.toCanvas(e)] };
      this.strokes.push(this.current);
      this.redraw();
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!this.current) return;
      for (const ev of e.getCoalescedEvents?.() ?? [e]) this.current.points.push(this.toCanvas(ev));
      this.redraw();
      this.onChange(true);
    });
    const end = () => {
      if (!this.current) return;
      this.current = undefined;
      this.onChange(false);
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    this.redraw();
  }

  get empty(): boolean {
    return this.strokes.length === 0 && !this.upload;
  }

  get hasStrokes(): boolean {
    return this.strokes.length > 0;
  }

  /** Removes the last stroke, or the upload once no stroke is left. */
  undo(): void {
    if (this.strokes.length) this.strokes.pop();
    else this.upload = undefined;
    this.redraw();
  }

  clear(): void {
    this.strokes = [];
    this.upload = undefined;
    this.redraw();
  }

  /** Shows a picture (its strokes cleared) to draw on. */
  show(upload: Upload): void {
    this.upload = upload;
    this.strokes = [];
    this.redraw();
  }

  /** An untouched upload is read at its own resolution; once drawn on, what the pad shows is the input. */
  pixels(): Pixels {
    if (!this.hasStrokes && this.upload) return this.upload.pixels;
    const img = this.drawn ?? this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height);
    return { data: img.data, width: img.width, height: img.height };
  }

  /** What to send the server: the untouched upload as is, or the pad as a PNG. */
  async blob(): Promise<Blob> {
    if (!this.hasStrokes && this.upload) return this.upload.file;
    return new Promise<Blob>((r) => this.canvas.toBlob((b) => r(b as Blob), "image/png"));
  }

  private toCanvas(e: PointerEvent): Point {
    const r = this.canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - r.left) / r.width) * this.canvas.width,
      y: ((e.clientY - r.top) / r.height) * this.canvas.height,
    };
  }

  private redraw(): void {
    const { ctx, canvas, upload } = this;
    ctx.fillStyle = upload ? upload.paper : "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (upload) {
      const { bitmap } = upload;
      const s = Math.min(canvas.width / bitmap.width, canvas.height / bitmap.height);
      const [w, h] = [bitmap.width * s, bitmap.height * s];
      ctx.drawImage(bitmap, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
    }
    this.drawn = undefined;
    if (!this.strokes.length) return;
    // The strokes through the one pen renderer (vision/pen.ts) that also draws the training digits.
    const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const ink = new Float32Array(canvas.width * canvas.height);
    for (const s of this.strokes)
      inkStrokes([s.points.map((p) => [p.x, p.y] as const)], s.width, canvas.width, ink);
    onPaper(ink, img.data);
    ctx.putImageData(img, 0, 0);
    this.drawn = img;
  }
}
