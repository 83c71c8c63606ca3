/**
 * The page: a drawing pad with undo, uploads (picker and drag-and-drop), and predictions from the same ONNX
 * model, run in this browser or on the server. Modules: pad (drawing), upload (files), predict (the two
 * engines), view (the result panel); this file wires them to the controls.
 */
import { argmax } from "../src/util/argmax.js";
import { pct } from "../src/util/format.js";
import { NoInkError } from "../src/vision/preprocess.js";
import { $ } from "./dom.js";
import { Pad } from "./pad.js";
import { BrowserModel, readOnServer, type ModelInfo, type Result } from "./predict.js";
import { listenForUploads, readUpload } from "./upload.js";
import { ResultView } from "./view.js";
import { Feedback } from "./feedback.js";
import { Teacher } from "./teach.js";
import { InsideView } from "./inside.js";

let info: ModelInfo = { architecture: "?", lowConfidence: 0.6 };
let browserModel: BrowserModel | undefined;
const view = new ResultView(() => info.lowConfidence);
const live = () => $<HTMLInputElement>("live").checked;
const readingNumber = () => $<HTMLInputElement>("multi").checked;
const pad = new Pad(
  $<HTMLCanvasElement>("pad"),
  () => Number($<HTMLSelectElement>("pen").value),
  (drawing) => live() && schedule(drawing ? 150 : 0),
);
const inside = new InsideView();
const feedback = new Feedback(() => pad.blob());
/** From now on, answer with this model (a tuned one, in this browser) or, given none, the served one. */
async function use(onnx: Uint8Array | undefined): Promise<void> {
  if (!browserModel) throw new Error("the in-browser model did not load");
  await browserModel.replace(onnx ?? new Uint8Array(await (await fetch("/model.onnx")).arrayBuffer()));
  // The server has only the shipped model: a tuned one answers here.
  const browser = document.querySelector("input[name=engine][value=browser]") as HTMLInputElement;
  browser.checked = true;
  (document.querySelector("input[name=engine][value=server]") as HTMLInputElement).disabled =
    onnx !== undefined;
  schedule(0);
}
const teacher = new Teacher(pad, use, () => Boolean(info.samples));

/** Predictions one at a time: a request made while one runs is run once it ends. */
const predictor = (() => {
  let timer: number | undefined;
  let running = false;
  let again = false;
  async function now(): Promise<void> {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      feedback.ask(undefined);
      if (pad.empty) return view.empty("Draw a digit.");
      const result = await read();
      view.show(result);
      if (result.digits.length === 1) {
        const [d] = result.digits;
        feedback.ask(argmax(d.probabilities));
        inside.show(d.input, argmax(d.probabilities));
      }
    } catch (e) {
      if (e instanceof NoInkError || (e as Error).name === "NoInkError")
        view.empty("No ink found: draw a digit.");
      else view.error((e as Error).message);
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule(0);
      }
    }
  }
  return {
    now,
    schedule(delay: number) {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void now(), delay);
    },
  };
})();
function schedule(delay: number): void {
  predictor.schedule(delay);
}

function engine(): "browser" | "server" {
  const chosen = (document.querySelector("input[name=engine]:checked") as HTMLInputElement).value;
  return chosen === "browser" && browserModel ? "browser" : "server";
}

function read(): Promise<Result> {
  return engine() === "browser"
    ? (browserModel as BrowserModel).read(pad, readingNumber())
    : readOnServer(pad, readingNumber());
}

$("undo").addEventListener("click", () => {
  pad.undo();
  schedule(0);
});
$("clear").addEventListener("click", () => {
  pad.clear();
  view.empty("Draw a digit.");
});
$("predict").addEventListener("click", () => void predictor.now());
pad.canvas.addEventListener("keydown", (e) => {
  if (e.key === "Delete" || e.key === "Backspace") $("clear").click();
  if ((e.ctrlKey || e.metaKey) && e.key === "z") $("undo").click();
});
$("multi").addEventListener("change", () => schedule(0));
listenForUploads(async (file) => {
  try {
    pad.show(await readUpload(file));
    await predictor.now();
  } catch (e) {
    view.error((e as Error).message);
  }
});

const status = $("status");
void (async () => {
  try {
    info = await (await fetch("/api/model")).json();
    if (info.samples) feedback.enableKeeping();
    browserModel = await BrowserModel.load();
    const accuracy = info.metrics?.test?.accuracy;
    status.textContent = `Model ready (${info.architecture}, test accuracy ${pct(accuracy)}).`;
    await teacher.restore();
  } catch (e) {
    status.textContent = `The in-browser model could not load (${(e as Error).message}); the server will answer.`;
    (document.querySelector("input[name=engine][value=server]") as HTMLInputElement).checked = true;
  }
})();
