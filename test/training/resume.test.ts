/**
 * `digits train --resume`: a run interrupted after a checkpoint (SIGKILL, as a crash or power loss; SIGTERM, as
 * a service manager stops it) and resumed ends with the same model.onnx, byte for byte, and the same history
 * as the run never interrupted — with data-parallel replicas (the reference CNN at batch 32) and with one
 * session (batch norm, augmentation drawn per step).
 */
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ROOT, digitsArgs } from "../helpers/cli.js";

const exec = promisify(execFile);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "digits-resume-"));

const SETTINGS = {
  reference: ["--limit", "640", "--epochs", "3", "--seed", "5", "--validation", "split:0.2"],
  batchnorm: [
    "--arch",
    "batchnorm",
    "--augment",
    "standard",
    "--limit",
    "480",
    "--epochs",
    "3",
    "--seed",
    "9",
  ],
};

const train = (args: string[]) =>
  exec(process.execPath, digitsArgs("train", "--json", ...args), { cwd: ROOT });

/** Starts a run and sends `signal` once its first checkpoint is on disk; resolves with its exit. */
async function interrupted(out: string, args: string[], signal: NodeJS.Signals) {
  const child = spawn(process.execPath, digitsArgs("train", "--out", out, ...args), {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const record = path.join(out, "checkpoint", "training.json");
  while (!fs.existsSync(record)) {
    if (child.exitCode !== null) throw new Error(`the run ended before its first checkpoint: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill(signal);
  return { code: await exit, stderr };
}

const losses = (run: { history: Record<string, number>[] }) =>
  run.history.map((h) => [h.loss, h.accuracy, h.val_loss, h.val_accuracy, h.learning_rate]);

describe("train --resume", () => {
  for (const [name, args] of Object.entries(SETTINGS)) {
    it(`after SIGKILL ends bit for bit as the run never interrupted (${name})`, async () => {
      const whole = JSON.parse((await train(["--out", path.join(tmp, `${name}-whole`), ...args])).stdout);
      const out = path.join(tmp, `${name}-killed`);
      await interrupted(out, args, "SIGKILL");
      expect(fs.existsSync(path.join(out, "metrics.json"))).toBe(false);
      const resumed = JSON.parse((await train(["--resume", out])).stdout);
      expect(losses(resumed)).toEqual(losses(whole));
      expect(resumed.history.length).toBe(3);
      const onnx = (dir: string) => fs.readFileSync(path.join(dir, "model", "model.onnx"));
      expect(onnx(out).equals(onnx(whole.out))).toBe(true);
      expect(resumed.accuracy).toBe(whole.accuracy);
      // A finished run keeps no checkpoint, and has nothing to resume.
      expect(fs.existsSync(path.join(out, "checkpoint"))).toBe(false);
      await expect(train(["--resume", out])).rejects.toThrow(/has finished .*nothing to resume/);
    }, 240_000);
  }

  it("after SIGTERM: the run saves, keeps its checkpoint and exits 0; resumed, it ends as the whole run", async () => {
    const args = SETTINGS.reference;
    const out = path.join(tmp, "terminated");
    const { code, stderr } = await interrupted(out, args, "SIGTERM");
    expect(code).toBe(0);
    expect(stderr).toMatch(/SIGTERM: stopping after this batch/);
    expect(JSON.parse(fs.readFileSync(path.join(out, "metrics.json"), "utf8")).stopped).toBe(true);
    expect(fs.existsSync(path.join(out, "checkpoint", "optimizer.bin"))).toBe(true);
    const resumed = JSON.parse((await train(["--resume", out])).stdout);
    const whole = path.join(tmp, "reference-whole", "model", "model.onnx");
    expect(fs.readFileSync(path.join(out, "model", "model.onnx")).equals(fs.readFileSync(whole))).toBe(true);
    expect(resumed.history.length).toBe(3);
  }, 240_000);

  it("refuses what it cannot resume, saying why", async () => {
    await expect(train(["--resume", tmp])).rejects.toThrow(/not a run directory \(no config\.json\)/);
    const out = path.join(tmp, "reference-whole");
    await expect(train(["--resume", out, "--epochs", "5"])).rejects.toThrow(
      /takes the settings in its config\.json|takes no --epochs/,
    );
    // Started, but killed before its first epoch ended: nothing to continue from.
    const early = path.join(tmp, "early");
    fs.mkdirSync(early);
    fs.copyFileSync(path.join(out, "config.json"), path.join(early, "config.json"));
    await expect(train(["--resume", early])).rejects.toThrow(/no checkpoint yet/);
    // A checkpoint whose optimizer state was damaged is refused, not trained on.
    const damaged = path.join(tmp, "damaged");
    await interrupted(damaged, SETTINGS.reference, "SIGKILL");
    const state = path.join(damaged, "checkpoint", "optimizer.bin");
    const bytes = fs.readFileSync(state);
    bytes[100] ^= 0xff;
    fs.writeFileSync(state, bytes);
    await expect(train(["--resume", damaged])).rejects.toThrow(/optimizer\.bin: missing or corrupt/);
  }, 240_000);
});
