/** Worker entry for `fit`: rebuilds the model, runs the loop, reports progress and the trained weights. */
import { parentPort, workerData } from "node:worker_threads";
import { fromWorkerStart, type WorkerMessage, type WorkerStart } from "./fit.js";
import { trainLoop } from "./loop.js";

const start = workerData as WorkerStart;
const post = (m: WorkerMessage) => parentPort?.postMessage(m);

try {
  const { model, optimizer } = fromWorkerStart(start);
  const result = await trainLoop(model, optimizer, start.data, start.options, {
    onEpochStart: (epoch, epochs, batches) => post({ type: "epochStart", epoch, epochs, batches }),
    onBatch: (progress) => post({ type: "batch", progress }),
    onEpochEnd: (epoch, logs, weights, state) => {
      const handled = Atomics.load(start.stopFlag, 1);
      post({ type: "epoch", epoch, logs, weights, state });
      Atomics.wait(start.stopFlag, 1, handled); // until the caller's onEpochEnd has run
    },
    shouldStop: () => Atomics.load(start.stopFlag, 0) === 1,
  });
  post({ type: "done", result });
} catch (e) {
  const err = e as Error;
  post({ type: "error", message: err.message, stack: err.stack });
}
