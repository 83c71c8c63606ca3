/** Worker entry for a data-parallel training replica (see replicas.ts). */
import { workerData } from "node:worker_threads";
import { runHelper, type HelperStart } from "./replicas.js";

await runHelper(workerData as HelperStart);
