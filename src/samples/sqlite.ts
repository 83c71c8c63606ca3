/**
 * The samples store in one SQLite file (libsql — better-sqlite3's API, with prebuilt binaries): the embedded
 * default, for one machine.
 *
 * Deleting really deletes: `secure_delete` overwrites freed pages with zeros and the write-ahead log is
 * checkpointed and truncated after every delete, so no copy of a deleted picture is left in the files.
 * A file that is not ours (another application's SQLite database, or not SQLite at all) is refused, untouched.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "libsql";
import {
  SIZE,
  checkedPixels,
  SamplesError,
  type ListFilter,
  type NewSample,
  type Sample,
  type SampleInfo,
  type SampleStore,
  withBytes,
} from "./store.js";

/** SQLite's application_id for a digits samples database: "DGTS". */
const APPLICATION_ID = 0x44475453;

const TABLE = `CREATE TABLE samples (
  id INTEGER PRIMARY KEY,
  created_at TEXT NOT NULL,
  client TEXT NOT NULL,
  label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
  predicted INTEGER NOT NULL,
  confidence REAL NOT NULL,
  image_type TEXT NOT NULL,
  image BLOB NOT NULL,
  pixels BLOB NOT NULL CHECK (length(pixels) = ${SIZE * SIZE})
)`;
const INDEX = "CREATE INDEX samples_client ON samples (client)";
const squeezed = (sql: string) => sql.replace(/\s+/g, " ").trim();

