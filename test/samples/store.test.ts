/**
 * The samples store on real digits, both backends: kept, listed, exported (and read back as datasets),
 * deleted. SQLite's files are checked byte by byte for deleted pictures; PostgreSQL (a real server: `.ci/run`
 * installs and starts one) is checked for the same behaviour, its migrations, and two servers writing at once.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "libsql";
import fc from "fast-check";
import pg from "pg";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { loadDataset } from "../../src/data/dataset.js";
import { exportSamples } from "../../src/samples/export.js";
import { openSamples } from "../../src/samples/open.js";
import { SqliteSampleStore } from "../../src/samples/sqlite.js";
import { freshPostgres, POSTGRES } from "../helpers/postgres.js";
import { sha256 } from "../../src/util/hash.js";
import { mnistSlice } from "../helpers/mnist.js";
import { flippedBytes } from "../helpers/fuzz.js";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "digits-samples-"));

/** n real MNIST test digits as the page would send them: a PNG of dark ink on white, and the 28×28 input. */
async function digits(n: number) {
  const { x, labels, pixels } = await mnistSlice("t10k", 0, n);
  return Promise.all(
    [...Array(n).keys()].map(async (i) => ({
      image: new Uint8Array(
        await sharp(Buffer.from(pixels.subarray(i * 784, (i + 1) * 784).map((p) => 255 - p)), {
          raw: { width: 28, height: 28, channels: 1 },
        })
          .resize(140, 140)
          .png()
          .toBuffer(),
      ),
      imageType: "image/png",
      input: x.subarray(i * 784, (i + 1) * 784),
      label: labels[i],
      predicted: labels[i],
      confidence: 0.9,
      client: i % 2 ? "browser-b" : "browser-a",
    })),
  );
}

const BACKENDS = {
  sqlite: async () => path.join(tmp(), "samples.db"),
  postgres: freshPostgres,
};

