/** The README's library example (examples/quickstart.ts), run as a user runs it: its own process, the built package. */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/paths.js";

describe("examples/quickstart.ts", () => {
  it("trains, evaluates, saves, loads and reads a picture through the public entry points", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", path.join(PACKAGE_ROOT, "examples", "quickstart.ts")],
      { cwd: PACKAGE_ROOT, env: { ...process.env, DIGITS_EXAMPLE_QUICK: "1" } },
    );
    expect(stdout).toMatch(/Total params: 225,034/);
    const accuracy = Number(/test accuracy ([\d.]+)%/.exec(stdout)?.[1]);
    expect(accuracy).toBeGreaterThan(50); // one epoch on 1,800 images
    expect(stdout).toMatch(/a picture of a 7 reads as 7/);
  });
});
