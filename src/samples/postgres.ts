/**
 * The samples store in PostgreSQL (the `pg` client and its connection pool), for several server processes
 * or machines sharing one store (`digits serve --samples postgres://…`).
 *
 * The schema is versioned by numbered migrations, applied in order inside one transaction under an advisory
 * lock, so servers starting together never race (one applies, the others wait and find it done). A database
 * whose schema is newer than this digits knows is refused, untouched.
 *
 * Deleting: rows are deleted and the table vacuumed, so the space of deleted pictures is marked for reuse
 * at once. PostgreSQL keeps no copy in its tables after that, but its write-ahead log and old data pages may
 * still hold the bytes until they are recycled (the README says so; SQLite's store zeroes them).
 */
import pg from "pg";
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

/** Each migration takes the schema from version i to i + 1; never edit one that has shipped: add the next. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE digits_samples (
     id BIGSERIAL PRIMARY KEY,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     client TEXT NOT NULL,
     label SMALLINT NOT NULL CHECK (label BETWEEN 0 AND 9),
     predicted SMALLINT NOT NULL,
     confidence DOUBLE PRECISION NOT NULL,
     image_type TEXT NOT NULL,
     image BYTEA NOT NULL,
     pixels BYTEA NOT NULL CHECK (length(pixels) = ${SIZE * SIZE})
   );
   CREATE INDEX digits_samples_client ON digits_samples (client);`,
];

/** The advisory lock key migrations run under ("DGTS"). */
const MIGRATION_LOCK = 0x44475453;

const COLUMNS = `id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
  client, label, predicted, confidence, image_type AS "imageType", octet_length(image) AS "imageBytes"`;

/** A URL with its password hidden, for messages and logs. */
function shown(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://…";
  }
}

function where(filter: ListFilter): { sql: string; args: (string | number[])[] } {
  const parts: string[] = [];
  const args: (string | number[])[] = [];
  if (filter.client !== undefined) {
    args.push(filter.client);
    parts.push(`client = $${args.length}`);
  }
  if (filter.ids) {
    args.push([...filter.ids]);
    parts.push(`id = ANY($${args.length}::bigint[])`);
  }
  return { sql: parts.length ? ` WHERE ${parts.join(" AND ")}` : "", args };
}

type Row = Omit<SampleInfo, "id" | "imageBytes"> & { id: string; imageBytes: number | string };
const info = (r: Row): SampleInfo => ({ ...r, id: Number(r.id), imageBytes: Number(r.imageBytes) });

export class PostgresSampleStore implements SampleStore {
  private constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
  ) {}

  /** Connects, applies any migrations this database lacks, and refuses one newer than this digits. */
  static async open(url: string, options: { max?: number } = {}): Promise<PostgresSampleStore> {
    const location = shown(url);
    const pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 4,
      connectionTimeoutMillis: 10_000,
    });
    // An idle connection the server drops (a restart) must not crash the process: the pool replaces it.
    pool.on("error", () => {});
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      await pool.end();
      throw new SamplesError(`${location}: cannot connect (${(e as Error).message})`, { cause: e });
    }
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
      await client.query(
        "CREATE TABLE IF NOT EXISTS digits_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
      );
      const { rows } = await client.query<{ v: number | null }>(
        "SELECT max(version) AS v FROM digits_migrations",
      );
      const version = rows[0].v ?? 0;
      if (version > MIGRATIONS.length)
        throw new SamplesError(
          `${location}: samples schema version ${version}; this digits knows up to ${MIGRATIONS.length}`,
        );
      for (let v = version; v < MIGRATIONS.length; v++) {
        await client.query(MIGRATIONS[v]);
        await client.query("INSERT INTO digits_migrations (version) VALUES ($1)", [v + 1]);
      }
      await client.query("COMMIT");
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      client.release();
      await pool.end();
      if (e instanceof SamplesError) throw e;
      throw new SamplesError(`${location}: could not prepare the samples tables (${(e as Error).message})`, {
        cause: e,
      });
    }
    client.release();
    return new PostgresSampleStore(pool, location);
  }

  async add(s: NewSample): Promise<SampleInfo> {
    const pixels = checkedPixels(s);
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO digits_samples (client, label, predicted, confidence, image_type, image, pixels)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
      [s.client, s.label, s.predicted, s.confidence, s.imageType, Buffer.from(s.image), pixels],
    );
    return info(rows[0]);
  }

  async list(filter: ListFilter = {}): Promise<SampleInfo[]> {
    const w = where(filter);
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM digits_samples${w.sql} ORDER BY id`,
      w.args,
    );
    return rows.map(info);
  }

  async read(filter: ListFilter = {}): Promise<Sample[]> {
    const w = where(filter);
    const { rows } = await this.pool.query<Row & { image: Buffer; pixels: Buffer }>(
      `SELECT ${COLUMNS}, image, pixels FROM digits_samples${w.sql} ORDER BY id`,
      w.args,
    );
    return rows.map((r) => withBytes(info(r), r.image, r.pixels));
  }

  async delete(filter: ListFilter = {}): Promise<number> {
    const w = where(filter);
    const { rowCount } = await this.pool.query(`DELETE FROM digits_samples${w.sql}`, w.args);
    if (rowCount) await this.pool.query("VACUUM digits_samples");
    return rowCount ?? 0;
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>("SELECT count(*) AS n FROM digits_samples");
    return Number(rows[0].n);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
