/**
 * Open-loop load: requests sent on a fixed schedule (one every 1/rate s, whether or not earlier ones have been
 * answered), each one's latency counted from when it was due to be sent — so a server that falls behind is
 * charged for the wait (no coordinated omission, as wrk2 measures). autocannon's `overallRate` is not this: each
 * connection sends its share of a second's requests back to back at the top of the second, then waits, so it
 * measures how long a burst of `rate` requests takes to drain.
 */
import http from "node:http";

export interface OpenLoopResult {
  rate: number;
  seconds: number;
  sent: number;
  ok: number;
  /** Answers other than 2xx, and requests that failed outright. */
  failed: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

export async function openLoop(
  url: string,
  request: { method: string; headers: Record<string, string>; body: Buffer },
  rate: number,
  seconds: number,
  connections = 50,
): Promise<OpenLoopResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  let failed = 0;
  const start = performance.now();
  const send = (due: number) =>
    new Promise<void>((resolve) => {
      const req = http.request(url, { method: request.method, headers: request.headers, agent }, (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode && res.statusCode < 300) latencies.push(performance.now() - due);
          else failed++;
          resolve();
        });
      });
      req.on("error", () => {
        failed++;
        resolve();
      });
      req.end(request.body);
    });
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(send(due));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Number((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN).toFixed(1));
  return {
    rate,
    seconds,
    sent: total,
    ok: latencies.length,
    failed,
    requestsPerSecond: Math.round(latencies.length / elapsed),
    latencyMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
  };
}
