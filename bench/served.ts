/** `digits serve` in a child process on a free-ish port, for the page benchmarks; resolves once it listens. */
import { spawn } from "node:child_process";
import path from "node:path";
import { PACKAGE_ROOT } from "../src/paths.js";

export async function serveModel(model: string): Promise<{ url: string; stop(): void }> {
  const port = 3000 + Math.floor(Math.random() * 2000);
  const server = spawn(
    process.execPath,
    [
      path.join(PACKAGE_ROOT, "bin/digits.js"),
      "serve",
      "--model",
      model,
      "--port",
      String(port),
      "--no-samples",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  await new Promise<void>((resolve, reject) => {
    server.stderr!.on("data", (b: Buffer) => / on http:\/\//.test(String(b)) && resolve());
    server.on("exit", (code) => reject(new Error(`digits serve exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/`, stop: () => server.kill() };
}
