/** Entry point for running the CLI from sources (`node --import tsx src/cli/bin.ts …`), as the tests do. */
import { main } from "./main.js";

await main(process.argv);
