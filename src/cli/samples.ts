import { Command, Option } from "commander";
import { defaultSamplesDb } from "../paths.js";
import { exportSamples } from "../samples/export.js";
import { openSamples } from "../samples/open.js";
import type { ListFilter, SampleStore } from "../samples/store.js";
import { printJson } from "../util/json.js";
import { renderTable } from "../util/table.js";
import { positiveInt } from "./options.js";

const dbOption = () =>
  new Option(
    "--db <file|url>",
    "the samples `digits serve` keeps: an SQLite file (default: ~/.local/share/digits/samples.db) or a postgres:// URL",
  );

/** Opens the store for one command and always closes it. */
async function withStore<T>(where: string | undefined, use: (store: SampleStore) => Promise<T>): Promise<T> {
  const store = await openSamples(where ?? defaultSamplesDb());
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

function filterOf(o: { id?: number[]; client?: string }): ListFilter {
  return { ...(o.id ? { ids: o.id } : {}), ...(o.client !== undefined ? { client: o.client } : {}) };
}

const collect = (v: string, all: number[] = []) => [...all, positiveInt("--id")(v)];

export function samplesCommand(): Command {
  const samples = new Command("samples").description(
    "the digits people chose to keep in the web app: list, export (IDX + pictures + CSV), delete",
  );
  samples
    .command("list")
    .description("one line per sample: id, time, browser, label, the model's answer and confidence")
    .addOption(dbOption())
    .option("--client <id>", "only this browser's samples")
    .option("--json", "print JSON on stdout")
    .action((o) =>
      withStore(o.db, async (store) => {
        const rows = await store.list(filterOf(o));
        if (o.json) return printJson({ db: store.location, samples: rows });
        process.stdout.write(
          `${renderTable(
            ["id", "time", "browser", "label", "answer", "confidence", "picture"],
            rows.map((s) => [
              String(s.id),
              s.createdAt,
              s.client,
              String(s.label),
              String(s.predicted),
              s.confidence.toFixed(3),
              `${s.imageType}, ${s.imageBytes} bytes`,
            ]),
            { right: [0, 3, 4, 5] },
          )}\n${rows.length} sample(s), ${rows.filter((s) => s.label !== s.predicted).length} the model got wrong\n`,
        );
      }),
    );
  samples
    .command("export")
    .description(
      "write images-idx3-ubyte + labels-idx1-ubyte, pictures/<label>/, samples.csv into a new folder",
    )
    .addOption(dbOption())
    .requiredOption("--out <dir>", "a new (or empty) folder")
    .option("--client <id>", "only this browser's samples")
    .option("--id <n>", "only this sample (repeat for more)", collect)
    .option("--json", "print JSON on stdout")
    .action((o) =>
      withStore(o.db, async (store) => {
        const files = await exportSamples(store, o.out, filterOf(o));
        if (o.json) return printJson(files);
        process.stdout.write(
          `exported ${files.count} sample(s) to ${o.out}\n` +
            `train on them: --dataset idx:${files.images},${files.labels} (or folder:${files.pictures})\n`,
        );
      }),
    );
  samples
    .command("delete")
    .description("delete samples for good (rows and every copy of their pictures in the database files)")
    .addOption(dbOption())
    .option("--id <n>", "this sample (repeat for more)", collect)
    .option("--client <id>", "every sample of this browser")
    .option("--all", "every sample")
    .option("--json", "print JSON on stdout")
    .action((o) =>
      withStore(o.db, async (store) => {
        if (!o.id && o.client === undefined && !o.all)
          throw new Error("say which samples: --id N, --client ID or --all");
        const deleted = await store.delete(filterOf(o));
        const left = await store.count();
        if (o.json) return printJson({ deleted, left });
        process.stdout.write(`deleted ${deleted} sample(s); ${left} left\n`);
      }),
    );
  return samples;
}
