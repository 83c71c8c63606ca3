/** Opens the samples store a name means: a postgres:// URL, or an SQLite file. */
import type { SampleStore } from "./store.js";

export const isPostgresUrl = (where: string) => /^postgres(ql)?:\/\//.test(where);

/** Opens the samples store `where` names: a postgres:// URL, or an SQLite file (created if absent). */
export async function openSamples(where: string): Promise<SampleStore> {
  // Loaded on demand: a server keeping samples in SQLite never loads pg, and the other way round.
  if (isPostgresUrl(where)) {
    const { PostgresSampleStore } = await import("./postgres.js");
    return PostgresSampleStore.open(where);
  }
  const { SqliteSampleStore } = await import("./sqlite.js");
  return SqliteSampleStore.open(where);
}
