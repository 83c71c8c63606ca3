/**
 * Load on POST /api/predict: 50 concurrent clients, 10,000 requests of a real digit photo (224×224 PNG, dark on
 * white, off-centre). Reports requests/s, latency percentiles and the server's memory over the run (is it flat?).
 * Usage: npm run bench:serve [-- --connections 50 --requests 10000]. JSON on the last line.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import sharp from "sharp";
import { PACKAGE_ROOT } from "../src/paths.js";
import { loadMnist } from "../src/data/mnist.js";

const { values } = parseArgs({
  options: { connections: { type: "string", default: "50" }, requests: { type: "string", default: "10000" } },
});
const { test } = await loadMnist();
const body = await sharp(Buffer.from(test.pixels.subarray(0, 784).map((v) => 255 - v)), {
  raw: { width: 28, height: 28, channels: 1 },
})
  .resize(224, 224)
  .extend({ top: 10, left: 60, bottom: 40, right: 10, background: "#ffffff" })
  .png()
  .toBuffer();
// The server runs in its own process (`digits serve`), so the load generator does not share its event loop.
const server = spawn(
  process.execPath,
  // One client drives it: no rate limit, no kept samples.
  [
    "--import",
    "tsx",
    path.join(PACKAGE_ROOT, "src/cli/run.ts"),
    "serve",
    "--port",
    "0",
    "--rate-limit",
    "0",
    "--no-samples",
  ],
  {
    stdio: ["ignore", "ignore", "pipe"],
  },
);
const address = await new Promise<string>((resolve, reject) => {
  let err = "";
  server.stderr.on("data", (d) => {
    err += d;
    const m = /on (http:\/\/\S+)/.exec(err);
    if (m) resolve(m[1]);
  });
  server.on("exit", (code) => reject(new Error(`server exited (${code}): ${err}`)));
});
const url = `${address}/api/predict`;

const mb = () => {
  const status = fs.readFileSync(`/proc/${server.pid}/status`, "utf8");
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
};
const run = (amount: number) =>
  autocannon({
    url,
    method: "POST",
    headers: { "content-type": "image/png" },
    body,
    connections: Number(values.connections),
    amount,
  });
await run(500); // warm-up
const rss: number[] = [mb()];
const sampler = setInterval(() => rss.push(mb()), 1000);
const result = await run(Number(values.requests));
clearInterval(sampler);
rss.push(mb());
server.kill("SIGTERM");
const summary = {
  benchmark: "serve",
  connections: Number(values.connections),
  requests: result.requests.total,
  non2xx: result.non2xx,
  errors: result.errors,
  requestsPerSecond: Math.round(result.requests.average),
  latencyMs: {
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
  },
  rssMb: { start: rss[0], end: rss[rss.length - 1], max: Math.max(...rss) },
};
console.log(
  `${summary.requests} requests, ${summary.requestsPerSecond} req/s, p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms, RSS ${summary.rssMb.start} → ${summary.rssMb.end} MB (max ${summary.rssMb.max})`,
);
console.log(JSON.stringify(summary));
