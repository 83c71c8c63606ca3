/**
 * Validation by writer: a writer's digits all go to one side, so a score on the held-out side says how the
 * model reads people it never saw (digits of one writer on both sides flatter any model).
 */

/** Every fifth writer, in sorted order of their ids, held out whole: the same split every time. */
export function splitByWriter<T extends { writer: string }>(items: readonly T[]): { train: T[]; test: T[] } {
  const writers = [...new Set(items.map((i) => i.writer))].sort();
  const held = new Set(writers.filter((_, k) => k % 5 === 4));
  return {
    train: items.filter((i) => !held.has(i.writer)),
    test: items.filter((i) => held.has(i.writer)),
  };
}
