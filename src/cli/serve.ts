import { Command } from "commander";
import { buildApp } from "../server/app.js";
import { defaultSamplesDb, WEB_DIST_DIR } from "../paths.js";
import { SampleStore } from "../samples/store.js";
import { loadMnist } from "../data/mnist.js";

/** MNIST training digits the page mixes into fine-tuning. */
const REPLAY_DIGITS = 1000;
import { openModel } from "../zoo/resolve.js";
import { port } from "./options.js";

export function serveCommand(): Command {
  return new Command("serve")
    .description("the web app: draw or upload a digit and see what the model sees and predicts")
    .option("--model <dir>", "model or run directory (default: the shipped model)")
    .option("--port <n>", "port (0: any free port)", port, 3000)
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option(
      "--samples <file>",
      "where digits people choose to keep are stored (SQLite; default: ~/.local/share/digits/samples.db)",
    )
    .option("--no-samples", "keep no samples (the page offers none)")
    .action(async (o) => {
      const model = openModel(o.model);
      const samples =
        o.samples === false
          ? undefined
          : SampleStore.open(o.samples === true || o.samples === undefined ? defaultSamplesDb() : o.samples);
      const replay = async () => {
        const { train } = await loadMnist({ limit: { train: REPLAY_DIGITS } });
        return { labels: train.labels, pixels: train.pixels };
      };
      const app = await buildApp({ model, webDir: WEB_DIST_DIR, samples, replay });
      app.addHook("onClose", async () => samples?.close());
      const address = await app.listen({ port: o.port, host: o.host });
      process.stderr.write(
        `digits: serving ${model.dir} at ${address}${samples ? `, kept samples in ${samples.file}` : ""} (Ctrl-C to stop)\n`,
      );
      const close = () => void app.close().then(() => process.exit(0));
      process.once("SIGINT", close);
      process.once("SIGTERM", close);
    });
}
