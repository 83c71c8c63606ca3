/**
 * Every core at work: `digits serve --workers N` runs N server processes (Node's cluster) sharing one
 * listening socket, which the primary hands out connection by connection (round robin). CPU per request is
 * what limits the server (decoding and preparing the picture), and one Node process uses one core for it.
 *
 * The primary only supervises: it starts the workers, says where they serve once all listen, restarts one
 * that dies (unless they die as fast as they start: a broken start is reported, not looped), and on SIGINT or
 * SIGTERM asks each to finish its requests in flight and exits when they have.
 */
import cluster, { type Worker } from "node:cluster";
import os from "node:os";

/** One worker per core the process may use. */
export const defaultWorkers = () => os.availableParallelism();

export interface PrimaryOptions {
  workers: number;
  /** Called once, when every worker listens, with the address they share. */
  onListening(address: { address: string; port: number; family?: string | number }): void;
  say(message: string): void;
}

/** A worker that dies within this long of its start is failing to start, not crashing in service. */
const EARLY_DEATH_MS = 5000;

/** Runs the primary; resolves with the exit code once every worker has exited. */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  let stopping = false;
  let listening = 0;
  let announced = false;
  const started = new Map<Worker, number>();
  return new Promise((resolve) => {
    const fork = () => {
      const worker = cluster.fork();
      started.set(worker, Date.now());
      worker.once("listening", (address) => {
        listening++;
        if (!announced && listening === options.workers) {
          announced = true;
          options.onListening(address);
        }
      });
    };
    cluster.on("exit", (worker, code, signal) => {
      const early = Date.now() - (started.get(worker) ?? 0) < EARLY_DEATH_MS;
      started.delete(worker);
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve(0);
        return;
      }
      if (early) {
        options.say(`digits: a server worker failed to start (${signal ?? `exit code ${code}`}); stopping`);
        stopping = true;
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGTERM");
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve(1);
        else cluster.on("exit", () => Object.keys(cluster.workers ?? {}).length === 0 && resolve(1));
        return;
      }
      options.say(`digits: a server worker died (${signal ?? `exit code ${code}`}); starting another`);
      fork();
    });
    const stop = () => {
      if (stopping) return;
      stopping = true;
      options.say("digits: stopping: finishing requests in flight");
      // A terminal's Ctrl-C reaches the workers too; a service manager's SIGTERM only the primary.
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGTERM");
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    for (let i = 0; i < options.workers; i++) fork();
  });
}
