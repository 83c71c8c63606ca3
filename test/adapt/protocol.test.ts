/** The writer protocol's tasks, on the real held-out pendigits writers. */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { writerTasks } from "../../src/adapt/protocol.js";
import { loadDataset } from "../../src/data/dataset.js";
import { ROOT } from "../helpers/cli.js";

describe("the writer protocol", () => {
  it("gives each held-out writer K digits of every class to learn from and all their others to test on", async () => {
    const data = await loadDataset("pendigits", {
      dataDir: path.resolve(ROOT, "../shared/datasets"),
      testOnly: true,
    });
    const { test, writers } = data.parts[0];
    const ids = writers!.test;
    for (const k of [1, 3, 5]) {
      const tasks = writerTasks(ids, test.labels, k);
      expect(tasks.map((t) => t.writer)).toEqual([...new Set(ids)].sort()); // pendigits writers have ~25 of each
      for (const t of tasks) {
        const counts = Array(10).fill(0);
        for (const i of t.learn) {
          expect(ids[i]).toBe(t.writer);
          counts[test.labels[i]]++;
        }
        expect(counts).toEqual(Array(10).fill(k));
        expect(t.test.every((i) => ids[i] === t.writer && !t.learn.includes(i))).toBe(true);
        expect(t.learn.length + t.test.length).toBe(ids.filter((w) => w === t.writer).length);
      }
      expect(writerTasks(ids, test.labels, k)).toEqual(tasks); // seeded: the same every time
    }
    expect(writerTasks(ids, test.labels, 3, { seed: 2 })[0].learn).not.toEqual(
      writerTasks(ids, test.labels, 3)[0].learn,
    );
  });

  it("leaves out a writer short of K + 1 digits of some class, and refuses a bad K", () => {
    const writers = ["a", "a", "b", "b", "b", "b"];
    const labels = [0, 1, 0, 0, 1, 1];
    expect(writerTasks(writers, labels, 1, { classes: 2 }).map((t) => t.writer)).toEqual(["b"]);
    expect(() => writerTasks(writers, labels, 0, { classes: 2 })).toThrow(/K must be/);
    expect(() => writerTasks(["a"], labels, 1)).toThrow(/one writer per digit/);
  });
});
