/**
 * The PostgreSQL the tests use: `DIGITS_TEST_POSTGRES` (a URL; `.ci/run` installs, starts and names one).
 * Without it the PostgreSQL tests are skipped — except under CI, where its absence is a failure.
 */
import pg from "pg";

export const POSTGRES = process.env.DIGITS_TEST_POSTGRES;
if (!POSTGRES && process.env.CI)
  throw new Error("CI runs the PostgreSQL tests: set DIGITS_TEST_POSTGRES (.ci/run does)");

/** A URL to an empty schema of its own, so tests never see each other's tables. */
export async function freshPostgres(): Promise<string> {
  if (!POSTGRES) throw new Error("no DIGITS_TEST_POSTGRES");
  const schema = `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const client = new pg.Client({ connectionString: POSTGRES });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  const url = new URL(POSTGRES);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return url.toString();
}
