/**
 * The page: a drawing pad (pointer events: mouse, touch, pen) with undo, uploads (picker and drag-and-drop),
 * and predictions from the same ONNX model, run in the browser with onnxruntime-web or on the server.
 * Preprocessing is src/vision/preprocess.ts, the very code the server and the CLI run.
 */
import * as ort from "onnxruntime-web/wasm";
import { NoInkError, prepareDigit, prepareDigits, WORKING_SIZE } from "../src/vision/preprocess.js";

interface Digit {
  probabilities: number[];
  /** The 28×28 the model saw. */
  input: Float32Array;
}

interface Result {
  /** One digit, or each digit of a written number, left to right. */
  digits: Digit[];
  ms: number;
  by: "browser" | "server";
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const pad = $<HTMLCanvasElement>("pad");
const ctx = pad.getContext("2d", { willReadFrequently: true }) as CanvasRenderingContext2D;
const status = $("status");
let lowConfidence = 0.6;

// ------------------------------------------------------------------------------------------ drawing

type Point = { x: number; y: number };
interface Stroke {
  width: number;
  points: Point[];
}
let strokes: Stroke[] = [];
let background: ImageBitmap | undefined; // an uploaded picture under the strokes
let paper = "#fff"; // the upload's background colour, so letterboxing does not look like ink
let current: Stroke | undefined;

function redraw(): void {
  ctx.fillStyle = background ? paper : "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  if (background) {
    const s = Math.min(pad.width / background.width, pad.height / background.height);
    const w = background.width * s;
    const h = background.height * s;
    ctx.drawImage(background, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
  }
  ctx.strokeStyle = "#000";
  ctx.fillStyle = "#000";
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const s of strokes) {
    ctx.lineWidth = s.width;
    if (s.points.length === 1) {
      ctx.beginPath();
      ctx.arc(s.points[0].x, s.points[0].y, s.width / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.beginPath();
    s.points.forEach((p, i) => (i ? ctx.lineTo(p.x, p.y) : ctx.moveTo(p.x, p.y)));
    ctx.stroke();
  }
}

function toCanvas(e: PointerEvent): Point {
  const r = pad.getBoundingClientRect();
  return {
    x: ((e.clientX - r.left) / r.width) * pad.width,
    y: ((e.clientY - r.top) / r.height) * pad.height,
  };
}

pad.addEventListener("pointerdown", (e) => {
  pad.setPointerCapture(e.pointerId);
  current = { width: Number($<HTMLSelectElement>("pen").value), points: [toCanvas(e)] };
  strokes.push(current);
  redraw();
});
pad.addEventListener("pointermove", (e) => {
  if (!current) return;
  for (const ev of e.getCoalescedEvents?.() ?? [e]) current.points.push(toCanvas(ev));
  redraw();
  if ($<HTMLInputElement>("live").checked) schedulePredict();
});
const endStroke = () => {
  if (!current) return;
  current = undefined;
  if ($<HTMLInputElement>("live").checked) schedulePredict(0);
};
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

$("undo").addEventListener("click", () => {
  if (strokes.length) strokes.pop();
  else background = uploaded = uploadedPixels = undefined;
  redraw();
  schedulePredict(0);
});
$("clear").addEventListener("click", () => {
  strokes = [];
  background = undefined;
  uploaded = undefined;
  uploadedPixels = undefined;
  redraw();
  showEmpty("Draw a digit.");
});
$("predict").addEventListener("click", () => void predictNow());
pad.addEventListener("keydown", (e) => {
  if (e.key === "Delete" || e.key === "Backspace") $("clear").click();
  if ((e.ctrlKey || e.metaKey) && e.key === "z") $("undo").click();
});

// ------------------------------------------------------------------------------------------ uploads

let uploaded: Blob | undefined; // the original file, sent as is when the server predicts
let uploadedPixels: { data: Uint8ClampedArray; width: number; height: number } | undefined;

/** The picture's own pixels (at most WORKING_SIZE on a side), for preprocessing without the pad's letterbox. */
function pixelsOf(bitmap: ImageBitmap): { data: Uint8ClampedArray; width: number; height: number } {
  const s = Math.min(1, WORKING_SIZE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * s));
  const height = Math.max(1, Math.round(bitmap.height * s));
  const c = new OffscreenCanvas(width, height).getContext("2d", {
    willReadFrequently: true,
  }) as OffscreenCanvasRenderingContext2D;
  c.fillStyle = "#fff"; // transparent areas are paper
  c.fillRect(0, 0, width, height);
  c.drawImage(bitmap, 0, 0, width, height);
  return { data: c.getImageData(0, 0, width, height).data, width, height };
}

function borderColour({
  data,
  width,
  height,
}: {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}): string {
  const values: number[][] = [[], [], []];
  const take = (x: number, y: number) =>
    [0, 1, 2].forEach((k) => values[k].push(data[4 * (y * width + x) + k]));
  for (let x = 0; x < width; x++) {
    take(x, 0);
    take(x, height - 1);
  }
  for (let y = 0; y < height; y++) {
    take(0, y);
    take(width - 1, y);
  }
  const med = values.map((v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)]);
  return `rgb(${med.join(",")})`;
}