describe.each(Object.keys(BACKENDS))("the samples store (%s)", (backend) => {
  it.skipIf(backend === "postgres" && !POSTGRES)(
    "keeps what it is given, lists by browser, and exports an IDX pair, a picture folder and a CSV that load back",
    async () => {
      const where = await BACKENDS[backend as keyof typeof BACKENDS]();
      const store = await openSamples(where);
      const given = await digits(10);
      for (const s of given) await store.add(s);
      expect(await store.count()).toBe(10);
      const mine = await store.list({ client: "browser-a" });
      expect(mine.map((s) => s.id)).toEqual([1, 3, 5, 7, 9]);
      expect(mine[0]).toMatchObject({ label: 7, predicted: 7, imageType: "image/png", client: "browser-a" });
      expect(mine[0].imageBytes).toBe(given[0].image.length);
      expect(mine[0].createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      await expect(store.add({ ...given[0], label: 10 })).rejects.toThrow(/label is a digit 0–9/);
      await expect(store.add({ ...given[0], input: new Float32Array(10) })).rejects.toThrow(/input is 28×28/);
      await store.close();

      // Reopened: nothing lost (and a second open applies no migration twice).
      const again = await openSamples(where);
      expect(await again.count()).toBe(10);
      const read = await again.read();
      expect(read[3].pixels).toEqual(Uint8Array.from(given[3].input, (v) => Math.round(v * 255)));
      expect(read[3].image).toEqual(given[3].image);
      const out = path.join(tmp(), "export");
      const files = await exportSamples(again, out);
      expect(files.count).toBe(10);
      const idx = await loadDataset(`idx:${files.images},${files.labels}`);
      expect([...idx.train.labels, ...idx.test.labels].sort()).toEqual(given.map((g) => g.label).sort());
      const folder = await loadDataset(`folder:${files.pictures}`);
      expect(folder.train.count + folder.test.count).toBe(10);
      const csv = fs.readFileSync(files.csv, "utf8").trim().split("\n");
      expect(csv[0]).toBe("id,created_at,client,label,predicted,confidence,image_type,picture");
      expect(csv[1]).toMatch(/^1,\d{4}-\d\d-\d\dT[^,]+,browser-a,7,7,0.9,image\/png,pictures\/7\/1\.png$/);
      await expect(exportSamples(again, out)).rejects.toThrow(/already exists and is not empty/);
      expect(await again.delete({ client: "browser-b" })).toBe(5);
      expect(await again.delete({ ids: [1, 2, 3] })).toBe(2);
      expect((await again.list()).map((s) => s.id)).toEqual([5, 7, 9]);
      expect(await again.delete()).toBe(3);
      expect(await again.count()).toBe(0);
      await again.close();
    },
  );
});

describe("the SQLite samples store", () => {
  it("deletes for real: the rows, and every copy of the pictures in the database files", async () => {
    const dir = tmp();
    const file = path.join(dir, "samples.db");
    const store = SqliteSampleStore.open(file);
    const given = await digits(6);
    for (const s of given) await store.add(s);
    const onDisk = () =>
      Buffer.concat(
        fs
          .readdirSync(dir)
          .filter((f) => f.startsWith("samples.db"))
          .map((f) => fs.readFileSync(path.join(dir, f))),
      );
    const marker = Buffer.from(given[1].image.subarray(60, 124)); // compressed bytes: found nowhere else
    expect(onDisk().includes(marker)).toBe(true);
    expect(await store.delete({ client: "browser-b" })).toBe(3);
    expect((await store.list()).map((s) => s.client)).toEqual(["browser-a", "browser-a", "browser-a"]);
    expect(onDisk().includes(marker)).toBe(false);
    expect(onDisk().includes(Buffer.from(given[0].image.subarray(60, 124)))).toBe(true); // the others stay
    expect(await store.delete({ ids: [1] })).toBe(1);
    expect(await store.delete()).toBe(2);
    expect(await store.count()).toBe(0);
    await store.close();
  });

  it("refuses a foreign SQLite file, a file that is not SQLite, and a damaged one, touching nothing", async () => {
    const dir = tmp();
    const foreign = path.join(dir, "other.db");
    const db = new Database(foreign);
    db.exec("CREATE TABLE notes (body TEXT)");
    db.close();
    const before = sha256(fs.readFileSync(foreign));
    expect(() => SqliteSampleStore.open(foreign)).toThrow(
      /other\.db: not a digits samples database \(another SQLite database\)/,
    );
    expect(sha256(fs.readFileSync(foreign))).toBe(before);
    const text = path.join(dir, "notes.txt");
    fs.writeFileSync(text, "these are my notes, not a database ".repeat(100));
    expect(() => SqliteSampleStore.open(text)).toThrow(/notes\.txt: not a readable SQLite database/);
    expect(fs.readFileSync(text, "utf8")).toMatch(/^these are my notes/);
    // A damaged samples database (pages overwritten, or cut short) is refused whole, and left as it was.
    const good = path.join(dir, "damaged.db");
    const kept = SqliteSampleStore.open(good);
    for (const s of await digits(6)) await kept.add(s);
    await kept.close(); // folds the log into the file: the .db alone holds everything
    expect(fs.existsSync(`${good}-wal`) ? fs.statSync(`${good}-wal`).size : 0).toBe(0);
    const bytes = fs.readFileSync(good);
    const damaged = Buffer.from(bytes);
    damaged.fill(0x55, 4096 * 2, 4096 * 4);
    fs.writeFileSync(good, damaged);
    expect(() => SqliteSampleStore.open(good)).toThrow(/damaged\.db: the samples database is damaged/);
    fs.writeFileSync(good, bytes.subarray(0, 3 * 4096));
    expect(() => SqliteSampleStore.open(good)).toThrow(
      /damaged\.db: (not a readable SQLite database|the samples database is damaged)/,
    );
    expect(fs.statSync(good).size).toBe(3 * 4096);
  });
});

describe.skipIf(!POSTGRES)("the PostgreSQL samples store", () => {
  it("applies its migrations once, refuses a schema newer than it knows, and says when it cannot connect", async () => {
    const where = await freshPostgres();
    await (await openSamples(where)).close();
    await (await openSamples(where)).close();
    const client = new pg.Client({ connectionString: where });
    await client.connect();
    const { rows } = await client.query("SELECT version FROM digits_migrations ORDER BY version");
    expect(rows.map((r) => r.version)).toEqual([1]);
    await client.query("INSERT INTO digits_migrations (version) VALUES (99)");
    await client.end();
    await expect(openSamples(where)).rejects.toThrow(/samples schema version 99; this digits knows up to 1/);
    const nowhere = "postgres://digits:secret@127.0.0.1:1/digits_test";
    await expect(openSamples(nowhere)).rejects.toThrow(
      /postgres:\/\/digits:\*\*\*@127\.0\.0\.1:1\/digits_test: cannot connect/,
    );
  });
});

describe("the SQLite samples store under attack", () => {
  it("a file of random bytes, or a samples database with bytes flipped: opens and reads, or a SamplesError leaving it as it was", async () => {
    const dir = tmp();
    const good = path.join(dir, "good.db");
    const store = SqliteSampleStore.open(good);
    for (const s of await digits(4)) await store.add(s);
    await store.close();
    const original = fs.readFileSync(good);
    let n = 0;
    const seen = { opened: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 8192 }).map((b) => Buffer.from(b)),
          flippedBytes(original, 8),
        ),
        async (bytes) => {
          const file = path.join(dir, `${n++}.db`);
          fs.writeFileSync(file, bytes);
          try {
            const s = SqliteSampleStore.open(file);
            try {
              await s.read(); // what opens must read, or fail as a SamplesError
              seen.opened++;
            } catch (e) {
              expect((e as Error).name, String(e)).toBe("SamplesError"); // damage found only when read
              seen.refused++;
            } finally {
              await s.close().catch(() => {});
            }
          } catch (e) {
            expect((e as Error).name, String(e)).toBe("SamplesError");
            expect(fs.readFileSync(file).equals(bytes)).toBe(true); // refused untouched
            seen.refused++;
          }
        },
      ),
      { numRuns: 100 },
    );
    console.log(`samples fuzz: ${seen.opened} opened and read, ${seen.refused} refused`);
    expect(seen.refused).toBeGreaterThan(0);
  });
});
