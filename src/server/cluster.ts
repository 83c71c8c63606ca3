/**
 * Every core at work: `digits serve --workers N` runs N server processes (Node's cluster) sharing one
 * listening socket, which the primary hands out connection by connection (round robin). CPU per request is
 * what limits the server (decoding and preparing the picture), and one Node process uses one core for it.
 *
 * The primary only supervises: it starts the workers, says where they serve once all listen, restarts one
 * that dies in service (one that dies before it listens is a broken start: reported, not looped), and on SIGINT or
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

/** Runs the primary; resolves with the exit code once every worker has exited. */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  let stopping = false;
  let exitCode = 0;
  let announced = false;
  // A worker that exits before it listens failed to start (a bad model, a taken port): starting another would
  // fail the same way. Judged by the event, not by age — a fast machine can be listening, and serving, within
  // a second of the fork.
  const serving = new Set<Worker>();
  return new Promise((resolve) => {
    const fork = () => {
      const worker = cluster.fork();
      worker.once("listening", (address) => {
        serving.add(worker);
        if (!announced && serving.size === options.workers) {
          announced = true;
          options.onListening(address);
        }
      });
    };
    cluster.on("exit", (worker, code, signal) => {
      const early = !serving.delete(worker);
      if (!stopping && early) {
        options.say(`digits: a server worker failed to start (${signal ?? `exit code ${code}`}); stopping`);
        stopping = true;
        exitCode = 1;
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGTERM");
      }
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve(exitCode);
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