async function useFile(file: File): Promise<void> {
  try {
    background = await createImageBitmap(file);
  } catch {
    showError(`${file.name}: not an image this browser can read`);
    return;
  }
  uploaded = file;
  uploadedPixels = pixelsOf(background);
  paper = borderColour(uploadedPixels);
  strokes = [];
  redraw();
  await predictNow();
}

$<HTMLInputElement>("file").addEventListener("change", (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) void useFile(file);
});
const drop = $("drop");
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer?.files?.[0];
  if (file) void useFile(file);
});
drop.addEventListener("keydown", (e) => {
  if (e.key === "Enter" || e.key === " ") $<HTMLInputElement>("file").click();
});

// ------------------------------------------------------------------------------------------ prediction

let session: ort.InferenceSession | undefined;

async function loadBrowserModel(): Promise<void> {
  ort.env.wasm.wasmPaths = "/ort/";
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one digit takes ~1 ms anyway
  try {
    const info = await (await fetch("/api/model")).json();
    lowConfidence = info.lowConfidence ?? lowConfidence;
    session = await ort.InferenceSession.create("/model.onnx", { executionProviders: ["wasm"] });
    status.textContent = `Model ready (${info.architecture}, test accuracy ${(100 * (info.metrics?.test?.accuracy ?? NaN)).toFixed(2)}%).`;
  } catch (e) {
    status.textContent = `The in-browser model could not load (${(e as Error).message}); the server will answer.`;
    (document.querySelector("input[name=engine][value=server]") as HTMLInputElement).checked = true;
  }
}

function engine(): "browser" | "server" {
  const chosen = (document.querySelector("input[name=engine]:checked") as HTMLInputElement).value;
  return chosen === "browser" && session ? "browser" : "server";
}

/** An untouched upload is read at its own resolution; once drawn on, what the pad shows is the input. */
function currentPixels(): { data: Uint8ClampedArray; width: number; height: number } {
  if (strokes.length === 0 && uploadedPixels) return uploadedPixels;
  const img = ctx.getImageData(0, 0, pad.width, pad.height);
  return { data: img.data, width: img.width, height: img.height };
}

const reading = () => $<HTMLInputElement>("multi").checked;

async function inBrowser(): Promise<Result> {
  const t0 = performance.now();
  const { data, width, height } = currentPixels();
  const prepared = reading() ? prepareDigits(data, width, height) : [prepareDigit(data, width, height)];
  const batch = new Float32Array(prepared.length * 784);
  prepared.forEach((p, i) => batch.set(p.input, i * 784));
  const out = await (session as ort.InferenceSession).run({
    input: new ort.Tensor("float32", batch, [prepared.length, 28, 28, 1]),
  });
  const probs = out.output.data as Float32Array;
  const digits = prepared.map((p, i) => ({
    probabilities: Array.from(probs.subarray(i * 10, i * 10 + 10)),
    input: p.input,
  }));
  return { digits, ms: performance.now() - t0, by: "browser" };
}

/** A base64 PNG of a 28×28 input (as the server sends it) back to 0–1 values. */
async function fromPng(base64: string): Promise<Float32Array> {
  const png = await createImageBitmap(await (await fetch(`data:image/png;base64,${base64}`)).blob());
  const c = new OffscreenCanvas(28, 28).getContext("2d") as OffscreenCanvasRenderingContext2D;
  c.drawImage(png, 0, 0);
  const grey = c.getImageData(0, 0, 28, 28).data;
  return Float32Array.from({ length: 784 }, (_, i) => grey[4 * i] / 255);
}

async function onServer(): Promise<Result> {
  const t0 = performance.now();
  if (strokes.length > 0) {
    const { data, width, height } = currentPixels();
    prepareDigit(data, width, height); // throws NoInkError here rather than asking the server about a blank pad
  }
  const body =
    strokes.length === 0 && uploaded
      ? uploaded
      : await new Promise<Blob>((r) => pad.toBlob((b) => r(b as Blob), "image/png"));
  const res = await fetch(reading() ? "/api/read" : "/api/predict", {
    method: "POST",
    headers: { "content-type": body.type || "application/octet-stream" },
    body,
  });
  const json = await res.json();
  if (!res.ok) {
    if (json.error === "no_ink") throw new NoInkError();
    throw new Error(json.message ?? `HTTP ${res.status}`);
  }
  const answers: { probabilities: number[]; input28: string }[] = reading() ? json.digits : [json];
  const digits = await Promise.all(
    answers.map(async (d) => ({ probabilities: d.probabilities, input: await fromPng(d.input28) })),
  );
  return { digits, ms: performance.now() - t0, by: "server" };
}

