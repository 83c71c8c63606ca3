import { REPLAY_DIGITS } from "../adapt/tune.js";
import cluster from "node:cluster";
import type { AddressInfo } from "node:net";
import { Command } from "commander";
import { defaultWorkers, runPrimary } from "../server/cluster.js";
import { buildApp } from "../server/app.js";
import { defaultSamplesDb, WEB_DIST_DIR } from "../paths.js";
import { openSamples } from "../samples/open.js";
import { loadMnist } from "../data/mnist.js";

/** MNIST training digits the page mixes into fine-tuning. */
import { openModel } from "../saved/resolve.js";
import { LOCAL_HOSTS } from "../server/guard.js";
import { nonNegativeInt, port, positiveInt } from "./options.js";

const isLocal = (host: string) => (LOCAL_HOSTS as readonly string[]).includes(host);
const isEverywhere = (host: string) => host === "0.0.0.0" || host === "::";

export function serveCommand(): Command {
  return new Command("serve")
    .description("the web app: draw or upload a digit and see what the model sees and predicts")
    .option("--model <dir>", "model or run directory (default: the shipped model)")
    .option("--port <n>", "port (0: any free port)", port, 3000)
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option(
      "--samples <file|url>",
      "where digits people choose to keep are stored: an SQLite file (default: ~/.local/share/digits/samples.db), or postgres://user:password@host/db shared by many servers",
    )
    .option("--no-samples", "keep no samples (the page offers none)")
    .option(
      "--allow-host <name...>",
      "host names to answer besides localhost/127.0.0.1/[::1] (the names people reach this server by; * for any)",
    )
    .option(
      "--rate-limit <n>",
      "requests a minute one client may make (0: no limit)",
      nonNegativeInt("--rate-limit"),
      600,
    )
    .option(
      "--workers <n>",
      `server processes sharing the port, one per core by default (here ${defaultWorkers()}); 1: this process alone`,
      positiveInt("--workers"),
    )
    .option("--trust-proxy", "behind a proxy or load balancer: the client's address is X-Forwarded-For's")
    .option(
      "--log",
      "log every request as a JSON line on stderr (pino: request id, method, URL, status, time; never image data)",
    )
    .action(async (o) => {
      const workers: number = o.workers ?? defaultWorkers();
      const inCluster = workers > 1;
      const say = (m: string) => {
        if (!cluster.isWorker) process.stderr.write(`${m}\n`);
      };
      const model = openModel(o.model);
      const samplesAt =
        o.samples === false
          ? undefined
          : o.samples === true || o.samples === undefined
            ? defaultSamplesDb()
            : o.samples;
      if (inCluster && cluster.isPrimary) {
        // Checked (and created or migrated) once, before the workers open it together.
        const store = samplesAt ? await openSamples(samplesAt) : undefined;
        await store?.close();
        warnEverywhere(o.host, o.allowHost, say);
        const code = await runPrimary({
          workers,
          say,
          onListening: (a) =>
            say(
              `digits: serving ${model.dir} on ${describe(o.host, a)} with ${workers} workers${store ? `, kept samples in ${store.location}` : ""} (Ctrl-C to stop)`,
            ),
        });
        process.exit(code);
      }
      // A worker that cannot serve (a taken port, a model it cannot load) must exit so the primary sees a failed
      // start: its IPC channel to the primary would otherwise keep it alive, and the primary waiting for it.
      try {
        const samples = samplesAt ? await openSamples(samplesAt) : undefined;
        const replay = async () => {
          const { train } = await loadMnist({ limit: { train: REPLAY_DIGITS } });
          return { labels: train.labels, pixels: train.pixels };
        };
        // On all interfaces the server is reachable by other machines, under names only the person knows.
        const everywhere = isEverywhere(o.host);
        const allowedHosts = [
          ...LOCAL_HOSTS,
          ...(o.allowHost ?? []),
          ...(everywhere || isLocal(o.host) ? [] : [o.host]),
        ];
        if (!inCluster) warnEverywhere(o.host, o.allowHost, say);
        const app = await buildApp({
          model,
          webDir: WEB_DIST_DIR,
          samples,
          replay,
          allowedHosts,
          // Each worker counts its own clients' requests, and sees about 1/N of each client's.
          rateLimit: Math.ceil(o.rateLimit / workers),
          trustProxy: Boolean(o.trustProxy),
          logger: o.log ? { level: "info" } : false,
        });
        app.addHook("onClose", async () => samples?.close());
        await app.listen({ port: o.port, host: o.host });
        say(
          `digits: serving ${model.dir} on ${describe(o.host, app.server.address() as AddressInfo)}${samples ? `, kept samples in ${samples.location}` : ""} (Ctrl-C to stop)`,
        );
        // Graceful: stop taking connections, let requests in flight finish, close the samples store, exit.
        const close = () => {
          say("digits: stopping: finishing requests in flight");
          void app.close().then(() => process.exit(0));
        };
        process.once("SIGINT", close);
        process.once("SIGTERM", close);
      } catch (e) {
        cluster.worker?.disconnect();
        if ((e as NodeJS.ErrnoException).code === "EADDRINUSE")
          throw new Error(
            `port ${o.port} on ${o.host} is already in use (another server?); choose another with --port`,
            { cause: e },
          );
        throw e;
      }
    });
}

/** Where the server listens, as a person would open it. */
function describe(host: string, bound: { address: string; port: number; family?: string | number }): string {
  if (isEverywhere(host))
    return `every interface, port ${bound.port} (this machine: http://127.0.0.1:${bound.port})`;
  const v6 = bound.family === "IPv6" || bound.family === 6 || bound.address.includes(":");
  return `http://${v6 ? `[${bound.address}]` : bound.address}:${bound.port}`;
}

/** On all interfaces the server is reachable by other machines, under names only the person knows. */
function warnEverywhere(host: string, allowHost: string[] | undefined, say: (m: string) => void): void {
  if (isEverywhere(host) && !allowHost)
    say(
      `digits: warning: --host ${host} listens on every network interface, so other machines can reach this server; it answers only to ${LOCAL_HOSTS.join(", ")} unless you name its other host names with --allow-host (or * for any)`,
    );
}
