/**
 * Load on POST /api/predict: 50 concurrent clients, 10,000 requests of a real digit photo (224×224 PNG, dark on
 * white, off-centre), one in four of them malformed (empty, junk bytes, a wrong content type: each must get a
 * 4xx, never a 5xx); then an open loop at a fixed rate (500 requests/s for 20 s, evenly spaced: open-loop.ts)
 * for its latency, and autocannon's fixed rate (each second's requests in a burst) beside it. Reports
 * requests/s, latency percentiles, 5xx and errors; then a soak (the closed loop again for --soak seconds) for
 * the server's memory, all its processes summed, from the soak's start to its end (is it flat?).
 * Usage: npm run bench:serve [-- --connections 50 --requests 10000 --rate 500 --duration 20 --soak 60
 * --workers N]. JSON on the last line.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import sharp from "sharp";
import { PACKAGE_ROOT } from "../src/paths.js";
import { loadMnist } from "../src/data/mnist.js";
import { childPids } from "../test/helpers/proc.js";
import { openLoop } from "./open-loop.js";

const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "50" },
    requests: { type: "string", default: "10000" },
    rate: { type: "string", default: "500" },
    duration: { type: "string", default: "20" },
    soak: { type: "string", default: "60" },
    workers: { type: "string" },
  },
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
    path.join(PACKAGE_ROOT, "src/cli/bin.ts"),
    "serve",
    "--port",
    "0",
    "--rate-limit",
    "0",
    "--no-samples",
    ...(values.workers ? ["--workers", values.workers] : []),
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

/** Resident memory of the server and its workers, in MB. */
const mb = () => {
  const rssKb = (pid: number) => {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  };
  const children = childPids(server.pid as number);
  return Math.round([server.pid as number, ...children].reduce((kb, pid) => kb + rssKb(pid), 0) / 1024);
};
const good = { method: "POST" as const, headers: { "content-type": "image/png" }, body };
// Three good requests, then one malformed, round and round.
const mixed = [
  good,
  good,
  good,
  { method: "POST" as const, headers: { "content-type": "image/png" }, body: "" },
  good,
  good,
  good,
  {
    method: "POST" as const,
    headers: { "content-type": "image/png" },
    body: Buffer.from("junk, not a picture"),
  },
  good,
  good,
  good,
  { method: "POST" as const, headers: { "content-type": "text/plain" }, body: "7" },
];
const run = (amount: number) =>
  autocannon({ url, requests: mixed, connections: Number(values.connections), amount });
await run(500); // warm-up
const result = await run(Number(values.requests));
await openLoop(url, good, Number(values.rate), 3); // warm-up: its own sockets, at its own pace
const open = await openLoop(url, good, Number(values.rate), Number(values.duration));
// autocannon's fixed rate, for comparison with earlier runs: each second's requests as a burst.
const bursts = await autocannon({
  url,
  ...good,
  connections: Number(values.connections),
  overallRate: Number(values.rate),
  duration: Number(values.duration),
});
const rss: number[] = [mb()];
const sampler = setInterval(() => rss.push(mb()), 1000);
const soak = await autocannon({
  url,
  requests: mixed,
  connections: Number(values.connections),
  duration: Number(values.soak),
});
clearInterval(sampler);
rss.push(mb());
server.kill("SIGTERM");
const summary = {
  benchmark: "serve",
  connections: Number(values.connections),
  requests: result.requests.total,
  non2xx: result.non2xx,
  "4xx": result["4xx"],
  "5xx": result["5xx"],
  errors: result.errors,
  requestsPerSecond: Math.round(result.requests.average),
  latencyMs: {
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
  },
  workers: values.workers ? Number(values.workers) : "default (one per core)",
  soak: {
    seconds: Number(values.soak),
    requests: soak.requests.total,
    "5xx": soak["5xx"],
    errors: soak.errors,
    rssMb: { start: rss[0], end: rss[rss.length - 1], max: Math.max(...rss) },
    growth: Number((rss[rss.length - 1] / rss[0] - 1).toFixed(3)),
  },
  openLoop: open,
  bursts: {
    rate: Number(values.rate),
    seconds: Number(values.duration),
    requestsPerSecond: Math.round(bursts.requests.average),
    latencyMs: { p50: bursts.latency.p50, p99: bursts.latency.p99, max: bursts.latency.max },
    "5xx": bursts["5xx"],
    errors: bursts.errors,
  },
};
console.log(
  `${summary.requests} requests (a quarter malformed: ${summary["4xx"]} 4xx, ${summary["5xx"]} 5xx, ${summary.errors} errors), ${summary.requestsPerSecond} req/s, p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms, open loop at ${open.rate}/s: ${open.requestsPerSecond} req/s, p50 ${open.latencyMs.p50} ms, p99 ${open.latencyMs.p99} ms (${open.failed} failed); autocannon's bursts of ${values.rate} a second: p99 ${bursts.latency.p99} ms; soak ${summary.soak.seconds} s (${summary.soak.requests} requests, ${summary.soak["5xx"]} 5xx): RSS ${summary.soak.rssMb.start} → ${summary.soak.rssMb.end} MB (max ${summary.soak.rssMb.max}, ${(summary.soak.growth * 100).toFixed(1)}%)`,
);
console.log(JSON.stringify(summary));