/** The schema a file holds, as SQLite keeps it (read as bytes: see COLUMNS). */
function schemaOf(db: Database.Database): string[] {
  const rows = db
    .prepare("SELECT CAST(sql AS BLOB) AS sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
    .all() as { sql: ArrayBuffer }[];
  return rows.map((r) => squeezed(new TextDecoder().decode(r.sql)));
}
const SCHEMA_VERSION = 1;

/** A numeric pragma's value (libsql's `simple` option returns the row, not the value). */
function pragmaNumber(db: Database.Database, name: string): number {
  const [row] = db.pragma(name) as Record<string, unknown>[];
  return Number(row?.[name] ?? 0);
}

// Text columns are read as bytes and decoded here: libsql aborts the whole process on a TEXT value that is not
// valid UTF-8 (a damaged file), where a decoder replaces the bad bytes (found by the fuzz test).
const COLUMNS =
  "id, CAST(created_at AS BLOB) AS createdAt, CAST(client AS BLOB) AS client, label, predicted, confidence, CAST(image_type AS BLOB) AS imageType, length(image) AS imageBytes";

type Row = Omit<SampleInfo, "createdAt" | "client" | "imageType"> & {
  createdAt: ArrayBuffer;
  client: ArrayBuffer;
  imageType: ArrayBuffer;
};
const text = new TextDecoder();
const info = (r: Row): SampleInfo => ({
  ...r,
  createdAt: text.decode(r.createdAt),
  client: text.decode(r.client),
  imageType: text.decode(r.imageType),
});

function where(filter: ListFilter): { sql: string; args: (string | number)[] } {
  const parts: string[] = [];
  const args: (string | number)[] = [];
  if (filter.client !== undefined) {
    parts.push("client = ?");
    args.push(filter.client);
  }
  if (filter.ids) {
    parts.push(`id IN (${filter.ids.map(() => "?").join(", ") || "NULL"})`);
    args.push(...filter.ids);
  }
  return { sql: parts.length ? ` WHERE ${parts.join(" AND ")}` : "", args };
}

export class SqliteSampleStore implements SampleStore {
  private constructor(
    private readonly db: Database.Database,
    readonly location: string,
  ) {}

  /** SQLite's own failures (damage quick_check missed, a lock held too long) as SamplesErrors naming the file. */
  private sql<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof SamplesError) throw e;
      throw new SamplesError(`${this.location}: the samples database failed (${(e as Error).message})`, {
        cause: e,
      });
    }
  }

  /** Opens (or creates) a samples database; refuses a file that is not one. */
  static open(file: string): SqliteSampleStore {
    const existed = fs.existsSync(file) && fs.statSync(file).size > 0;
    if (!existed) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(file);
      const id = pragmaNumber(db, "application_id");
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master").get() as { n: number };
      if (existed && (id !== APPLICATION_ID || tables.n === 0)) {
        db.close();
        throw new SamplesError(
          `${file}: not a digits samples database (${id === 0 ? "another SQLite database" : `application id ${id}`}); give another --samples file`,
        );
      }
      if (existed) {
        // A damaged file is refused whole, before anything is read from or written to it.
        const [check] = db.prepare("SELECT CAST(quick_check AS BLOB) AS r FROM pragma_quick_check").all() as {
          r: ArrayBuffer;
        }[];
        const verdict = check ? new TextDecoder().decode(check.r) : "no answer";
        const schema = schemaOf(db);
        const expected = [squeezed(TABLE), squeezed(INDEX)];
        if (verdict !== "ok" || schema.join(";") !== expected.join(";")) {
          db.close();
          const why = verdict !== "ok" ? verdict : "its tables are not the ones digits made";
          throw new SamplesError(`${file}: the samples database is damaged (${why}); restore a copy`);
        }
      }
    } catch (e) {
      if (e instanceof SamplesError) throw e;
      throw new SamplesError(`${file}: not a readable SQLite database (${(e as Error).message})`, {
        cause: e,
      });
    }
    db.pragma("journal_mode = WAL");
    db.pragma("busy_timeout = 5000"); // server workers writing at once wait their turn
    db.pragma("synchronous = FULL"); // a kept sample survives a power cut
    db.pragma("secure_delete = ON");
    if (!existed) {
      db.exec(`${TABLE}; ${INDEX};`);
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }
    const version = pragmaNumber(db, "user_version");
    if (version !== SCHEMA_VERSION) {
      db.close();
      throw new SamplesError(
        `${file}: samples database version ${version}; this digits reads version ${SCHEMA_VERSION}`,
      );
    }
    return new SqliteSampleStore(db, file);
  }

  async add(s: NewSample): Promise<SampleInfo> {
    const pixels = checkedPixels(s);
    const { lastInsertRowid } = this.sql(() =>
      this.db
        .prepare(
          "INSERT INTO samples (created_at, client, label, predicted, confidence, image_type, image, pixels) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .run(
          new Date().toISOString(),
          s.client,
          s.label,
          s.predicted,
          s.confidence,
          s.imageType,
          Buffer.from(s.image),
          pixels,
        ),
    );
    return (await this.list({ ids: [Number(lastInsertRowid)] }))[0];
  }

  async list(filter: ListFilter = {}): Promise<SampleInfo[]> {
    const w = where(filter);
    const rows = this.sql(
      () => this.db.prepare(`SELECT ${COLUMNS} FROM samples${w.sql} ORDER BY id`).all(...w.args) as Row[],
    );
    return rows.map(info);
  }

  async read(filter: ListFilter = {}): Promise<Sample[]> {
    const w = where(filter);
    const rows = this.sql(
      () =>
        this.db
          .prepare(`SELECT ${COLUMNS}, image, pixels FROM samples${w.sql} ORDER BY id`)
          .all(...w.args) as (Row & { image: ArrayBuffer; pixels: ArrayBuffer })[],
    );
    return rows.map((r) => withBytes(info(r), r.image, r.pixels));
  }

  async delete(filter: ListFilter = {}): Promise<number> {
    const w = where(filter);
    return this.sql(() => {
      const { changes } = this.db.prepare(`DELETE FROM samples${w.sql}`).run(...w.args);
      this.db.pragma("wal_checkpoint(TRUNCATE)"); // the log held the pictures too
      return changes;
    });
  }

  async count(): Promise<number> {
    return this.sql(() => (this.db.prepare("SELECT count(*) AS n FROM samples").get() as { n: number }).n);
  }

  /** Closes, first folding the write-ahead log into the file: a copied samples.db then holds everything. */
  async close(): Promise<void> {
    try {
      this.sql(() => this.db.pragma("wal_checkpoint(TRUNCATE)"));
    } finally {
      this.db.close();
    }
  }
}
