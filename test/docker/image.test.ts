/**
 * The Dockerfile, built and run where a container engine answers (`docker info`); skipped elsewhere (this
 * project's CI machine has the client but no daemon). The image must build, report healthy through its own
 * health check, answer a prediction, and run as a user other than root.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { mnistSlice } from "../helpers/mnist.js";

const exec = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const engine = await exec("docker", ["info", "--format", "{{.ServerVersion}}"], { timeout: 10_000 })
  .then(() => true)
  .catch(() => false);

describe.skipIf(!engine)("the container image", () => {
  it("builds, becomes healthy, answers a prediction, and does not run as root", async () => {
    const tag = `digits-test:${process.pid}`;
    await exec("docker", ["build", "-t", tag, "."], { cwd: ROOT, timeout: 900_000, maxBuffer: 1 << 26 });
    const { stdout: id } = await exec("docker", ["run", "-d", "-p", "127.0.0.1::3000", tag]);
    const container = id.trim();
    try {
      let health = "";
      for (let i = 0; i < 60 && health !== "healthy"; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        health = (
          await exec("docker", ["inspect", "-f", "{{.State.Health.Status}}", container])
        ).stdout.trim();
      }
      expect(health).toBe("healthy");
      const port = (await exec("docker", ["port", container, "3000"])).stdout.trim().split(":").pop();
      const { pixels } = await mnistSlice("t10k", 0, 1);
      const png = await sharp(Buffer.from(pixels.map((v) => 255 - v)), {
        raw: { width: 28, height: 28, channels: 1 },
      })
        .png()
        .toBuffer();
      const r = await fetch(`http://127.0.0.1:${port}/api/predict`, {
        method: "POST",
        headers: { "content-type": "image/png" },
        body: new Uint8Array(png),
      });
      expect(((await r.json()) as { digit: number }).digit).toBe(7);
      const user = (await exec("docker", ["exec", container, "id", "-u"])).stdout.trim();
      expect(user).not.toBe("0");
    } finally {
      await exec("docker", ["rm", "-f", container]).catch(() => {});
      await exec("docker", ["rmi", "-f", tag]).catch(() => {});
    }
  }, 1_000_000);
});
