/**
 * The writer protocol: how well a model learns one person's handwriting from a few of their digits. For each
 * writer the base model never saw, K digits of each class (drawn by a seeded generator) are the ones to learn
 * from, and all their other digits are the test. A writer with fewer than K + 1 digits of some class is left
 * out at that K (their test would lack that class).
 */
import { Random } from "../util/random.js";

export interface WriterTask {
  writer: string;
  /** Indices (into the set the writers came from) of the digits to learn from: K of each class. */
  learn: number[];
  /** Indices of every other digit of this writer. */
  test: number[];
}

/** The tasks at K digits per class, one per writer with enough digits; the same for the same seed. */
export function writerTasks(
  writers: readonly string[],
  labels: ArrayLike<number>,
  k: number,
  options: { classes?: number; seed?: number } = {},
): WriterTask[] {
  const classes = options.classes ?? 10;
  if (!Number.isInteger(k) || k < 1)
    throw new Error(`K must be a whole number of digits per class (got ${k})`);
  if (writers.length !== labels.length)
    throw new Error(`${writers.length} writers for ${labels.length} labels: one writer per digit`);
  const byWriter = new Map<string, number[][]>();
  writers.forEach((w, i) => {
    const own = byWriter.get(w) ?? Array.from({ length: classes }, () => []);
    own[labels[i]].push(i);
    byWriter.set(w, own);
  });
  const tasks: WriterTask[] = [];
  for (const writer of [...byWriter.keys()].sort()) {
    const own = byWriter.get(writer) as number[][];
    if (own.some((c) => c.length < k + 1)) continue;
    const rng = new Random((options.seed ?? 1) * 7919 + hash(writer));
    const learn = own.flatMap((c) => rng.shuffle([...c]).slice(0, k));
    const chosen = new Set(learn);
    tasks.push({
      writer,
      learn,
      test: own
        .flat()
        .filter((i) => !chosen.has(i))
        .sort((a, b) => a - b),
    });
  }
  return tasks;
}

/** A writer's id as a number, so each writer's draw does not depend on who else is in the set. */
function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