let timer: number | undefined;
let running = false;
let again = false;

function schedulePredict(delay = 150): void {
  window.clearTimeout(timer);
  timer = window.setTimeout(() => void predictNow(), delay);
}

async function predictNow(): Promise<void> {
  if (running) {
    again = true;
    return;
  }
  running = true;
  try {
    if (strokes.length === 0 && !background) return showEmpty("Draw a digit.");
    show(engine() === "browser" ? await inBrowser() : await onServer());
  } catch (e) {
    if (e instanceof NoInkError || (e as Error).name === "NoInkError")
      showEmpty("No ink found: draw a digit.");
    else showError((e as Error).message);
  } finally {
    running = false;
    if (again) {
      again = false;
      schedulePredict(0);
    }
  }
}

// ------------------------------------------------------------------------------------------ results

const bars = $("bars");
for (let d = 0; d < 10; d++) {
  const li = document.createElement("li");
  li.innerHTML = `<span>${d}</span><span class="bar"><span style="width:0%"></span></span><span class="p">–</span>`;
  bars.append(li);
}

/** The 28×28 inputs the model saw, side by side. */
function drawSeen(inputs: Float32Array[]): void {
  const canvas = $<HTMLCanvasElement>("seen");
  const n = Math.max(1, inputs.length);
  canvas.width = 28 * n;
  canvas.style.width = `${168 * n}px`;
  const c = canvas.getContext("2d") as CanvasRenderingContext2D;
  const img = c.createImageData(28 * n, 28);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < 784; i++) {
      const v = inputs[k] ? Math.round(255 * Math.min(1, inputs[k][i])) : 0;
      img.data.set([v, v, v, 255], 4 * ((i - (i % 28)) * n + k * 28 + (i % 28)));
    }
  }
  c.putImageData(img, 0, 0);
}

const best = (p: number[]) => p.indexOf(Math.max(...p));

function show(r: Result): void {
  const answer = r.digits.map((d) => best(d.probabilities)).join("");
  const confidences = r.digits.map((d) => Math.max(...d.probabilities));
  const confidence = Math.min(...confidences);
  $("digit").textContent = answer;
  $("confidence").textContent =
    r.digits.length === 1
      ? `${(100 * confidence).toFixed(1)}% sure`
      : `${r.digits.length} digits; the least sure is ${(100 * confidence).toFixed(1)}% sure`;
  $("warning").hidden = confidence >= lowConfidence;
  $("answered").textContent =
    r.by === "browser"
      ? `Answered by this browser (onnxruntime-web) in ${r.ms.toFixed(1)} ms.`
      : `Answered by the server in ${r.ms.toFixed(1)} ms.`;
  // The ten bars are for one digit; a number shows each digit's confidence in the caption instead.
  bars.hidden = r.digits.length !== 1;
  if (r.digits.length === 1) {
    const [{ probabilities }] = r.digits;
    bars.querySelectorAll("li").forEach((li, d) => {
      li.classList.toggle("top", d === best(probabilities));
      (li.querySelector(".bar span") as HTMLElement).style.width = `${(100 * probabilities[d]).toFixed(1)}%`;
      (li.querySelector(".p") as HTMLElement).textContent = `${(100 * probabilities[d]).toFixed(1)}%`;
    });
  }
  drawSeen(r.digits.map((d) => d.input));
  $("seen-caption").textContent =
    r.digits.length === 1
      ? "What the model saw (28×28)"
      : `What the model saw, digit by digit: ${r.digits.map((d, i) => `${answer[i]} ${(100 * confidences[i]).toFixed(0)}%`).join(", ")}`;
  document.body.dataset.digit = answer;
  document.body.dataset.by = r.by;
}

function showEmpty(message: string): void {
  $("digit").textContent = "–";
  $("confidence").textContent = message;
  $("warning").hidden = true;
  $("answered").textContent = "";
  bars.querySelectorAll("li").forEach((li) => {
    li.classList.remove("top");
    (li.querySelector(".bar span") as HTMLElement).style.width = "0%";
    (li.querySelector(".p") as HTMLElement).textContent = "–";
  });
  drawSeen([]);
  bars.hidden = false;
  delete document.body.dataset.digit;
}

function showError(message: string): void {
  showEmpty("");
  $("confidence").textContent = `Error: ${message}`;
}

redraw();
drawSeen([]);
$("multi").addEventListener("change", () => schedulePredict(0));
void loadBrowserModel();
