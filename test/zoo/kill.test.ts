/**
 * A save killed at any moment (SIGKILL, many times, at random points of a save loop) leaves a model that
 * loads — the old version or the new one, never a broken one — and the next save works.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Random } from "../../src/util/random.js";
import { loadModel, saveModel } from "../../src/saved/saved-model.js";
import { buildArchitecture } from "../../src/zoo/architectures.js";

const CHILD = path.join(import.meta.dirname, "save-forever.ts");

describe("saving a model, killed", () => {
  it("always leaves the old or the new version loadable (25 SIGKILLs at random moments)", async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "digits-kill-")), "model");
    const rng = new Random(11);
    const seen = new Set<string>();
    for (let round = 0; round < 25; round++) {
      const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
      await new Promise((r) => setTimeout(r, rng.uniform(5, 120)));
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      const loaded = loadModel(dir);
      expect(["version 0", "version 1"]).toContain(loaded.metadata.architectureName);
      expect(loaded.model.seed).toBe(loaded.metadata.architectureName === "version 0" ? 1 : 2);
      seen.add(loaded.dir === dir ? "in place" : "beside");
    }
    // And the next save, from a clean process, works over whatever a kill left.
    saveModel(dir, buildArchitecture("reference", 3), { architectureName: "after" });
    expect(loadModel(dir).metadata.architectureName).toBe("after");
    expect(fs.readdirSync(path.dirname(dir))).toEqual(["model"]);
    console.log(`kill test: loaded ${[...seen].join(" and ")} across 25 kills`);
  }, 180_000);

  it("reads the previous version when a save was killed between its two renames", () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "digits-kill-")), "model");
    saveModel(dir, buildArchitecture("reference", 1), { architectureName: "old" });
    // The moment between moving the old version aside and moving the new one in:
    fs.renameSync(dir, `${dir}.replaced`);
    fs.mkdirSync(`${dir}.saving`);
    expect(loadModel(dir).metadata.architectureName).toBe("old");
    saveModel(dir, buildArchitecture("reference", 2), { architectureName: "new" });
    expect(loadModel(dir).metadata.architectureName).toBe("new");
    expect(fs.readdirSync(path.dirname(dir))).toEqual(["model"]);
  });
});
