import type { AddressInfo } from "node:net";
import { Command } from "commander";
import { buildApp } from "../server/app.js";
import { defaultSamplesDb, WEB_DIST_DIR } from "../paths.js";
import { openSamples } from "../samples/store.js";
import { loadMnist } from "../data/mnist.js";

/** MNIST training digits the page mixes into fine-tuning. */
const REPLAY_DIGITS = 1000;
import { openModel } from "../zoo/resolve.js";
import { LOCAL_HOSTS } from "../server/guard.js";
import { nonNegativeInt, port } from "./options.js";

const isLocal = (host: string) => (LOCAL_HOSTS as readonly string[]).includes(host);

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
    .option("--trust-proxy", "behind a proxy or load balancer: the client's address is X-Forwarded-For's")
    .option(
      "--log",
      "log every request as a JSON line on stderr (pino: request id, method, URL, status, time; never image data)",
    )
    .action(async (o) => {
      const model = openModel(o.model);
      const samples =
        o.samples === false
          ? undefined
          : await openSamples(o.samples === true || o.samples === undefined ? defaultSamplesDb() : o.samples);
      const replay = async () => {
        const { train } = await loadMnist({ limit: { train: REPLAY_DIGITS } });
        return { labels: train.labels, pixels: train.pixels };
      };
      // On all interfaces the server is reachable by other machines, under names only the person knows.
      const everywhere = o.host === "0.0.0.0" || o.host === "::";
      const allowedHosts = [
        ...LOCAL_HOSTS,
        ...(o.allowHost ?? []),
        ...(everywhere || isLocal(o.host) ? [] : [o.host]),
      ];
      if (everywhere && !o.allowHost)
        process.stderr.write(
          `digits: warning: --host ${o.host} listens on every network interface, so other machines can reach this server; it answers only to ${LOCAL_HOSTS.join(", ")} unless you name its other host names with --allow-host (or * for any)\n`,
        );
      const app = await buildApp({
        model,
        webDir: WEB_DIST_DIR,
        samples,
        replay,
        allowedHosts,
        rateLimit: o.rateLimit,
        trustProxy: Boolean(o.trustProxy),
        logger: o.log ? { level: "info" } : false,
      });
      app.addHook("onClose", async () => samples?.close());
      await app.listen({ port: o.port, host: o.host });
      const bound = app.server.address() as AddressInfo;
      const where = everywhere
        ? `every interface, port ${bound.port} (this machine: http://127.0.0.1:${bound.port})`
        : `http://${bound.family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port}`;
      process.stderr.write(
        `digits: serving ${model.dir} on ${where}${samples ? `, kept samples in ${samples.location}` : ""} (Ctrl-C to stop)\n`,
      );
      // Graceful: stop taking connections, let requests in flight finish, close the samples store, exit.
      const close = () => {
        process.stderr.write("digits: stopping: finishing requests in flight\n");
        void app.close().then(() => process.exit(0));
      };
      process.once("SIGINT", close);
      process.once("SIGTERM", close);
    });
}
