/** `digits/adapt`: learning one person's handwriting from a few of their digits, and the writer protocol. */
export { adapt, checkDigits, ADAPT, REPLAY_DIGITS } from "./tune.js";
export type { AdaptSettings, AdaptRecord, AdaptEvents, Digits } from "./tune.js";
export { finetune } from "./finetune.js";
export type { FinetuneConfig, FinetuneResult, Scores } from "./finetune.js";
export { writerProtocol, summarise } from "./writers.js";
export type { WriterOptions, WriterReport, WriterRow, WriterSummary } from "./writers.js";
export { writerTasks } from "./protocol.js";
export type { WriterTask } from "./protocol.js";
/** The training step's runtime in Node, for `adapt` (the page hands in onnxruntime-web's). */
export { nodeRuntime } from "../engine/runtime/ort.js";
