/**
 * The writer protocol, small and real: two UNIPEN writers the shipped model never saw, K = 3 digits of each
 * class to learn from, all their other digits to test on. syn/rkt-dig19 writes 9 with a long open tail (the
 * shipped model reads 97.8% of their digits); syn/zor-dig22 is read well already and must not get worse.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { writerProtocol } from "../../src/adapt/writers.js";
import { ROOT } from "../helpers/cli.js";

describe("the writer protocol, run", () => {
  it("reads two unseen writers better after 3 of their digits of each class, and keeps MNIST", async () => {
    const r = await writerProtocol({
      sets: "unipen",
      ks: [3],
      dataDir: path.resolve(ROOT, "../shared/datasets"),
      only: ["syn/rkt-dig19", "syn/zor-dig22"],
      mnistTest: 2000,
    });
    console.log(`writer protocol: ${JSON.stringify(r.rows)}`);
    expect(r.rows.map((w) => w.writer)).toEqual(["syn/rkt-dig19", "syn/zor-dig22"]);
    const [rkt, zor] = r.rows;
    expect(rkt.learned).toBe(30);
    expect(rkt.before).toBeLessThan(0.985);
    expect(rkt.after).toBeGreaterThanOrEqual(0.993);
    expect(zor.after).toBeGreaterThanOrEqual(zor.before);
    const all = r.summary.find((s) => s.set === "all" && s.k === 3)!;
    expect(all.worse).toBe(0);
    expect(all.mnistLowest).toBeGreaterThanOrEqual(all.mnistBefore - 0.003);
  }, 180_000);
});
