/**
 * The writer protocol, run: for every writer a pen set holds out of training (pendigits' and UNIPEN's test
 * writers, whom the shipped model never saw) and each K, the model is tuned on K of their digits of each
 * class by the page's own adaptation (tune.ts) and read on all their other digits, before and after; each
 * tuned model is also read on MNIST's test set, to show what it forgot.
 */
import { loadDataset, type DatasetPart } from "../data/dataset.js";
import { loadMnist } from "../data/mnist.js";
import { sliceSplit } from "../data/split.js";
import { evaluate } from "../engine/index.js";
import { nodeRuntime } from "../engine/runtime/ort.js";
import { openModel } from "../saved/resolve.js";
import { writerTasks } from "./protocol.js";
import { adapt, REPLAY_DIGITS, type AdaptSettings, type Digits } from "./tune.js";

export interface WriterRow {
  set: string;
  k: number;
  writer: string;
  learned: number;
  tested: number;
  before: number;
  after: number;
  /** MNIST test accuracy of this writer's tuned model. */
  mnist: number;
}

export interface WriterSummary {
  set: string;
  k: number;
  writers: number;
  before: number;
  after: number;
  worstBefore: number;
  worstAfter: number;
  /** Writers read worse after tuning than before. */
  worse: number;
  /** MNIST test accuracy: the base model's, and the mean and lowest of the tuned models'. */
  mnistBefore: number;
  mnistAfter: number;
  mnistLowest: number;
}

export interface WriterReport {
  model: string;
  sets: string;
  ks: number[];
  settings: Partial<AdaptSettings>;
  rows: WriterRow[];
  summary: WriterSummary[];
  seconds: number;
}

export interface WriterOptions {
  model?: string;
  /** Pen sets whose test writers are held out (a dataset spec: "pendigits+unipen"). */
  sets: string;
  ks: number[];
  dataDir?: string;
  settings?: Partial<AdaptSettings>;
  /** At most this many writers of each set (the first by name that qualify at each K): a quick run. */
  maxWriters?: number;
  /** Only these writers (as the sets name them: "syn/rkt-dig19"). */
  only?: readonly string[];
  /** MNIST test digits each tuned model is read on (default: all 10,000). */
  mnistTest?: number;
  seed?: number;
  onTask?(done: number, total: number, row: WriterRow): void;
  onMessage?(m: string): void;
}

const mean = (a: readonly number[]) => a.reduce((p, q) => p + q, 0) / a.length;

function pick(d: Digits, idx: readonly number[], per: number): Digits {
  const x = new Float32Array(idx.length * per);
  idx.forEach((i, k) => x.set(d.x.subarray(i * per, (i + 1) * per), k * per));
  return { x, labels: Uint8Array.from(idx, (i) => d.labels[i]) };
}

export function summarise(rows: readonly WriterRow[], mnistBefore: number): WriterSummary[] {
  const groups = new Map<string, WriterRow[]>();
  for (const r of rows) {
    for (const key of [`${r.set}\t${r.k}`, `all\t${r.k}`]) groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups].map(([key, g]) => {
    const [set, k] = key.split("\t");
    return {
      set,
      k: Number(k),
      writers: g.length,
      before: mean(g.map((r) => r.before)),
      after: mean(g.map((r) => r.after)),
      worstBefore: Math.min(...g.map((r) => r.before)),
      worstAfter: Math.min(...g.map((r) => r.after)),
      worse: g.filter((r) => r.after < r.before).length,
      mnistBefore,
      mnistAfter: mean(g.map((r) => r.mnist)),
      mnistLowest: Math.min(...g.map((r) => r.mnist)),
    };
  });
}

export async function writerProtocol(o: WriterOptions): Promise<WriterReport> {
  const t0 = performance.now();
  const say = o.onMessage ?? (() => {});
  const base = openModel(o.model);
  if (base.members.length > 1) throw new Error(`${base.dir}: an ensemble; the protocol tunes one model`);
  const data = await loadDataset(o.sets, { dataDir: o.dataDir, testOnly: true });
  const parts = data.parts.filter((p): p is DatasetPart & { writers: object } => {
    if (p.writers && p.writers.test.length > 0) return true;
    say(`${p.name}: the set names no writers; left out of the writer protocol`);
    return false;
  });
  if (parts.length === 0)
    throw new Error(`${o.sets}: no set names its writers (the pen sets do: pendigits, unipen)`);
  const mnist = await loadMnist({ dataDir: o.dataDir, onProgress: say });
  const per = mnist.train.pixels.length / mnist.train.count; // not x: that would make all 60,000 digits' floats
  const replay = sliceSplit(mnist.train, 0, REPLAY_DIGITS);
  const mnistTest = sliceSplit(mnist.test, 0, o.mnistTest);
  const mnistBefore = (await evaluate(base.model, mnistTest.x, mnistTest.labels)).accuracy;
  const jobs = o.ks.flatMap((k) =>
    parts.flatMap((part) =>
      writerTasks(part.writers.test, part.test.labels, k, { seed: o.seed })
        .filter((t) => !o.only || o.only.includes(t.writer))
        .slice(0, o.maxWriters ?? Infinity)
        .map((task) => ({ k, part, task })),
    ),
  );
  if (jobs.length === 0)
    throw new Error(
      `${o.sets}: no writer${o.only ? ` named ${o.only.join(", ")}` : ""} has K + 1 digits of every class at K = ${o.ks.join(", ")}`,
    );
  const rt = nodeRuntime();
  const rows: WriterRow[] = [];
  for (const { k, part, task } of jobs) {
    const learn = pick(part.test, task.learn, per);
    const test = pick(part.test, task.test, per);
    const model = openModel(o.model).model;
    const accuracy = async () => (await evaluate(model, test.x, test.labels)).accuracy;
    const before = await accuracy();
    await adapt(rt, model, learn, replay, { ...o.settings, seed: o.seed ?? 1 });
    const row: WriterRow = {
      set: part.name,
      k,
      writer: task.writer,
      learned: task.learn.length,
      tested: task.test.length,
      before,
      after: await accuracy(),
      mnist: (await evaluate(model, mnistTest.x, mnistTest.labels)).accuracy,
    };
    rows.push(row);
    o.onTask?.(rows.length, jobs.length, row);
  }
  return {
    model: base.dir,
    sets: o.sets,
    ks: o.ks,
    settings: o.settings ?? {},
    rows,
    summary: summarise(rows, mnistBefore),
    seconds: (performance.now() - t0) / 1000,
  };
}
