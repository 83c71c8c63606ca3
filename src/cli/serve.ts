import { Command } from "commander";
import { buildApp } from "../server/app.js";
import { WEB_DIST_DIR } from "../paths.js";
import { openModel } from "../zoo/resolve.js";
import { port } from "./options.js";

export function serveCommand(): Command {
  return new Command("serve")
    .description("the web app: draw or upload a digit and see what the model sees and predicts")
    .option("--model <dir>", "model or run directory (default: the shipped model)")
    .option("--port <n>", "port (0: any free port)", port, 3000)
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .action(async (o) => {
      const model = openModel(o.model);
      const app = await buildApp({ model, webDir: WEB_DIST_DIR });
      const address = await app.listen({ port: o.port, host: o.host });
      process.stderr.write(`digits: serving ${model.dir} at ${address} (Ctrl-C to stop)\n`);
      const close = () => void app.close().then(() => process.exit(0));
      process.once("SIGINT", close);
      process.once("SIGTERM", close);
    });
}
